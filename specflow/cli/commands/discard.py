"""``specflow discard <id> [--reason TEXT] [--delete-branches]``, and ``discard --restore <id>``."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--reason", metavar="TEXT", help="why it is given up (kept in its history)")
    p.add_argument(
        "--delete-branches", action="store_true", help="delete its branches too (it can then not be restored)"
    )
    p.add_argument("--restore", action="store_true", help="bring a discarded change back among the open changes")
    p.add_argument("--json", action="store_true", help="what was stopped, removed, kept and where the folder went")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    hub = ctx.open_hub()
    if args.restore:
        if args.delete_branches or args.reason is not None:
            ctx.fail(
                "--restore takes no --reason or --delete-branches",
                f"restore with 'specflow discard --restore {args.id}' alone",
                2,
            )
            return 2
        path = hub.discarded(args.id).reopen()
        if args.json:
            ctx.json({"change": args.id, "restored_to": str(path)})
        else:
            ctx.out(f"restored '{args.id}' to {path.relative_to(hub.root)}")
            ctx.out(f"next: specflow status {args.id}")
        return 0
    result = hub.change(args.id).discard(reason=args.reason, delete_branches=args.delete_branches)
    if args.json:
        ctx.json(result.to_dict())
        return 0
    if result.stopped is not None:
        ctx.out(f"stopped the running attempt ({result.stopped.describe()})")
    if result.checkpoint is not None:
        ctx.out(f"saved the worktrees as checkpoint #{result.checkpoint}")
    for path in result.worktrees_removed:
        ctx.out(f"removed {path}")
    for branch in result.branches_deleted:
        ctx.out(f"deleted branch {branch}")
    for branch in result.branches_kept:
        ctx.out(f"kept branch {branch}")
    ctx.out(f"discarded '{result.change_id}': moved to {result.moved_to.relative_to(hub.root)}")
    if not result.branches_deleted:
        ctx.out(f"undo with: specflow discard --restore {result.change_id}")
    return 0
