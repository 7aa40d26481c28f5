"""``specflow show <id> [--json] [--deltas-only]``: a change (its proposal and deltas) or a spec.

``--json`` prints OpenSpec's document: ``{id, title, deltaCount, deltas, root}`` for a change,
``{id, title, overview, requirementCount, requirements, metadata, root}`` for a spec.  Without it the
file is printed as written, as ``openspec show`` does.
"""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext
from specflow.cli.render import status_error


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("item", nargs="?", help="a change id or spec id (default in a change's worktree: that change)")
    p.add_argument("--json", action="store_true", help="OpenSpec's JSON document")
    p.add_argument("--deltas-only", action="store_true", help="only the deltas (JSON, change)")
    p.add_argument("--type", choices=("change", "spec"), help="disambiguate an item name")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.openspec import discovery
    from specflow.openspec import show as listing

    root = ctx.open_hub().root
    args.item = ctx.change_id(args.item, args.command)
    kind, problem = discovery.resolve_item(root, args.item, args.type, type_must_match=True)
    if problem is not None or kind is None:
        code, message, fix = problem or ("unknown_item", f"Unknown item '{args.item}'.", None)
        return status_error(ctx, args.json, code, message, fix)
    if kind == "change":
        from specflow.cli.commands.status import detail, show_detail
        from specflow.errors import StateError

        hub = ctx.open_hub()
        try:
            st = detail(hub, hub.change(args.item))
        except StateError as exc:  # show the OpenSpec side anyway, and say what is wrong
            st = {"state": None, "error": exc.message}
            ctx.err(f"warning: {exc.message}")
        if args.json:
            try:
                doc = listing.show_change_json(root, args.item)
            except listing.ShowError as exc:
                return status_error(ctx, False, "show_failed", exc.message)
            # OpenSpec's document, plus specflow's state and cost (null for unmanaged changes)
            doc["specflow"] = (
                None
                if st["state"] is None
                else {k: st[k] for k in ("workflow", "state", "status", "progress", "tasks", "cost", "last_activity")}
            )
            ctx.json(doc)
            return 0
        proposal = root / "openspec" / "changes" / args.item / "proposal.md"
        if not proposal.is_file():
            return status_error(
                ctx,
                False,
                "show_failed",
                f'Change "{args.item}" has no proposal.md yet.',
                f"write {proposal}, or check the change with 'specflow status {args.item}'",
            )
        ctx.out(proposal.read_text(encoding="utf-8", errors="replace"))
        if st["state"] is not None:
            ctx.out("")
            show_detail(ctx, st)
        return 0
    if args.deltas_only:
        ctx.err("Warning: Ignoring flags not applicable to spec: deltasOnly")
    if args.json:
        try:
            ctx.json(listing.show_spec_json(root, args.item))
        except listing.ShowError as exc:
            return status_error(ctx, False, "show_failed", exc.message)
        return 0
    path = (root / "openspec" / "specs").joinpath(*args.item.split("/"), "spec.md")
    ctx.out(path.read_text(encoding="utf-8", errors="replace"))
    return 0
