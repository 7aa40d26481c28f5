"""``specflow workspace <id> [--repo R]``: where a change's workspaces are."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--repo", metavar="R", help="print only this repo's worktree path (for cd)")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.errors import WorkspaceError
    from specflow.workspace.workspaces import for_change

    change = ctx.open_hub().change(args.id)
    ws = for_change(change)
    targets = ws.targets()
    if args.repo:
        chosen = [t for t in targets if t.name == args.repo]
        if not chosen:
            names = ", ".join(t.name for t in targets) or "none"
            raise WorkspaceError(
                f"repo '{args.repo}' is not affected by change '{change.id}' (affected: {names})",
                fix=f"add it with 'specflow repos {change.id} add {args.repo}'",
            )
        target = chosen[0]
        if not target.exists:
            raise WorkspaceError(
                f"the worktree of '{target.name}' for '{change.id}' does not exist yet ({target.worktree})",
                fix="it is created by the first phase that works in worktrees (specflow advance)",
            )
        ctx.out(str(target.worktree))
        return 0
    rows: list[tuple[str, str, str | None, bool]] = [("hub", str(ws.hub), None, True)]
    rows += [(t.name, str(t.worktree), t.branch, t.exists) for t in targets]
    if args.json:
        ctx.json(
            {
                "change": change.id,
                "workspaces": [{"name": n, "path": p, "branch": b, "exists": e} for n, p, b, e in rows],
            }
        )
        return 0
    width = max(len(r[0]) for r in rows)
    for name, path, branch, exists in rows:
        note = "" if exists else "  (not created yet)"
        on = f"  [{branch}]" if branch else ""
        ctx.out(f"{name:<{width}}  {path}{on}{note}")
    return 0
