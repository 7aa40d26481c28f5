"""One change's status in detail, for ``status <id>`` and ``show <id>``."""

from __future__ import annotations

from typing import Any

from specflow.cli.context import CliContext
from specflow.cli.render import say, table


def _fmt_next(st: dict[str, Any]) -> str:
    """The next action and its command: ``approve: specflow approve add-login``."""
    nxt = st["next"]
    return f"{nxt['action']}: {nxt['command']}" if nxt["command"] else nxt["action"]


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
