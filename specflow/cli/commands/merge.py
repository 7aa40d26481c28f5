"""``specflow merge <id>``: merge each change branch into its base with a merge commit."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    results = ctx.open_hub().change(ctx.change_id(args.id, args.command)).merge()
    if args.json:
        ctx.json([r.to_dict() for r in results])
        return 0
    for r in results:
        if r.status == "merged":
            ctx.out(f"{r.repo}: merged {r.branch} into {r.base} ({r.files} file(s)) as {(r.commit or '')[:10]}")
        else:
            ctx.out(f"{r.repo}: {r.status} ({r.branch} -> {r.base})")
    return 0
