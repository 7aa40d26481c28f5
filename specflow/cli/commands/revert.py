"""``specflow revert <id> [--to N] [--yes]``: restore every workspace of a change to a checkpoint."""

from __future__ import annotations

import argparse
import sys

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--to", type=int, metavar="N", help="the checkpoint number (default: the latest)")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.engine.lock import ChangeLock
    from specflow.errors import WorkspaceError
    from specflow.workspace.workspaces import for_change

    change = ctx.open_hub().change(args.id)
    ws = for_change(change)
    with ChangeLock(ws.hub, change.id, command="revert"):
        cps = ws.checkpoints()
        if not cps:
            raise WorkspaceError(
                f"change '{change.id}' has no checkpoint to revert to",
                fix="checkpoints are taken before every agent turn; advance the change first",
            )
        target = cps[-1] if args.to is None else next((c for c in cps if c.number == args.to), None)
        if target is None:
            known = ", ".join(str(c.number) for c in cps)
            raise WorkspaceError(
                f"change '{change.id}' has no checkpoint #{args.to} (it has: {known})",
                fix=f"pick one of them; 'specflow checkpoints {change.id}' lists them",
            )
        if not args.yes:
            if not (ctx.is_tty and sys.stdin.isatty()):
                raise WorkspaceError(
                    f"reverting '{change.id}' to checkpoint #{target.number} needs confirmation",
                    fix=f"pass --yes: specflow revert {change.id} --to {target.number} --yes",
                )
            n = ws.changed_since([target]).get(target.number, 0)
            ctx.out(
                f"checkpoint #{target.number}: {target.time[:19].replace('T', ' ')} UTC, before {target.phase}"
                f" (state {target.state}); {n} file(s) differ now in: {', '.join(sorted(target.refs))}"
            )
            ctx.stdout.write("restore them? the present is checkpointed first, so this can be undone [y/N] ")
            ctx.stdout.flush()
            if sys.stdin.readline().strip().lower() not in ("y", "yes"):
                ctx.out("nothing changed")
                return 1
        result = ws.revert(target.number)
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
