"""Runs that need no terminal, seen from one: ``advance --background`` and ``status --watch``.

The CLI's door to the dashboard's features (where it runs, its notifications): ``advance`` and
``status`` import this module only in those modes, so their start stays free of them.
"""

from __future__ import annotations

import argparse
import shlex
import time
from typing import TYPE_CHECKING, Any

from specflow.cli.context import CliContext
from specflow.cli.render import say, table
from specflow.ui.local import running_url
from specflow.ui.notify import Notifier

if TYPE_CHECKING:
    from specflow.engine.board import Board
    from specflow.engine.hub import Hub

#: ``status --watch`` redraws at most this often.
WATCH_INTERVAL_S = 1.0


def run_background(args: argparse.Namespace, ctx: CliContext, trigger: str) -> int:
    """Start the trigger in its own process and say where to follow it."""
    hub = ctx.open_hub()
    change = hub.change(args.id)
    run = change.advance_in_background(
        to=args.to, agent=args.agent, fresh=args.fresh, trigger=trigger, take_over=args.take_over
    )
    if args.json:
        ctx.json(run.to_dict())
        return 0
    prefix = f"specflow -C {shlex.quote(str(hub.root))}"
    say(ctx, f"{change.id}: {trigger} started in the background (pid {run.pid})", "green")
    ctx.out(f"  follow it:  {prefix} status --watch")
    url = running_url(hub.root)
    ctx.out(f"  in a browser: {url}" if url else f"  in a browser: {prefix} ui")
    ctx.out(f"  its output: {run.log}")
    ctx.out(f"  cancel it:  kill -TERM {run.pid}   (the agent is stopped and its writes audited)")
    return 0


def _rows(board: Board) -> list[list[Any]]:
    rows = []
    for card in board.cards:
        tasks = f"{card.tasks_done}/{card.tasks_total}" if card.tasks_total else "-"
        budget = f" of ${card.budget_usd:g}" if card.budget_usd is not None else ""
        cost = f"${card.cost_usd:.2f}{budget}" if card.cost_usd or budget else "-"
        now = card.activity if card.lane == "running" else card.needs_reason or "-"
        rows.append(
            [
                card.id,
                card.lane,
                card.state or "-",
                card.phase or "-",
                tasks,
                cost,
                (card.last_activity or "-")[:19].replace("T", " "),
                (now or "-")[:60],
                card.next_action.label if card.next_action else "-",
            ]
        )
    return rows


HEADERS = ["change", "lane", "state", "phase", "tasks", "cost", "last activity (UTC)", "now", "next"]


def watch(ctx: CliContext, hub: Hub, *, interval: float = WATCH_INTERVAL_S, notify: bool = True) -> int:
    """The live board in a terminal until Ctrl-C: redrawn in place, or printed again when it changes."""
    notifier = Notifier.for_hub(hub) if notify else None
    previous: list[list[Any]] | None = None
    while True:
        board = hub.board()
        if notifier is not None:
            notifier.observe(board)
        rows = _rows(board)
        if rows != previous:
            if ctx.fancy:
                ctx.stdout.write("\x1b[H\x1b[2J")
            ctx.out(f"specflow status --watch  {time.strftime('%H:%M:%S')}  (Ctrl-C to stop)")
            if rows:
                table(ctx, HEADERS, rows)
            else:
                ctx.out("no changes; create one with 'specflow new <id>'")
            previous = rows
        time.sleep(interval)
