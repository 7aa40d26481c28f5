"""The board: every change of a hub at a glance, with a "needs you" lane.

``build_board(hub)`` returns a ``Board`` of ``Card``s (typed, JSON-ready through ``to_dict``):
id, goal, state and phase, the running agent's current tool call, tasks, cost against budget,
last activity and the next action.  A card *needs you* when it waits for an approval, its last
attempt failed, its branches are ready to merge, its budget is spent, or its run was interrupted.

What a card reads of a change's history and event log is ``specflow.engine.activity``'s (kept per
file, so a dashboard that refreshes reads only what moved), and what it reads of a workflow is
``specflow.engine.boardoutline``'s.  Standard library only (besides the YAML door for a workflow's
outline), so ``status --watch`` uses it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from specflow.changestate.approvals import current_approval
from specflow.changestate.lock import ChangeLock, pid_alive
from specflow.changestate.records import read_state
from specflow.changestate.recordtypes import HISTORY_FILE, STATE_DIR, InFlight, LastFailure, StateRecord
from specflow.engine.activity import current_activity, history_summary
from specflow.engine.boardoutline import Outline, workflow_outline
from specflow.engine.status import ChangeLike, HubLike
from specflow.engine.view import stranded
from specflow.errors import SpecflowError, StateError
from specflow.openspec.tasks import count_tasks
from specflow.structs import Struct, field

Lane = Literal["needs-you", "running", "open", "archived"]
Need = Literal["approval", "failed", "merge", "budget", "interrupted"]
ActionName = Literal["advance", "approve", "retry", "cancel", "merge"]

#: How long an archived change stays on the board.
ARCHIVED_DAYS = 14
ARCHIVED_MAX = 20
_GOAL = re.compile(r"^goal:\s*(.+?)\s*$", re.MULTILINE)


class BoardChange(ChangeLike, Protocol):
    """What a card reads of a change (``specflow.engine.change.Change`` is one): besides what
    ``status`` reads, whether its branches are in their bases."""

    def merged(self) -> dict[str, str | None]: ...


class BoardHub(HubLike, Protocol):
    """What the board reads of a hub (``specflow.engine.hub.Hub`` is one): its open and archived changes."""

    def changes(self) -> Sequence[BoardChange]: ...

    def archived_changes(self) -> Sequence[BoardChange]: ...


class Action(Struct, frozen=True):
    """What a person can do next with a change, as a button."""

    name: ActionName
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "label": self.label}


class Card(Struct, frozen=True):
    """One change on the board."""

    id: str
    goal: str
    workflow: str | None
    state: str | None
    status: str
    """ok, running, failed, interrupted, unmanaged or broken (as ``specflow status`` says)."""
    lane: Lane
    phase: str | None = None
    """The phase running now (or interrupted), if any."""
    needs: Need | None = None
    needs_reason: str = ""
    activity: str | None = None
    """The running agent's latest tool call or line of output."""
    tasks_done: int = 0
    tasks_total: int = 0
    cost_usd: float = 0.0
    budget_usd: float | None = None
    last_activity: str | None = None
    machine: str | None = None
    """Where the last phase attempt ran."""
    next_action: Action | None = None
    archived: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "goal": self.goal,
            "workflow": self.workflow,
            "state": self.state,
            "status": self.status,
            "lane": self.lane,
            "phase": self.phase,
            "needs": self.needs,
            "needs_reason": self.needs_reason,
            "activity": self.activity,
            "tasks": {"done": self.tasks_done, "total": self.tasks_total},
            "cost_usd": round(self.cost_usd, 6),
            "budget_usd": self.budget_usd,
            "last_activity": self.last_activity,
            "machine": self.machine,
            "next_action": self.next_action.to_dict() if self.next_action else None,
            "archived": self.archived,
        }


class Board(Struct, frozen=True):
    """Every card of a hub; ``lane(name)`` picks one lane."""

    hub: str
    cards: list[Card] = field(default_factory=list)

    def lane(self, name: Lane) -> list[Card]:
        return [c for c in self.cards if c.lane == name]

    def card(self, change_id: str) -> Card | None:
        return next((c for c in self.cards if c.id == change_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"hub": self.hub, "cards": [c.to_dict() for c in self.cards]}


def _goal(change_dir: Path) -> str:
    try:
        text = (change_dir / ".openspec.yaml").read_text(encoding="utf-8")
    except OSError:
        return ""
    m = _GOAL.search(text)
    if not m:
        return ""
    raw = m.group(1)
    try:
        value = json.loads(raw)
    except ValueError:
        return raw.strip("'\"")
    return value if isinstance(value, str) else raw


def _tasks(change_dir: Path) -> tuple[int, int]:
    try:
        total, done = count_tasks((change_dir / "tasks.md").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return 0, 0
    return done, total


# -- one card ------------------------------------------------------------------------------------


def _running(hub_root: Path, change_id: str) -> bool:
    holder = ChangeLock(hub_root, change_id).holder()
    return holder is not None and pid_alive(holder.pid)


def _approved(record: StateRecord, change_dir: Path) -> bool:
    approval, _ = current_approval(record, change_dir)
    return approval is not None


def _merged(change: BoardChange) -> bool:
    """True when every affected repo's branch is in its base (``merged()`` names what is not)."""
    try:
        pending = change.merged()
    except (SpecflowError, OSError):
        return False
    return all(reason is None for reason in pending.values())


def build_card(change: BoardChange, *, archived: bool = False) -> Card:
    """The card of one change."""
    try:
        record = read_state(change.dir)
    except StateError as exc:  # shown as broken: one bad change never hides the board
        return Card(
            workflow=None,
            state=None,
            status="broken",
            lane="open",
            needs_reason=exc.message,
            **_facts(change, archived),
        )
    base = _facts(change, archived)
    if record is None:
        return Card(workflow=None, state=None, status="unmanaged", lane="open", **base)
    state = str(record.get("state"))
    workflow = str(record.get("workflow") or change.hub.config.default_workflow)
    outline = workflow_outline(workflow, change.hub.root)
    base.update(workflow=workflow, state=state, budget_usd=outline.budget_usd)
    if archived or state in outline.finals:
        return Card(status="ok", lane="archived", **base)
    flight = record.get("in_flight")
    if flight:
        return _flight_card(change, flight, base)
    failure = record.get("last_failure")
    if failure:
        return _failure_card(failure, base)
    return _waiting_card(change, record, outline, base)


def _facts(change: BoardChange, archived: bool) -> dict[str, Any]:
    """What every card shows, whatever the change's state: goal, tasks, cost, last activity."""
    history = history_summary(change.dir)
    done, total = _tasks(change.dir)
    return {
        "id": change.id,
        "goal": _goal(change.dir),
        "tasks_done": done,
        "tasks_total": total,
        "cost_usd": history.cost_usd,
        "last_activity": history.last_time,
        "machine": history.machine,
        "archived": archived,
    }


def _flight_card(change: BoardChange, flight: InFlight, base: dict[str, Any]) -> Card:
    """A phase in flight: running now, or interrupted when its process is gone."""
    phase = str(flight.get("to"))
    hub_root = change.hub.root
    if _running(hub_root, change.id):
        event = current_activity(hub_root, change.id)
        return Card(
            status="running",
            lane="running",
            phase=phase,
            activity=event.message if event else None,
            next_action=Action("cancel", f"cancel {phase}"),
            **base,
        )
    return Card(
        status="interrupted",
        lane="needs-you",
        phase=phase,
        needs="interrupted",
        needs_reason=f"the {phase} run stopped before it finished (pid {flight.get('pid')})",
        next_action=Action("retry", f"retry {phase}"),
        **base,
    )


def _failure_card(failure: LastFailure, base: dict[str, Any]) -> Card:
    """The last attempt failed: retry it (a spent budget is its own need)."""
    reasons = [str(r) for r in failure.get("reasons") or []]
    phase = str(failure.get("phase"))
    return Card(
        status="failed",
        lane="needs-you",
        phase=phase,
        needs="budget" if any("budget" in r for r in reasons) else "failed",
        needs_reason="; ".join(reasons)[:500],
        next_action=Action("retry", f"retry {phase}"),
        **base,
    )


def _waiting_card(change: BoardChange, record: StateRecord, outline: Outline, base: dict[str, Any]) -> Card:
    """A change at rest: it needs a budget, an approval or a merge, or it can advance."""
    state = str(record.get("state"))
    steps = outline.advance.get(state, [])
    givens = [g for _, given in steps for g in given]
    cost = float(base["cost_usd"])
    if outline.budget_usd is not None and cost >= outline.budget_usd:
        reason = f"spent ${cost:.2f} of a ${outline.budget_usd:g} budget"
        return Card(status="ok", lane="needs-you", needs="budget", needs_reason=reason, **base)
    if any("approved" in g for g in givens) and not _approved(record, change.dir):
        reason = f"the {state} phase is done; the next phase needs a person's approval"
        action = Action("approve", "approve")
        return Card(status="ok", lane="needs-you", needs="approval", needs_reason=reason, next_action=action, **base)
    done, total = base["tasks_done"], base["tasks_total"]
    if any("merged" in g for g in givens) and total and done == total and not _merged(change):
        reason = "every task is done; the branches are ready to merge"
        action = Action("merge", "merge")
        return Card(status="ok", lane="needs-you", needs="merge", needs_reason=reason, next_action=action, **base)
    target = steps[0][0] if steps else None
    return Card(
        status="ok", lane="open", next_action=Action("advance", f"advance to {target}") if target else None, **base
    )


def _recently_archived(archived: Sequence[BoardChange], now: datetime) -> list[BoardChange]:
    """Of ``archived``, those archived in the last ``ARCHIVED_DAYS``, newest first."""
    cutoff = (now - timedelta(days=ARCHIVED_DAYS)).timestamp()
    found: list[tuple[float, BoardChange]] = []
    for change in archived:
        try:
            mtime = (change.dir / STATE_DIR / HISTORY_FILE).stat().st_mtime
        except OSError:
            continue
        if mtime >= cutoff:
            found.append((mtime, change))
    found.sort(key=lambda item: item[0], reverse=True)
    return [c for _, c in found[:ARCHIVED_MAX]]


_LANE_ORDER = {"needs-you": 0, "running": 1, "open": 2, "archived": 3}


def build_board(hub: BoardHub) -> Board:
    """Every open change and the recently archived ones, needs-you first, then by last activity."""
    archived = hub.archived_changes()  # on the base branch, or still on their own
    left = [c for c in archived if stranded(c)]  # a check after the archive failed: still open
    cards = [build_card(c) for c in [*hub.changes(), *left]]
    done = [c for c in archived if c not in left]
    cards += [build_card(c, archived=True) for c in _recently_archived(done, datetime.now(UTC))]
    cards.sort(key=lambda c: c.id)
    cards.sort(key=lambda c: c.last_activity or "", reverse=True)
    cards.sort(key=lambda c: _LANE_ORDER[c.lane])
    return Board(str(hub.root), cards)


__all__ = [
    "Action",
    "Board",
    "Card",
    "build_board",
    "build_card",
]
