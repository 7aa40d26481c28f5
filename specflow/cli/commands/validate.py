"""``specflow validate [<id> | --all | --changes | --specs] [--strict] [--json]``: OpenSpec's checks.

The JSON document is OpenSpec's (``{items, summary, version, root}``); the exit code is 1 when any
item fails (with ``--strict``, WARNINGs fail too).
"""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext
from specflow.cli.render import status_error


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("item", nargs="?", help="a change id or spec id")
    p.add_argument("--all", action="store_true", help="every open change and every spec")
    p.add_argument("--changes", action="store_true", help="every open change")
    p.add_argument("--specs", action="store_true", help="every main spec")
    p.add_argument("--type", choices=("change", "spec"), help="disambiguate an item name")
    p.add_argument("--strict", action="store_true", help="fail on warnings too")
    p.add_argument("--json", action="store_true", help="OpenSpec's JSON report")
    p.add_argument("--no-interactive", action="store_true", help="accepted for OpenSpec compatibility")
    p.add_argument("--concurrency", type=int, help="accepted for OpenSpec compatibility (ignored)")


def _symbol(level: str) -> str:
    return {"ERROR": "\u2717", "WARNING": "\u26a0"}.get(level, "\u2139")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.openspec import discovery
    from specflow.openspec.validate import (
        ItemResult,
        report_json,
        validate_change,
        validate_items,
        validate_spec,
    )

    root = ctx.open_hub().root
    bulk = args.all or args.changes or args.specs
    if bulk:
        changes = bool(args.all or args.changes)
        specs = bool(args.all or args.specs)
        results = validate_items(root, changes=changes, specs=specs, strict=args.strict)
        failed = sum(1 for r in results if not r.valid)
        if args.json:
            ctx.json(report_json(results, root, changes=changes, specs=specs))
            return 1 if failed else 0
        if not results:
            ctx.out("No items found to validate.")
            return 0
        for r in results:
            line = f"{'✓' if r.valid else '✗'} {r.type}/{r.id}"
            (ctx.out if r.valid else ctx.err)(line)
            for i in r.report.issues:
                ctx.err(f"  {_symbol(i.level)} [{i.level}] {i.path}: {i.message}")
        ctx.out(f"Totals: {len(results) - failed} passed, {failed} failed ({len(results)} items)")
        first = next((r for r in results if not r.valid), None)
        if first is not None:
            ctx.out(f"Details: specflow validate {first.id} --type {first.type}")
        return 1 if failed else 0

    if not args.item:
        ctx.err(
            "Nothing to validate. Try one of:\n  specflow validate --all\n  specflow validate --changes\n"
            "  specflow validate --specs\n  specflow validate <item-name>"
        )
        return 1

    kind, problem = discovery.resolve_item(root, args.item, args.type)
    if problem is not None or kind is None:
        code, message, fix = problem or ("unknown_item", f"Unknown item '{args.item}'.", None)
        return status_error(ctx, args.json, code, message, fix, prefixed=False)
    parts = [args.item] if kind == "change" else args.item.split("/")
    if any(p in ("", ".", "..") or "\\" in p for p in parts) or (kind == "change" and "/" in args.item):
        label = "Change name" if kind == "change" else "Spec id"
        return status_error(ctx, args.json, "invalid_item", f"{label} must not contain path separators", prefixed=False)

    import time

    start = time.perf_counter()
    report = validate_change(root, args.item) if kind == "change" else validate_spec(root, args.item)
    result = ItemResult(args.item, kind, report, int((time.perf_counter() - start) * 1000), args.strict)
    if args.json:
        doc = report_json([result], root, changes=kind == "change", specs=kind == "spec")
        ctx.json(doc)
        return 0 if result.valid else 1
    noun = "Change" if kind == "change" else "Specification"
    if result.valid:
        ctx.out(f"{noun} '{args.item}' is valid")
    else:
        ctx.err(f"{noun} '{args.item}' has issues")
    for i in report.issues:
        ctx.err(f"{_symbol(i.level)} [{i.level}] {i.path}: {i.message}")
    if not result.valid:
        ctx.err("Next steps:")
        if kind == "change":
            ctx.err(
                "  - Ensure change has deltas in specs/: use headers ## ADDED/MODIFIED/REMOVED/RENAMED Requirements"
            )
            ctx.err("  - Each requirement MUST include at least one #### Scenario: block")
            ctx.err(f"  - Debug parsed deltas: specflow show {args.item} --json --deltas-only")
        else:
            ctx.err("  - Ensure spec includes ## Purpose and ## Requirements sections")
            ctx.err("  - Each requirement MUST include at least one #### Scenario: block")
            ctx.err("  - Re-run with --json to see structured report")
    return 0 if result.valid else 1
