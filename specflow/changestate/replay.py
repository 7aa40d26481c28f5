"""A change's state, recomputed from its history: what a merge of two clones' records ends in.

Two clones that both advanced a change merge its ``history.jsonl`` line by line (git's ``union``
driver) and mark its ``state.json`` for recomputing (``specflow.engine.statemerge``).  The state
is then replayed here from every event, in time order: the last state a phase, a revert or the
creation reached; the approvals given and voided; the last failure since the last success; a
discard not reopened since.  What no event records (the repos, an attempt in flight) comes from
this clone's own record.

Only the standard library: ``status`` reads states through this.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from specflow.changestate.recordtypes import Approval, HistoryEvent, StateRecord

#: Set by the merge driver on a merged ``state.json``: its reader recomputes it from the history.
RECOMPUTE_KEY = "recompute"

_MOVES = ("created", "adopted", "succeeded", "reverted")
_FAILS = ("failed", "interrupted")


def in_time_order(events: Sequence[HistoryEvent]) -> list[HistoryEvent]:
    """``events`` sorted by time, stable (a merged history lists one clone's events, then the other's)."""
    times = [str(ev.get("time") or "") for ev in events]
    if all(a <= b for a, b in pairwise(times)) or not all(times):  # no time, no order to restore
        return list(events)
    order = sorted(range(len(events)), key=lambda i: times[i])
    return [events[i] for i in order]


def ours_of_conflict(text: str) -> str:
    """The text of a file git left with conflict markers, as this clone's side had it."""
    kept: list[str] = []
    side = "both"
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<<"):
            side = "ours"
        elif line.startswith("|||||||") and side == "ours":
            side = "base"
        elif line.startswith("=======") and side in ("ours", "base"):
            side = "theirs"
        elif line.startswith(">>>>>>>") and side == "theirs":
            side = "both"
        elif side in ("both", "ours"):
            kept.append(line)
    return "".join(kept)


def has_conflict_markers(text: str) -> bool:
    return "\n<<<<<<< " in "\n" + text and "\n>>>>>>> " in text


def replay(events: Iterable[HistoryEvent], base: Mapping[str, Any]) -> StateRecord:
    """The state record ``events`` lead to; ``base`` (this clone's record) gives what no event says."""
    record: dict[str, Any] = {k: v for k, v in base.items() if k != RECOMPUTE_KEY}
    approvals: list[dict[str, Any]] = []
    ordered = in_time_order(list(events))
    for ev in ordered:
        outcome = ev.get("outcome")
        if outcome in ("created", "adopted"):
            record.setdefault("workflow", ev.get("workflow"))
            record.setdefault("created", ev.get("time"))
        if outcome in _MOVES and ev.get("to"):
            record["state"] = ev.get("to")
        if outcome == "succeeded":
            record["last_failure"] = None
        elif outcome in _FAILS:
            agent = ev.get("agent") or {}
            record["last_failure"] = {
                "phase": ev.get("to"),
                "reasons": list(ev.get("reasons") or []),
                "at": ev.get("time"),
                "session_id": agent.get("session_id"),
            }
        if outcome == "approved" and ev.get("approval"):
            approvals.append(dict(ev["approval"]))
        for voided in ev.get("approvals_voided") or []:
            _void(approvals, voided)
        if outcome == "discarded":
            record["discarded"] = ev.get("discarded")
        elif outcome == "reopened":
            record["discarded"] = None
    record["approvals"] = approvals
    record.setdefault("in_flight", None)
    record.setdefault("last_failure", None)
    if "state" not in record:
        record["state"] = "draft"
    return cast("StateRecord", record)


def _void(approvals: list[dict[str, Any]], voided: Approval) -> None:
    for approval in approvals:
        if approval.get("at") == voided.get("at") and approval.get("by") == voided.get("by"):
            approval["voided"] = voided.get("voided")
            approval["voided_at"] = voided.get("voided_at")
