"""``specflow status [<id>]``: where every change stands (or one, in detail)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from specflow.cli.context import CliContext
from specflow.cli.render import STATE_STYLE, say, styled, table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="one change, in detail (default in a change's worktree: that change)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--all", action="store_true", help="include archived changes")
    p.add_argument("--watch", action="store_true", help="the live board, redrawn as changes move (Ctrl-C stops)")


def _fmt_next(st: dict[str, Any]) -> str:
    """The next action and its command: ``approve: specflow approve add-login``."""
    nxt = st["next"]
    return f"{nxt['action']}: {nxt['command']}" if nxt["command"] else nxt["action"]


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
    hub = ctx.open_view()
    if args.id or hub.here_change:
        one = detail(hub, hub.change(ctx.change_id(args.id, args.command)))
        if args.json:
            ctx.json(one)
            return 0
        show_detail(ctx, one)
        return 0
    # archived changes whose checks failed after the folder moved stay in view until fixed
    changes = hub.changes() + (hub.archived_changes() if args.all else hub.stranded_changes())
    statuses = [c.status() for c in changes]
    if args.json:
        ctx.json({"root": str(hub.root), "changes": statuses})
        return 0
    if not statuses:
        ctx.out("no open changes; create one with 'specflow new <id>'")
        return 0
    broken = [st for st in statuses if st["status"] == "broken"]
    rows = []
    for st in statuses:
        rows.append(
            [
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
        )
    headers = [
        "change",
        "workflow",
        "state",
        "status",
        "phase",
        "tasks",
        "cost",
        "tokens",
        "last activity (UTC)",
        "ran on",
        "next",
    ]
    # on a narrow terminal: the id whole; machine, tokens, workflow, cost, time and phase give way, in that order
    left_out = table(ctx, headers, rows, whole=[0], droppable=[9, 7, 1, 6, 8, 4])
    if left_out:
        say(ctx, f"(left out to fit the terminal: {', '.join(left_out)}; 'status --json' has them)", "dim")
    for st in broken:
        say(ctx, f"{st['id']} is broken: {st['next']['why']}", "red")
    return 0


def show_detail(ctx: CliContext, st: dict[str, Any]) -> None:
    """One change's status in detail: state, tasks, approval, failures, cost per phase."""

    say(ctx, f"{st['id']}  ({st['workflow'] or 'not managed'})", "bold")
    ctx.out(f"  state      {st['state']}  [{st['status']}]  phase {st['progress']}")
    ctx.out(f"  tasks      {st['tasks']['done']}/{st['tasks']['total']}")
    if st["repos"]:
        ctx.out(f"  repos      {', '.join(st['repos'])}")
    if st["discarded"]:
        d = st["discarded"]
        say(ctx, f"  discarded  by {d['by']} at {d['at'][:19]}: {d['reason'] or 'no reason given'}", "yellow")
    if st["approval"]:
        a = st["approval"]
        say(ctx, f"  approval   {a['text']}", "" if a["holds"] or not a["voided"] else "yellow")
    if st["last_failure"]:
        say(ctx, f"  last failure in {st['last_failure'].get('phase')}:", "red")
        for r in st["last_failure"].get("reasons") or []:
            say(ctx, f"    - {r}", "red")
    if st["in_flight"]:
        f = st["in_flight"]
        say(
            ctx,
            f"  {st['status']}: {f.get('from')} -> {f.get('to')} since {f.get('started')} (pid {f.get('pid')})",
            "yellow",
        )
    phases = st["cost"]["phases"]
    if phases:
        rows = []
        for name, c in phases.items():
            toks = c["tokens"]
            rows.append(
                [
                    name,
                    c["attempts"],
                    f"${c['cost_usd']:.4f}",
                    f"{toks.get('input_tokens', 0)}/{toks.get('output_tokens', 0)}",
                    f"{c['duration_s']:.1f}s",
                ]
            )
        t = st["cost"]["total"]
        rows.append(
            [
                "total",
                t["attempts"],
                f"${t['cost_usd']:.4f}",
                f"{t['tokens'].get('input_tokens', 0)}/{t['tokens'].get('output_tokens', 0)}",
                f"{t['duration_s']:.1f}s",
            ]
        )
        table(ctx, ["phase", "attempts", "cost", "tokens in/out", "agent time"], rows)
    ctx.out(f"  last       {st['last_activity'] or '-'}")
    ran = st.get("last_attempt")
    if ran:
        when = (ran.get("time") or "-")[:19].replace("T", " ")
        where = ran.get("machine") or "unknown"
        ctx.out(f"  ran on     {where} ({ran.get('phase')} {ran.get('outcome')} at {when} UTC)")
    nxt = st["next"]
    say(ctx, f"  next       {_fmt_next(st)}  ({nxt['why']})", "bold")


def detail(hub: Any, change: Any) -> dict[str, Any]:
    """``change.status()``, for ``status <id>`` and ``show <id>``.

    The change's records are read first: a corrupted one is an error (exit 1) naming its file and line.
    """
    change.record  # noqa: B018 - read for its check
    change.history()
    st: dict[str, Any] = dict(change.status())
    return st
