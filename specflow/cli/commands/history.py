"""``specflow history <id>``: every recorded attempt of a change."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext
from specflow.cli.render import say, table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="the change id (default in a change's worktree: that change)")
    p.add_argument("--json", action="store_true", help="the raw events")
    p.add_argument("--verbose", "-v", action="store_true", help="show every step's result and reason")


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    change = ctx.open_hub().change(ctx.change_id(args.id, args.command))
    events = change.history()
    if args.json:
        ctx.json(events)
        return 0
    rows = []
    for ev in events:
        agent = ev.get("agent") or {}
        cost = agent.get("cost_usd")
        viol = len(ev.get("gate_violations") or [])
        rows.append(
            [
                (ev.get("time") or "")[:19].replace("T", " "),
                ev.get("trigger") or "",
                f"{ev.get('from') or '-'} -> {ev.get('to') or '-'}",
                ev.get("outcome") or "",
                agent.get("name") or "",
                f"${cost:.4f}" if isinstance(cost, (int, float)) else "",
                f"{ev['duration_s']:.1f}s" if isinstance(ev.get("duration_s"), (int, float)) else "",
                str(viol) if viol else "",
            ]
        )
    table(
        ctx,
        ["time (UTC)", "trigger", "transition", "outcome", "agent", "cost", "took", "gate"],
        rows,
        title=f"history of {change.id}",
    )
    if args.verbose:
        for ev in events:
            for key, steps in (("given", ev.get("given", [])), ("then", ev.get("then", []))):
                for s in steps:
                    say(
                        ctx,
                        f"  {ev.get('to')}: {key} {s['step']}: {'ok' if s['ok'] else 'FAILED ' + s.get('reason', '')}",
                    )
            for r in ev.get("reasons") or []:
                say(ctx, f"  {ev.get('to')}: reason: {r}", "red")
            for v in ev.get("gate_violations") or []:
                say(ctx, f"  {ev.get('to')}: gate: {v.get('kind')} {v.get('path')} (put back)", "yellow")
            if ev.get("rejected"):
                say(ctx, f"  {ev.get('to')}: saved first; restore with: {ev['rejected']['command']}", "yellow")
    return 0
