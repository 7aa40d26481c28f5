"""``specflow show <id> [--json] [--deltas-only]``: a change (its proposal and deltas) or a spec.

``--json`` prints OpenSpec's document: ``{id, title, deltaCount, deltas, root}`` for a change (plus
specflow's ``specflow`` key), ``{id, title, overview, requirementCount, requirements, metadata, root}``
for a spec; a failure is OpenSpec's ``{"status": [...]}`` on stdout.  Without ``--json`` the file is
printed as written, as ``openspec show`` does.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from specflow.cli.context import CliContext
from specflow.cli.detail import detail, show_detail
from specflow.cli.render import status_error
from specflow.errors import ItemError, StateError
from specflow.ids import change_id_problems
from specflow.openspec import discovery, show


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("item", nargs="?", help="a change id or spec id (default in a change's worktree: that change)")
    p.add_argument("--json", action="store_true", help="OpenSpec's JSON document")
    p.add_argument("--deltas-only", action="store_true", help="only the deltas (JSON, change)")
    p.add_argument("--type", choices=("change", "spec"), help="disambiguate an item name")


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    args.item = ctx.change_id(args.item, args.command)
    # a change on its branch is shown as its own worktree of the hub has it
    root = ctx.change_root(args.item)
    try:
        kind = discovery.resolve_item(root, args.item, args.type)
        discovery.check_item_path(kind, args.item)
        if kind == "spec" and args.deltas_only:
            ctx.err("Warning: Ignoring flags not applicable to spec: deltasOnly")
        if args.json and kind == "spec":  # written straight from the parsed spec: the bytes of stringify(doc)
            ctx.json_text(show.show_spec_text(root, args.item))
            return 0
        if args.json:
            doc = show.show_change_json(root, args.item)
    except ItemError as exc:
        if exc.code == "unknown_item" and args.type != "spec" and not args.json:
            stranded = next((c for c in ctx.open_hub().stranded_changes() if c.id == args.item), None)
            if stranded is not None:  # archived, but its checks failed: still a change to look at
                return _show_stranded(ctx, stranded)
        return status_error(ctx, args.json, exc.code, exc.message, exc.fix)
    if args.json:
        if kind == "change":  # OpenSpec's document, plus specflow's state and cost (null when unmanaged)
            st = _specflow_detail(ctx, args.item)
            doc["specflow"] = None if st is None else {k: st[k] for k in _DETAIL_KEYS}
        ctx.json(doc)
        return 0
    return _show_text(ctx, root, kind, args.item)


_DETAIL_KEYS = ("workflow", "state", "status", "progress", "tasks", "cost", "last_activity", "last_attempt")


def _specflow_detail(ctx: CliContext, change_id: str) -> dict[str, Any] | None:
    """specflow's status of the change, or None when specflow does not manage it."""

    if change_id_problems(change_id):  # OpenSpec shows it; specflow can never have run it
        return None
    hub = ctx.open_hub()
    try:
        st = detail(hub, hub.change(change_id))
    except StateError as exc:  # show the OpenSpec side anyway, and say what is wrong
        ctx.err(f"warning: {exc.message}")
        return None
    return None if st["state"] is None else st


def _show_text(ctx: CliContext, root: Path, kind: str, item: str) -> int:
    if kind == "spec":
        path = (root / "openspec" / "specs").joinpath(*item.split("/"), "spec.md")
        if not path.is_file():
            return status_error(ctx, False, "show_error", f"Spec '{item}' not found at {path}")
        ctx.out(path.read_text(encoding="utf-8", errors="replace"))
        return 0
    proposal = root / "openspec" / "changes" / item / "proposal.md"
    if not proposal.parent.is_dir():
        return status_error(ctx, False, "show_error", f'Change "{item}" not found at {proposal}')
    if not proposal.is_file():
        return status_error(
            ctx,
            False,
            "show_error",
            f'Change "{item}" has no proposal.md yet.',
            f"write {proposal}, or check the change with 'specflow status {item}'",
        )
    ctx.out(proposal.read_text(encoding="utf-8", errors="replace"))
    st = _specflow_detail(ctx, item)
    if st is not None:
        ctx.out("")
        show_detail(ctx, st)
    return 0


def _show_stranded(ctx: CliContext, change: Any) -> int:
    """An archived change whose workflow has not finished: its proposal and its status."""

    proposal = change.dir / "proposal.md"
    if proposal.is_file():
        ctx.out(proposal.read_text(encoding="utf-8", errors="replace"))
        ctx.out("")
    show_detail(ctx, detail(change.hub, change))
    return 0
