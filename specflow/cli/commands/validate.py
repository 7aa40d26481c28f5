"""``specflow validate [<id> | --all | --changes | --specs] [--strict] [--json]``: OpenSpec's checks.

The JSON document is OpenSpec's (``{items, summary, version, root}``); the exit code is 1 when any
item fails (with ``--strict``, WARNINGs fail too).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from specflow.cli.context import CliContext
from specflow.cli.render import status_error
from specflow.errors import ItemError
from specflow.openspec.validate import validate_selection

if TYPE_CHECKING:
    from specflow.openspec.validate import ItemResult, Validation

NOTHING_TO_VALIDATE = (
    "Nothing to validate. Try one of:\n  specflow validate --all\n  specflow validate --changes\n"
    "  specflow validate --specs\n  specflow validate <item-name>"
)


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


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    bulk = bool(args.all or args.changes or args.specs)
    if not bulk and not args.item:
        ctx.err(NOTHING_TO_VALIDATE)
        return 1
    # one change on its branch is validated as its own worktree of the hub has it
    root = ctx.hub_root() if bulk or args.type == "spec" else ctx.change_root(args.item)
    try:
        outcome = validate_selection(
            root,
            None if bulk else args.item,
            type_=args.type,
            changes=bool(args.all or args.changes),
            specs=bool(args.all or args.specs),
            strict=args.strict,
            remember=True,
        )
    except ItemError as exc:
        return status_error(ctx, args.json, exc.code, exc.message, exc.fix, prefixed=False)
    if args.json:
        ctx.json(outcome.to_json())
    elif bulk:
        _render_bulk(ctx, outcome)
    else:
        _render_item(ctx, outcome.results[0])
    return 1 if outcome.failed else 0


def _symbol(level: str) -> str:
    return {"ERROR": "\u2717", "WARNING": "\u26a0"}.get(level, "\u2139")


def _render_bulk(ctx: CliContext, outcome: Validation) -> None:
    results = outcome.results
    if not results:
        ctx.out("No items found to validate.")
        return
    for r in results:
        line = f"{'✓' if r.valid else '✗'} {r.type}/{r.id}"
        (ctx.out if r.valid else ctx.err)(line)
        for i in r.report.issues:
            ctx.err(f"  {_symbol(i.level)} [{i.level}] {i.path}: {i.message}")
    failed = outcome.failed
    ctx.out(f"Totals: {len(results) - len(failed)} passed, {len(failed)} failed ({len(results)} items)")
    if failed:
        ctx.out(f"Details: specflow validate {failed[0].id} --type {failed[0].type}")


_NEXT_STEPS = {
    "change": (
        "  - Ensure change has deltas in specs/: use headers ## ADDED/MODIFIED/REMOVED/RENAMED Requirements",
        "  - Each requirement MUST include at least one #### Scenario: block",
        "  - Debug parsed deltas: specflow show {id} --json --deltas-only",
    ),
    "spec": (
        "  - Ensure spec includes ## Purpose and ## Requirements sections",
        "  - Each requirement MUST include at least one #### Scenario: block",
        "  - Re-run with --json to see structured report",
    ),
}


def _render_item(ctx: CliContext, result: ItemResult) -> None:
    noun = "Change" if result.type == "change" else "Specification"
    if result.valid:
        ctx.out(f"{noun} '{result.id}' is valid")
    else:
        ctx.err(f"{noun} '{result.id}' has issues")
    for i in result.report.issues:
        ctx.err(f"{_symbol(i.level)} [{i.level}] {i.path}: {i.message}")
    if not result.valid:
        ctx.err("Next steps:")
        for line in _NEXT_STEPS[result.type]:
            ctx.err(line.format(id=result.id))
