"""``specflow diff <id> [--repo R] [--stat]``: the change's work against its base, in every repo.

On a terminal the patch is coloured and paged as git does it (``GIT_PAGER``, ``PAGER``, ``less``;
``--no-pager`` to write it straight out); piped, it is plain text.
"""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext
from specflow.cli.pager import colour_diff, show_long


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    p.add_argument("--repo", metavar="R", help="only this repo")
    p.add_argument("--stat", action="store_true", help="a summary of changed files instead of the patch")
    p.add_argument("--json", action="store_true", help="per repo: branch, base, changed files and the patch")
    p.add_argument("--no-pager", action="store_true", help="do not page the output on a terminal")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.open_hub().change(ctx.change_id(args.id, args.command))
    if args.json:
        ctx.json(change.diff_data(args.repo, stat=args.stat))
        return 0
    text = change.diff(args.repo, stat=args.stat)
    text = text if text.endswith("\n") or not text else text + "\n"
    show_long(ctx, colour_diff(text) if ctx.fancy else text, paged=not args.no_pager)
    return 0
