"""``specflow clean <id>``: remove the worktrees of an archived change (the branches are kept)."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--force", action="store_true", help="remove worktrees even with uncommitted work")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.lock import ChangeLock
    from specflow.workspaces import WorkspaceError, for_change

    change = ctx.open_hub().change(args.id)
    if not change.archived:
        raise WorkspaceError(
            f"change '{change.id}' is not archived (state {change.state}); clean removes the worktrees"
            " of archived changes only",
            fix=f"archive it first (specflow advance {change.id}), or remove a worktree yourself with"
            " 'git worktree remove PATH'",
        )
    ws = for_change(change)
    with ChangeLock(ws.hub, change.id, command="clean"):
        removed = ws.remove_worktrees(force=args.force, strict=True)
    if not removed:
        ctx.out(f"change '{change.id}' has no worktree left")
        return 0
    for path in removed:
        ctx.out(f"removed {path}")
    ctx.out(f"branch {ws.branch} kept")
    return 0
