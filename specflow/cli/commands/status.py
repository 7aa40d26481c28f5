"""``specflow status [<id>]``: where every change stands (or one, in detail)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from typing import Any

from specflow.cli.context import CliContext
from specflow.cli.detail import detail, show_detail
from specflow.cli.render import STATE_STYLE, say, styled, table
from specflow.engine import statusindex


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="one change, in detail (default in a change's worktree: that change)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--all", action="store_true", help="include archived changes")
    p.add_argument("--watch", action="store_true", help="the live board, redrawn as changes move (Ctrl-C stops)")


def _fmt_tokens(st: Mapping[str, Any]) -> str:
    """Every token the change's agents used (input, output and cache), shortened: ``12.3k``."""
    n = sum(int(v) for v in st["cost"]["total"].get("tokens", {}).values())
    if not n:
        return "-"
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _fmt_machine(st: Mapping[str, Any]) -> str:
    """Where the last phase attempt ran."""
    ran = st.get("last_attempt")
    return str(ran.get("machine") or "-") if ran else "-"


def _fmt_cost(st: Mapping[str, Any]) -> str:
    total = st["cost"]["total"]
    if not total.get("priced"):
        return "-"
    return f"${total['cost_usd']:.2f}"


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if getattr(args, "watch", False):  # callers that build their own Namespace (demo) do not watch
        from specflow.cli.live import watch

        return watch(ctx, ctx.open_hub())
    root = None if args.id else ctx.plain_hub_root()
    statuses: Sequence[Mapping[str, Any]] | None = None if root is None else statusindex.kept_rows(root, args.all)
    if root is None or statuses is None:  # something changed since the index was kept: ask the hub
        hub = ctx.open_view()
        if args.id or hub.here_change:
            return _one(ctx, hub, args)
        root, statuses = hub.root, hub.statuses(archived=args.all)
    if args.json:
        ctx.json({"root": str(root), "changes": statuses})
        return 0
    if not statuses:
        ctx.out("no open changes; create one with 'specflow new <id>'")
        return 0
    show_table(ctx, statuses)
    return 0


def _one(ctx: CliContext, hub: Any, args: argparse.Namespace) -> int:
    """``status <id>``, or ``status`` in a change's worktree: that change in detail."""
    one = detail(hub, hub.change(ctx.change_id(args.id, args.command)))
    if args.json:
        ctx.json(one)
    else:
        show_detail(ctx, one)
    return 0


#: The table's columns; on a narrow terminal the id stays whole and these give way, in this order:
#: machine, tokens, workflow, cost, time and phase.
_HEADERS = ["change", "workflow", "state", "status", "phase", "tasks", "cost", "tokens", "last activity (UTC)"]
_HEADERS += ["ran on", "next"]
_DROPPABLE = [9, 7, 1, 6, 8, 4]


def _row(ctx: CliContext, st: Mapping[str, Any]) -> list[Any]:
    return [
        st["id"],
        st["workflow"] or "-",
        st["state"] or "-",
        styled(ctx, st["status"], STATE_STYLE.get(st["status"], "")),
        st["progress"],
        f"{st['tasks']['done']}/{st['tasks']['total']}" if st["tasks"]["total"] else "-",
        _fmt_cost(st),
        _fmt_tokens(st),
        (st["last_activity"] or "-")[:19].replace("T", " "),
        _fmt_machine(st),
        st["next"]["action"],
    ]


def show_table(ctx: CliContext, statuses: Sequence[Mapping[str, Any]]) -> None:
    """Every change in one table, then why each broken one is broken."""
    left_out = table(ctx, _HEADERS, [_row(ctx, st) for st in statuses], whole=[0], droppable=_DROPPABLE)
    if left_out:
        say(ctx, f"(left out to fit the terminal: {', '.join(left_out)}; 'status --json' has them)", "dim")
    for st in statuses:
        if st["status"] == "broken":
            say(ctx, f"{st['id']} is broken: {st['next']['why']}", "red")
