"""``specflow diff <id> [--repo R] [--stat]``: the change's work against its base, in every repo."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--repo", metavar="R", help="only this repo")
    p.add_argument("--stat", action="store_true", help="a summary of changed files instead of the patch")
    p.add_argument("--json", action="store_true", help="per repo: branch, base, changed files and the patch")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.open_hub().change(args.id)
    if args.json:
        ctx.json(change.diff_data(args.repo, stat=args.stat))
        return 0
    text = change.diff(args.repo, stat=args.stat)
    ctx.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    ctx.stdout.flush()
    return 0
