"""A change's history as read: the events of ``history.jsonl``, checked, oldest first; the running
totals kept beside it in ``summary.json``; and the agent session an attempt may resume.

The summary is a cache of the history's totals (costs, last event), stamped with the version of
the history it was computed from and never trusted for another, so ``status`` reads one small
file instead of every event.  ``records.append_event``, the history's one writer, has it
advanced here by each event it appends; a reading that finds it stale computes it in full and
keeps it.  Only the standard library: ``status`` reads every change through this.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from specflow.changestate import totals
from specflow.changestate.recordfiles import atomic_write
from specflow.changestate.recordtypes import (
    EVENT_FIELDS,
    HISTORY_FILE,
    STATE_DIR,
    STATE_VERSION,
    SUMMARY_FILE,
    HistoryEvent,
    json_type,
)
from specflow.changestate.replay import in_time_order
from specflow.changestate.totals import HistoryTotals
from specflow.errors import StateError


def read_history(change_dir: Path) -> list[HistoryEvent]:
    """Every history event, oldest first.

    A line that is not JSON (a write torn by a crash) is skipped rather than fatal: one bad line
    must not lock a person out of a change's history or of ``specflow status``.  A line that is
    JSON of the wrong shape was written by someone else than specflow: it is refused, naming
    its line, since nothing built on it could be trusted.
    """
    path = change_dir / STATE_DIR / HISTORY_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    events: list[HistoryEvent] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        events.append(_checked_event(path, number, event))
    return in_time_order(events)


def _checked_event(path: Path, number: int, event: Any) -> HistoryEvent:
    """``event`` as a history event, or a ``StateError`` naming ``path:number`` and what is wrong."""
    fix = f"correct or delete line {number} of {path} (one JSON object per line, as specflow writes them)"
    if not isinstance(event, dict):
        raise StateError(f"{path}:{number}: corrupted history: found {json_type(event)}, expected an object", fix=fix)
    for key, expected, check in EVENT_FIELDS:
        if key in event and not check(event[key]):
            raise StateError(
                f"{path}:{number}: corrupted history: '{key}' is {json_type(event[key])}, expected {expected}",
                fix=fix,
            )
    return cast(HistoryEvent, event)


def history_stamp(st: os.stat_result) -> list[int]:
    """What identifies one version of the history file: a hand edit, a checkout or a merge changes it."""
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def advance_summary(change_dir: Path, event: Mapping[str, Any], before: list[int] | None, after: list[int]) -> None:
    """Add the event just appended to the running totals (computed in full when none were current)."""
    if before is None:  # the history's first event
        kept: dict[str, Any] | None = {"version": STATE_VERSION, **totals.summary_of([])}
    else:
        kept = _read_summary(change_dir, before)
    if kept is None:
        summary = _full_summary(change_dir)
    else:
        summary = kept
        totals.add_event(summary, event)
    summary["history"] = after
    _write_summary(change_dir, summary)


def _read_summary(change_dir: Path, stamp: list[int]) -> dict[str, Any] | None:
    """The summary kept for the history whose stamp is ``stamp``, or None (absent, stale, damaged)."""
    try:
        with open(os.path.join(change_dir, STATE_DIR, SUMMARY_FILE), "rb") as fh:
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION or data.get("history") != stamp:
        return None
    return data if totals.well_formed(data) else None


def _full_summary(change_dir: Path) -> dict[str, Any]:
    """A summary computed from every event of the history (when no valid one is kept)."""
    return {"version": STATE_VERSION, **totals.summary_of(read_history(change_dir))}


def _write_summary(change_dir: Path, summary: dict[str, Any]) -> None:
    """Replace the summary without fsync: it is a cache, checked against the history before use."""
    # key order kept: status prints the totals in it
    atomic_write(change_dir / STATE_DIR / SUMMARY_FILE, json.dumps(summary) + "\n", durable=False, ordered=False)


def history_totals(change_dir: Path) -> HistoryTotals:
    """Costs and last event of the change's history, read from its summary while that is current.

    A history the summary was not written with (edited by hand, checked out, merged) is parsed in
    full, as it always was: the summary never changes what is shown, only how fast.
    """
    try:
        st = os.stat(os.path.join(change_dir, STATE_DIR, HISTORY_FILE))
    except FileNotFoundError:
        return totals.totals_of(totals.summary_of([]))  # no history yet
    stamp = history_stamp(st)
    summary = _read_summary(change_dir, stamp)
    if summary is None:
        summary = _full_summary(change_dir)
        _keep_summary(change_dir, summary, stamp)
    return totals.totals_of(summary)


def _keep_summary(change_dir: Path, summary: dict[str, Any], stamp: list[int]) -> None:
    """Keep a summary just computed in full, as ``git status`` refreshes the index it reads, so the
    next reading of an unchanged history is cheap.  Stamped with the history as stat saw it before
    the reading: a history appended to meanwhile has another stamp, so that summary is never used.
    Best effort: a read-only folder only means the next reading parses the history again."""
    with contextlib.suppress(OSError):
        _write_summary(change_dir, {**summary, "history": stamp})


def session_to_resume(history: list[HistoryEvent], phase: str, agent_name: str) -> str | None:
    """The agent session of the last failed or interrupted attempt at ``phase``, to continue it.

    None after a success, after an attempt by another agent, or when that attempt had no session.
    """
    for ev in reversed(history):
        if ev.get("to") != phase or ev.get("trigger") in ("approve", "new", "adopt", "discard", "restore"):
            continue
        outcome = ev.get("outcome")
        if outcome == "succeeded":
            return None
        if outcome in ("failed", "interrupted"):
            agent = ev.get("agent") or {}
            if agent.get("session_id") and agent.get("name") == agent_name:
                return str(agent["session_id"])
            return None
    return None
