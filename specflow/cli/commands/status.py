"""``specflow status [<id>]``: where every change stands (or one, in detail)."""

from __future__ import annotations

import argparse
from functools import cache
from pathlib import Path
from typing import Any

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="one change, in detail (default in a change's worktree: that change)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--all", action="store_true", help="include archived changes")


@cache
def _states(name: str, hub_root: Path) -> tuple[str, ...]:
    """The state names of workflow ``name``, read without the full loader (status starts fast)."""
    from specflow.definitions.resources import search_path
    from specflow.definitions.yamlio import parse_yaml

    for d in search_path("workflows", hub_root):
        for ext in (".yaml", ".yml"):
            p = d / f"{name}{ext}"
            if p.is_file():
                try:
                    data = parse_yaml(p.read_text(encoding="utf-8"), p).data
                except Exception:
                    return ()
                states = data.get("states") if isinstance(data, dict) else None
                return tuple(states) if isinstance(states, dict) else ()
    return ()


def _progress(st: dict[str, Any], hub_root: Path) -> str:
    if not st.get("workflow") or st.get("state") is None:
        return "-"
    states = _states(st["workflow"], hub_root)
    if st["state"] not in states:
        return "?"
    return f"{states.index(st['state'])}/{len(states) - 1}"


def _fmt_tokens(st: dict[str, Any]) -> str:
    """Every token the change's agents used (input, output and cache), shortened: ``12.3k``."""
    n = sum(int(v) for v in st["cost"]["total"].get("tokens", {}).values())
    if not n:
        return "-"
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def _fmt_cost(st: dict[str, Any]) -> str:
    total = st["cost"]["total"]
    if not total.get("priced"):
        return "-"
    return f"${total['cost_usd']:.2f}"


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.cli.render import STATE_STYLE, say, styled, table

    hub = ctx.open_hub()
    if args.id or hub.here_change:
        st = detail(hub, hub.change(ctx.change_id(args.id, args.command)))
        if args.json:
            ctx.json(st)
            return 0
        show_detail(ctx, st)
        return 0
    changes = hub.changes()
    if args.all:
        archive = hub.changes_dir / "archive"
        if archive.is_dir():
            from specflow.engine.change import Change

            for p in sorted(archive.iterdir()):
                if p.is_dir() and (p / ".specflow").is_dir():
                    changes.append(Change(hub, p.name[11:] if p.name[:4].isdigit() else p.name, p))
    statuses = []
    for c in changes:
        st = c.status()
        st["progress"] = _progress(st, hub.root)
        statuses.append(st)
    if args.json:
        ctx.json({"root": str(hub.root), "changes": statuses})
        return 0
    if not statuses:
        ctx.out("no open changes; create one with 'specflow new <id>'")
        return 0
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
            ]
        )
    headers = ["change", "workflow", "state", "status", "phase", "tasks", "cost", "tokens", "last activity (UTC)"]
    # on a narrow terminal: the id whole; tokens, workflow, cost, time and phase give way, in that order
    left_out = table(ctx, headers, rows, whole=[0], droppable=[7, 1, 6, 8, 4])
    if left_out:
        say(ctx, f"(left out to fit the terminal: {', '.join(left_out)}; 'status --json' has them)", "dim")
    return 0


def show_detail(ctx: CliContext, st: dict[str, Any]) -> None:
    """One change's status in detail: state, tasks, approval, failures, cost per phase."""
    from specflow.cli.render import say, table

    say(ctx, f"{st['id']}  ({st['workflow'] or 'not managed'})", "bold")
    ctx.out(f"  state      {st['state']}  [{st['status']}]  phase {st['progress']}")
    ctx.out(f"  tasks      {st['tasks']['done']}/{st['tasks']['total']}")
    if st["repos"]:
        ctx.out(f"  repos      {', '.join(st['repos'])}")
    if st["approvals"]:
        a = st["approvals"][-1]
        ctx.out(f"  approved   by {a['by']} at {a['at'][:19]} (in {a['state']})")
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


def detail(hub: Any, change: Any) -> dict[str, Any]:
    """``change.status()`` with the phase progress, for ``status <id>`` and ``show <id>``."""
    st: dict[str, Any] = change.status()
    st["progress"] = _progress(st, hub.root)
    return st
