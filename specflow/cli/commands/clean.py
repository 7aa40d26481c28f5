"""``specflow clean <id>``: remove the worktrees of an archived change (the branches are kept)."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--force", action="store_true", help="remove worktrees even with uncommitted work")
    p.add_argument("--json", action="store_true", help="each worktree, whether it was removed, and the branch kept")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.engine.lock import ChangeLock
    from specflow.errors import WorkspaceError
    from specflow.workspace.checkpoints import HUB_KEY
    from specflow.workspace.workspaces import for_change

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
        before = {name: path for name, path in ws.existing().items() if name != HUB_KEY}
        removed = ws.remove_worktrees(force=args.force, strict=True)
    if args.json:
        ctx.json(
            {
                "change": change.id,
                "branch": ws.branch,
                "worktrees": [
                    {"repo": name, "path": str(path), "removed": path in removed} for name, path in before.items()
                ],
            }
        )
        return 0
    if not removed:
        ctx.out(f"change '{change.id}' has no worktree left")
        return 0
    for path in removed:
        ctx.out(f"removed {path}")
    ctx.out(f"branch {ws.branch} kept")
    return 0
