"""``specflow clean <id>``: remove the worktrees of an archived change (the branches are kept)."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--force", action="store_true", help="remove worktrees even with uncommitted work")
    p.add_argument("--json", action="store_true", help="each worktree, whether it was removed, and the branch kept")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    result = ctx.open_hub().change(args.id).clean(force=args.force)
    if args.json:
        ctx.json(result.to_dict())
        return 0
    if not result.removed:
        ctx.out(f"change '{result.change_id}' has no worktree left")
        return 0
    for path in result.removed:
        ctx.out(f"removed {path}")
    ctx.out(f"branch {result.branch} kept")
    return 0
