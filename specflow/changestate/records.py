"""A change's persisted state: ``.specflow/state.json`` and the append-only ``history.jsonl``.

State lives with the change (``openspec/changes/<id>/.specflow/``), so it is committed with it,
archived with it and travels between machines with git.  ``state.json`` is replaced atomically
(temporary file, fsync, rename); history is appended one JSON line per event and never rewritten.
An attempt pays for durability twice: when it starts (the in-flight record recovery reads) and
when it ends (state and history); what it notes in between is renamed into place without fsync,
which survives a crash of specflow, if not of the machine.  The syncs an attempt waits for run in
a thread while it goes on (``settle``): the in-flight record is written, synced and renamed into
place while the checkpoint is taken, and is on disk before the agent is let go; the end's history
sync runs while the records are committed, and is done before the attempt returns.
This module uses only the standard library so ``specflow list`` and ``status`` start fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from specflow.changestate import totals
from specflow.changestate.machine_id import recorded_machine
from specflow.changestate.recordfiles import atomic_write, settle, sync_later
from specflow.changestate.recordtypes import (
    EVENT_FIELDS,
    STATE_FIELDS,
    Approval,
    Discarded,
    HistoryEvent,
    InFlight,
    LastFailure,
    Outcome,
    Rejection,
    StateRecord,
    json_type,
    line_of,
)
from specflow.changestate.replay import RECOMPUTE_KEY, has_conflict_markers, in_time_order, ours_of_conflict, replay
from specflow.changestate.totals import HistoryTotals
from specflow.errors import StateError

STATE_DIR = ".specflow"
STATE_FILE = "state.json"
HISTORY_FILE = "history.jsonl"
#: Running totals of the history (costs, last event), kept by ``append_event`` so ``status`` reads
#: one small file instead of parsing every event; valid only for the history it was written with.
SUMMARY_FILE = "summary.json"
STATE_VERSION = 1


def now_iso() -> str:
    """The current UTC time, ISO 8601 with microseconds and a ``Z`` (as ``datetime`` would write
    it: ``datetime`` costs a command ~1 ms to import)."""
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"


def state_dir(change_dir: Path) -> Path:
    return change_dir / STATE_DIR


def read_state(change_dir: Path) -> StateRecord | None:
    """The change's state record, or None for a change specflow does not manage."""
    settle()
    path = os.path.join(change_dir, STATE_DIR, STATE_FILE)  # status reads hundreds: no Path objects
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise StateError(
            f"{path}: corrupted state file: not UTF-8 text ({exc.reason} at byte {exc.start})",
            fix="restore it from git (git checkout -- <file>)",
        ) from None
    if f'"{RECOMPUTE_KEY}": true' in text or has_conflict_markers(text):
        return _recomputed(change_dir, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"{path}:{exc.lineno}: corrupted state file: {exc.msg}",
            fix="restore it from git (git checkout -- <file>) or from the last history event;"
            " 'specflow history <id>' shows the last recorded state",
        ) from None
    if not isinstance(data, dict):
        raise StateError(
            f"{path}:1: corrupted state file: found {json_type(data)}, expected an object",
            fix="restore it from git (git checkout -- <file>); 'specflow history <id>' shows the last recorded state",
        )
    for key, expected, check in STATE_FIELDS:
        if key in data and not check(data[key]):
            raise StateError(
                f"{path}:{line_of(text, key)}: corrupted state file: '{key}' is {json_type(data[key])},"
                f" expected {expected}",
                fix=f"correct '{key}' or restore the file from git (git checkout -- <file>);"
                " 'specflow history <id>' shows the last recorded state",
            )
    if "state" not in data:
        raise StateError(
            f"{path}:1: corrupted state file: no 'state', expected an object with a string 'state'",
            fix="restore it from git (git checkout -- <file>); 'specflow history <id>' shows the last recorded state",
        )
    return cast(StateRecord, data)


def _recomputed(change_dir: Path, text: str) -> StateRecord:
    """The state of a change whose records two clones merged, replayed from the merged history.

    It is written back (when it can be), so the next reader finds a plain record.
    """
    try:
        ours = json.loads(ours_of_conflict(text))
    except json.JSONDecodeError:
        ours = {}
    record = replay(read_history(change_dir), ours if isinstance(ours, dict) else {})
    with contextlib.suppress(OSError):
        write_state(change_dir, record)
    return record


def write_state(change_dir: Path, data: StateRecord, *, durable: bool = True, later: bool = False) -> None:
    """Atomically write the change's state record (``durable``: synced to disk; ``later``: in a
    thread, see ``atomic_write``)."""
    record: dict[str, Any] = dict(data)
    record.setdefault("version", STATE_VERSION)
    record["updated"] = now_iso()
    atomic_write(
        change_dir / STATE_DIR / STATE_FILE,
        json.dumps(record, indent=2, sort_keys=True) + "\n",
        durable=durable,
        later=later,
    )


def append_event(change_dir: Path, event: HistoryEvent, *, later: bool = False) -> HistoryEvent:
    """Append one event to the change's history (adds ``time`` and ``machine`` if missing) and return it.

    Synced to disk before returning; ``later``: in a thread (``settle`` waits for it).
    """
    settle()
    record = cast(HistoryEvent, {"time": now_iso(), "machine": recorded_machine(), **event})
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    path = change_dir / STATE_DIR / HISTORY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        before = os.fstat(fd)
        size = before.st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line  # a torn last line (a crash mid-write) must not swallow this event
        os.write(fd, line.encode("utf-8"))
        after = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise

    def sync() -> None:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    if later:
        sync_later(sync)
    else:
        sync()
    _advance_summary(change_dir, json.loads(line), _stamp(before) if size else None, _stamp(after))
    return record


def _advance_summary(change_dir: Path, event: Mapping[str, Any], before: list[int] | None, after: list[int]) -> None:
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


def _stamp(st: os.stat_result) -> list[int]:
    """What identifies one version of the history file: a hand edit, a checkout or a merge changes it."""
    return [st.st_ino, st.st_size, st.st_mtime_ns]


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
    stamp = _stamp(st)
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


def snapshot_records(change_dir: Path) -> dict[Path, bytes | None]:
    """The bytes of the change's state and history, to put back if an agent touches them."""
    settle()
    out: dict[Path, bytes | None] = {}
    for name in (STATE_FILE, HISTORY_FILE):
        p = change_dir / STATE_DIR / name
        out[p] = p.read_bytes() if p.is_file() else None
    return out


def restore_records(change_dir: Path, before: dict[Path, bytes | None]) -> list[dict[str, Any]]:
    """Put specflow's records back as they were; one violation per file the agent changed."""
    settle()
    violations = []
    for p, data in before.items():
        now = p.read_bytes() if p.is_file() else None
        if now == data:
            continue
        if data is None:
            p.unlink(missing_ok=True)
        else:
            atomic_write(p, data.decode("utf-8"))
        violations.append(
            {
                "workspace": "hub",
                "path": str(p),
                "kind": "modified" if data is not None else "added",
                "detail": "specflow's own record; agents may never write it",
            }
        )
    return violations


# -- the writers: every change to a change's records goes through one of these -------------


def create(change_dir: Path, *, workflow: str, state: str, repos: list[str], event: HistoryEvent) -> StateRecord:
    """Start a change's records: its state, and the history event saying how it came to be."""
    record = StateRecord(
        workflow=workflow, state=state, created=now_iso(), repos=repos, approvals=[], in_flight=None, last_failure=None
    )
    write_state(change_dir, record)
    append_event(change_dir, event)
    return record


def mark_in_flight(change_dir: Path, record: StateRecord, flight: InFlight) -> None:
    """Say what is running now, durably: written when an attempt starts, before anything else.

    Synced and renamed into place in a thread meanwhile (until then, a crash leaves the record
    as it was: nothing has run yet); ``settle`` before the agent is let go.
    """
    record["in_flight"] = flight
    write_state(change_dir, record, later=True)


def note_in_flight(change_dir: Path, record: StateRecord, flight: InFlight) -> None:
    """Update what is running (its checkpoint, the agent's process tree) without syncing to disk:
    recovery after specflow is killed reads it; after a power cut the start's record is enough."""
    record["in_flight"] = flight
    write_state(change_dir, record, durable=False)


def end_attempt(
    change_dir: Path,
    record: StateRecord,
    event: HistoryEvent,
    outcome: Outcome,
    reasons: list[str],
    *,
    new_state: str | None,
) -> HistoryEvent:
    """Close an attempt: the state moves to ``new_state`` on success, the failure is kept otherwise."""
    record["in_flight"] = None
    if new_state is not None:
        record["state"] = new_state
        record["last_failure"] = None
    else:
        agent = event.get("agent") or {}
        record["last_failure"] = LastFailure(
            phase=event.get("to"), reasons=reasons, at=now_iso(), session_id=agent.get("session_id")
        )
    write_state(change_dir, record)
    event["outcome"] = outcome
    event["reasons"] = reasons
    return append_event(change_dir, event, later=True)


def void_approvals(record: StateRecord, event: HistoryEvent, reason: str) -> list[Approval]:
    """Mark every standing approval as voided and name them in ``event``.

    Kept in memory: the writer that records the transition (``end_attempt``, ``record_revert``)
    writes the state and the event together.
    """
    voided: list[Approval] = []
    at = now_iso()
    for approval in record.get("approvals") or []:
        if "voided" not in approval:
            approval["voided"], approval["voided_at"] = reason, at
            voided.append(approval)
    if voided:
        event["approvals_voided"] = voided
    return voided


def record_blocked(change_dir: Path, event: HistoryEvent) -> HistoryEvent:
    """A ``given`` step did not hold: nothing ran, the state stays."""
    event["outcome"] = "blocked"
    return append_event(change_dir, event)


def record_interrupted(change_dir: Path, record: StateRecord, event: HistoryEvent, reason: str) -> HistoryEvent:
    """An attempt was killed mid-phase: recorded as interrupted, its failure kept for the next prompt."""
    flight = record.get("in_flight") or InFlight()
    event["outcome"] = "interrupted"
    event["reasons"] = [reason]
    appended = append_event(change_dir, event)
    record["in_flight"] = None
    record["last_failure"] = LastFailure(
        phase=flight.get("to"), reasons=[reason], at=now_iso(), session_id=flight.get("session_id")
    )
    write_state(change_dir, record)
    return appended


def record_approval(change_dir: Path, record: StateRecord, approval: Approval) -> HistoryEvent:
    """A person approved the change as it is now."""
    record.setdefault("approvals", []).append(approval)
    write_state(change_dir, record)
    event = HistoryEvent(trigger="approve", outcome="approved", approval=approval)
    event["from"] = event["to"] = record["state"]
    return append_event(change_dir, event)


def record_rejection(change_dir: Path, record: StateRecord, *, by: str, note: str | None) -> HistoryEvent:
    """A person rejected the change as it is (the ``reject`` transition itself follows)."""
    event = HistoryEvent(trigger="reject", outcome="rejected", rejection=Rejection(by=by, note=note))
    event["from"] = event["to"] = record["state"]
    return append_event(change_dir, event)


def record_revert(change_dir: Path, record: StateRecord, state: str, event: HistoryEvent) -> HistoryEvent:
    """The change's workspaces went back to a checkpoint; so does its state."""
    event["from"], event["to"] = record["state"], state
    event["trigger"], event["outcome"] = "revert", "reverted"
    record["state"] = state
    write_state(change_dir, record)
    return append_event(change_dir, event)


def record_discard(change_dir: Path, record: StateRecord, discarded: Discarded, event: HistoryEvent) -> HistoryEvent:
    """The change was given up (``change_dir`` is where its folder went): why, and what was removed."""
    record["discarded"] = discarded
    record["in_flight"] = None
    write_state(change_dir, record)
    event["from"] = event["to"] = record["state"]
    event["trigger"], event["outcome"], event["discarded"] = "discard", "discarded", discarded
    return append_event(change_dir, event)


def record_reopened(change_dir: Path, record: StateRecord) -> HistoryEvent:
    """A discarded change is open again, in the state it was discarded in."""
    record["discarded"] = None
    write_state(change_dir, record)
    event = HistoryEvent(trigger="discard --restore", outcome="reopened")
    event["from"] = event["to"] = record["state"]
    return append_event(change_dir, event)


def record_restore(change_dir: Path, record: StateRecord, event: HistoryEvent) -> HistoryEvent:
    """Work an audit had saved was put back into the change's workspaces; the state stays."""
    event["from"] = event["to"] = record["state"]
    event["trigger"], event["outcome"] = "restore", "restored"
    return append_event(change_dir, event)


def set_repos(change_dir: Path, record: StateRecord, repos: list[str]) -> None:
    """The repos the change affects (its worktrees are made for these)."""
    record["repos"] = repos
    write_state(change_dir, record)


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
