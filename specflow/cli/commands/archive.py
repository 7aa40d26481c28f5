"""``specflow archive <id> [--yes] [--skip-specs] [--no-validate] [--json]``: OpenSpec's archive.

For a change specflow does not manage this is ``openspec archive``: same checks, same merge, same
JSON (``{archive: {...}, root}`` or ``{archive: null, status: [...]}`` with exit 1).  A change under
a workflow is archived by its workflow's archive phase, so this command refuses it and says to use
``specflow advance``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from specflow.cli.commands.advance import run_trigger
from specflow.cli.context import CliContext
from specflow.errors import ArchiveBlocked, ArchiveCancelled
from specflow.openspec.archive import archive_change


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change to archive")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask (incomplete tasks, spec updates)")
    p.add_argument("--skip-specs", action="store_true", help="move the change without merging its deltas")
    p.add_argument("--no-validate", action="store_true", help="skip validation (not recommended)")
    p.add_argument("--json", action="store_true", help="OpenSpec's JSON result")


def _ask(question: str) -> bool | None:
    """y/N on a terminal; None when nobody can answer (no terminal, closed stdin)."""
    if not sys.stdin.isatty():
        return None
    try:
        answer = input(f"{question} (y/N) ").strip().lower()
    except EOFError:
        return None
    return answer in ("y", "yes")


def _refuse(ctx: CliContext, as_json: bool, diag: dict[str, Any], root: str, issues: list[dict[str, Any]]) -> int:
    if as_json:
        ctx.json({"archive": None, "root": {"path": root, "source": "nearest"}, "status": [diag]})
        return 1
    for i in issues:
        ctx.err(f"  {'✗' if i['level'] == 'ERROR' else '⚠'} {i['path']}: {i['message']}")
    ctx.err(f"error: {diag['message']}")
    if diag.get("fix"):
        ctx.err(f"  fix: {diag['fix']}")
    return 1


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    hub = ctx.open_hub()
    hub_root = hub.root
    if any(c.id == args.id for c in hub.stranded_changes()):
        # archived, but a check after the move failed: finishing it is running its archive phase again
        return _finish_stranded(args, ctx)
    # a change on its branch is archived where it lives: its own worktree of the hub
    root = hub.change_root(args.id) if args.id and "/" not in args.id else hub_root
    change_dir = root / "openspec" / "changes" / args.id
    state_file = change_dir / ".specflow" / "state.json"
    if args.id and "/" not in args.id and state_file.is_file():
        try:
            record = json.loads(state_file.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError):
            record = {}
        if not isinstance(record, dict):
            record = {}
        return _archive_managed(args, ctx, record, hub_root)
    try:
        result = archive_change(
            hub_root,
            args.id,
            yes=args.yes,
            skip_specs=args.skip_specs,
            no_validate=args.no_validate,
            confirm=None if args.json else _ask,
        )
    except ArchiveBlocked as exc:
        return _refuse(ctx, args.json, exc.diagnostic(), str(hub_root), exc.issues)
    except ArchiveCancelled as exc:
        ctx.out(exc.message)
        return 0
    if args.json:
        ctx.json({"archive": result.to_json(), "root": {"path": str(hub_root), "source": "nearest"}})
        return 0
    total, done = result.task_total, result.task_done
    status = "No tasks" if total == 0 else "✓ Complete" if done == total else f"{done}/{total} tasks"
    ctx.out(f"Task status: {status}")
    if args.skip_specs:
        ctx.out("Skipping spec updates (--skip-specs flag provided).")
    elif result.specs:
        ctx.out("Specs to update:")
        for cap, how in result.specs:
            ctx.out(f"  {cap}: {how}")
    for w in result.warnings:
        ctx.err(f"warning: {w}")
    if result.totals is not None:
        t = result.totals
        ctx.out(f"Totals: + {t.added}, ~ {t.modified}, - {t.removed}, → {t.renamed}")
        ctx.out("Specs updated successfully." if result.specs_updated else "Specs already in sync; no files changed.")
    ctx.out(f"Change '{result.change}' archived as '{result.archived_as}'.")
    return 0


def _archive_managed(args: argparse.Namespace, ctx: CliContext, record: dict[str, Any], hub_root: Any) -> int:
    """A change under a workflow is archived by its workflow's archive transition, never by hand.

    Where the workflow allows archiving from the change's state, this runs that transition (as
    ``specflow advance <id> --to <archive state>``: its given steps, its agent, the archive action,
    the history); anywhere else it refuses and says where archiving is allowed from.
    """

    hub = ctx.open_hub()
    workflow = hub.workflow(record.get("workflow"))
    state = str(record.get("state"))
    targets = [name for name, st in workflow.states.items() if "openspec-archive" in st.actions]
    sources = sorted({src for sc in workflow.scenarios if sc.to in targets for src in workflow.sources_of(sc)})
    here = [sc for sc in workflow.scenarios_from(state, "advance") if sc.to in targets]
    if not here:
        where = ", ".join(repr(s) for s in sources) or "no state"
        diag = {
            "severity": "error",
            "code": "archive_managed_by_workflow",
            "message": f"change '{args.id}' is under workflow '{workflow.name}' in state '{state}';"
            f" the workflow archives it from {where}",
            "fix": f"run 'specflow advance {args.id}' until it reaches {where}, then archive it",
        }
        return _refuse(ctx, args.json, diag, str(hub_root), [])
    run_args = argparse.Namespace(
        id=args.id, to=here[0].to, agent=None, dry_run=False, fresh=False, json=args.json, quiet=args.json
    )
    return run_trigger(run_args, ctx, "advance")


def _finish_stranded(args: argparse.Namespace, ctx: CliContext) -> int:
    """Run the archive phase again for a change whose folder moved but whose checks failed."""

    run_args = argparse.Namespace(
        id=args.id, to=None, agent=None, dry_run=False, fresh=False, json=args.json, quiet=args.json
    )
    return run_trigger(run_args, ctx, "advance")
