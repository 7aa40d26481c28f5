"""A change's running totals: what its agents cost, per phase and in all, and its last event and
attempt, summed event by event as the history grows (``history`` keeps them beside it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict, cast

from specflow.changestate.recordtypes import ATTEMPTS


def _bucket() -> dict[str, Any]:
    return {"cost_usd": 0.0, "tokens": {}, "attempts": 0, "priced": 0, "duration_s": 0.0}


def _add_costs(sums: dict[str, Any], ev: Mapping[str, Any]) -> None:
    """Add one event's agent cost to unrounded sums (so adding event by event sums as a full pass)."""
    agent = ev.get("agent")
    if not isinstance(agent, dict):
        return
    bucket = sums["phases"].setdefault(str(ev.get("to") or "?"), _bucket())
    for acc in (bucket, sums["total"]):
        acc["attempts"] += 1
        # "priced": attempts whose agent reported a cost (a command agent reports none)
        acc["priced"] += isinstance(agent.get("cost_usd"), (int, float))
        acc["cost_usd"] += float(agent.get("cost_usd") or 0.0)
        acc["duration_s"] += float(agent.get("duration_s") or 0.0)
        for k, v in (agent.get("tokens") or {}).items():
            if isinstance(v, (int, float)):
                acc["tokens"][k] = acc["tokens"].get(k, 0) + int(v)


def _rounded(sums: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"phases": {k: dict(v) for k, v in sums["phases"].items()}, "total": dict(sums["total"])}
    for acc in (*out["phases"].values(), out["total"]):
        acc["tokens"] = dict(acc["tokens"])
        acc["cost_usd"] = round(acc["cost_usd"], 6)
        acc["duration_s"] = round(acc["duration_s"], 3)
    return out


class CostBucket(TypedDict):
    """What agents spent in one phase, or in all: dollars, tokens by kind, attempts, seconds."""

    cost_usd: float
    tokens: dict[str, int]
    attempts: int
    priced: int
    """Attempts whose agent reported a cost (a plain command agent reports none)."""
    duration_s: float


class CostSummary(TypedDict):
    """A change's costs: per phase, and in total."""

    phases: dict[str, CostBucket]
    total: CostBucket


def summarize_costs(events: Sequence[Mapping[str, Any]]) -> CostSummary:
    """Cost and tokens per phase and in total, summed over every recorded agent attempt."""
    sums: dict[str, Any] = {"phases": {}, "total": _bucket()}
    for ev in events:
        _add_costs(sums, ev)
    return cast(CostSummary, _rounded(sums))


class LastAttempt(TypedDict):
    """Where and when the last phase attempt ran, and how it ended (``status``, ``show``, the board)."""

    machine: str | None
    time: str | None
    phase: str | None
    outcome: str | None


class HistoryTotals(TypedDict):
    """What ``status`` shows of a history: its costs (as ``summarize_costs``) and its last event."""

    cost: CostSummary
    last: dict[str, Any] | None
    last_attempt: LastAttempt | None


#: The fields of the last event a summary keeps (what ``status`` shows of it).
_LAST_FIELDS = ("time", "trigger", "from", "to", "outcome")


def _last_fields(ev: Mapping[str, Any]) -> dict[str, Any]:
    return {k: ev.get(k) for k in _LAST_FIELDS}


def _attempt_fields(ev: Mapping[str, Any]) -> LastAttempt:
    return LastAttempt(machine=ev.get("machine"), time=ev.get("time"), phase=ev.get("to"), outcome=ev.get("outcome"))


def last_attempt(events: Sequence[Mapping[str, Any]]) -> LastAttempt | None:
    """The last phase attempt of ``events`` (succeeded, failed or interrupted), or None."""
    for ev in reversed(events):
        if ev.get("outcome") in ATTEMPTS:
            return _attempt_fields(ev)
    return None


def summary_of(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The running totals of ``events``, summed in one pass (when none were kept)."""
    sums: dict[str, Any] = {"phases": {}, "total": _bucket()}
    for ev in events:
        _add_costs(sums, ev)
    return {
        "events": len(events),
        "sums": sums,
        "last": _last_fields(events[-1]) if events else None,
        "last_attempt": last_attempt(events),
    }


def add_event(summary: dict[str, Any], event: Mapping[str, Any]) -> None:
    """Add the event just appended to the history to its running totals."""
    _add_costs(summary["sums"], event)
    summary["events"] += 1
    summary["last"] = _last_fields(event)
    if event.get("outcome") in ATTEMPTS:
        summary["last_attempt"] = _attempt_fields(event)


def well_formed(summary: Mapping[str, Any]) -> bool:
    """Whether kept totals have the shape ``add_event`` and ``totals_of`` work on."""
    if not isinstance(summary.get("sums"), dict) or not isinstance(summary.get("events"), int):
        return False
    return "last_attempt" in summary  # absent from totals kept before they carried it


def totals_of(summary: Mapping[str, Any]) -> HistoryTotals:
    """What ``status`` shows of running totals: the costs rounded as ``summarize_costs`` rounds them."""
    return HistoryTotals(
        cost=cast(CostSummary, _rounded(summary["sums"])), last=summary["last"], last_attempt=summary["last_attempt"]
    )
