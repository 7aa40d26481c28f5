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

Reading the history, and the running totals kept beside it (``summary.json``, a cache), is
``specflow.changestate.history``'s; what the records hold and where they are, ``recordtypes``'.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any, cast

from specflow.changestate.history import advance_summary, history_stamp, read_history
from specflow.changestate.machine_id import recorded_machine
from specflow.changestate.recordfiles import atomic_write, settle, sync_later
from specflow.changestate.recordtypes import (
    HISTORY_FILE,
    STATE_DIR,
    STATE_FIELDS,
    STATE_FILE,
    STATE_VERSION,
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
from specflow.changestate.replay import RECOMPUTE_KEY, has_conflict_markers, ours_of_conflict, replay
from specflow.errors import StateError


def now_iso() -> str:
    """The current UTC time, ISO 8601 with microseconds and a ``Z`` (as ``datetime`` would write
    it: ``datetime`` costs a command ~1 ms to import)."""
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{micros:06d}Z"


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
    advance_summary(change_dir, json.loads(line), history_stamp(before) if size else None, history_stamp(after))
    return record


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
