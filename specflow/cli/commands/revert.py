"""``specflow revert <id> [--to N] [--yes]``: restore every workspace of a change to a checkpoint."""

from __future__ import annotations

import argparse
import sys

from specflow.cli.context import CliContext
from specflow.engine.results import CheckpointInfo
from specflow.errors import WorkspaceError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    p.add_argument("--to", type=int, metavar="N", help="the checkpoint number (default: the latest)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    change = ctx.open_hub().change(ctx.change_id(args.id, args.command))
    if not args.yes:
        info = change.checkpoint(args.to)
        if not (ctx.is_tty and sys.stdin.isatty()):
            raise WorkspaceError(
                f"reverting '{change.id}' to checkpoint #{info.checkpoint.number} needs confirmation",
                fix=f"pass --yes: specflow revert {change.id} --to {info.checkpoint.number} --yes",
            )
        if not _confirmed(ctx, info):
            ctx.out("nothing changed")
            return 1
        args.to = info.checkpoint.number
    result = change.revert(args.to)
    if args.json:
        ctx.json(result.to_dict())
    else:
        ctx.out(result.summary())
        for key, paths in result.restored.items():
            ctx.out(f"  {key}: {len(paths)} file(s)")
        for note in result.notes:
            ctx.out(f"  note: {note}")
        for err in result.errors:
            ctx.err(f"  could not restore: {err}")
    return 1 if result.errors else 0


def _confirmed(ctx: CliContext, info: CheckpointInfo) -> bool:
    cp = info.checkpoint
    ctx.out(
        f"checkpoint #{cp.number}: {cp.time[:19].replace('T', ' ')} UTC, before {cp.phase}"
        f" (state {cp.state}); {info.changed_since} file(s) differ now in: {', '.join(sorted(cp.refs))}"
    )
    ctx.stdout.write("restore them? the present is checkpointed first, so this can be undone [y/N] ")
    ctx.stdout.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")
