"""A change's activity as the board shows it: what its history has cost and last recorded, and
what its agent is doing now.

Reading a long history is the costly part, so what a history yields (cost, last event, where the
last attempt ran) is kept per file and reused while the file is unchanged: a dashboard that
refreshes reads only what moved.  The current tool call comes from the tail of the change's event
log only.  Standard library only, so ``status --watch`` uses it too (through ``specflow.engine.board``).
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from specflow.changestate.recordtypes import HISTORY_FILE, STATE_DIR
from specflow.engine.events import LoggedEvent, event_log_path
from specflow.structs import Struct

#: Event kinds that say what a running agent is doing now.
ACTIVITY_KINDS = ("tool", "output", "refused", "text", "phase", "step")


# -- what a history says, read once per file version -------------------------------------------


class HistorySummary(Struct, frozen=True):
    """What a change's history yields: its agents' cost, its last event, where its last attempt ran."""

    cost_usd: float
    last_time: str | None
    last_outcome: str | None
    machine: str | None = None
    """Where the last phase attempt ran."""


class _Scanned(Struct, frozen=True):
    inode: int
    size: int
    mtime_ns: int
    cost_usd: float
    last_line: bytes
    attempt_line: bytes


_COST_KEY = b'"cost_usd":'
_NUMBER = re.compile(rb"\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)")
_scans: dict[str, _Scanned] = {}
_scan_lock = threading.Lock()


def _costs(chunk: bytes) -> float:
    """The sum of every agent cost recorded in ``chunk`` (whole history lines)."""
    total = 0.0
    pos = chunk.find(_COST_KEY)
    while pos >= 0:
        # inside a JSON string the key's quote would be escaped: that is an agent's text, not a cost
        if pos == 0 or chunk[pos - 1] != 0x5C:
            m = _NUMBER.match(chunk, pos + len(_COST_KEY))
            if m:
                total += float(m.group(1))
        pos = chunk.find(_COST_KEY, pos + len(_COST_KEY))
    return total


def history_summary(change_dir: Path) -> HistorySummary:
    """Cost and last event of a change's history.

    The history is append-only, so a file seen before is read from where the last scan stopped;
    a file replaced or rewritten (a checkout) is read again from its start.  Costs are picked out
    of the lines without parsing them: boards of hundreds of long histories stay fast.
    """
    path = change_dir / STATE_DIR / HISTORY_FILE
    try:
        st = path.stat()
    except OSError:
        return HistorySummary(0.0, None, None)
    with _scan_lock:
        seen = _scans.get(str(path))
    if seen is not None and (seen.inode, seen.size, seen.mtime_ns) == (st.st_ino, st.st_size, st.st_mtime_ns):
        scanned = seen
    else:
        grown = seen is not None and seen.inode == st.st_ino and st.st_size > seen.size
        offset = seen.size if grown and seen is not None else 0
        with path.open("rb") as fh:
            fh.seek(offset)
            chunk = fh.read(st.st_size - offset)
        end = chunk.rfind(b"\n") + 1  # a line still being written is read next time
        chunk = chunk[:end]
        cost = (seen.cost_usd if grown and seen is not None else 0.0) + _costs(chunk)
        lines = chunk.rstrip().rsplit(b"\n", 1)
        last = lines[-1] if lines[-1].strip() else (seen.last_line if grown and seen is not None else b"")
        attempt = _last_attempt_line(chunk) or (seen.attempt_line if grown and seen is not None else b"")
        scanned = _Scanned(st.st_ino, offset + end, st.st_mtime_ns, cost, last, attempt)
        with _scan_lock:
            _scans[str(path)] = scanned
    event = _json_object(scanned.last_line) or {}
    machine = (_json_object(scanned.attempt_line) or {}).get("machine")
    where = machine if isinstance(machine, str) else None
    return HistorySummary(round(scanned.cost_usd, 6), event.get("time"), event.get("outcome"), where)


_ATTEMPT_MARKS = (b'"outcome": "succeeded"', b'"outcome": "failed"', b'"outcome": "interrupted"')


def _last_attempt_line(chunk: bytes) -> bytes:
    """The last line of ``chunk`` that records a phase attempt (as ``json.dumps`` writes the outcome)."""
    end = len(chunk)
    while end > 0:
        start = chunk.rfind(b"\n", 0, end - 1) + 1
        line = chunk[start:end]
        if any(mark in line for mark in _ATTEMPT_MARKS):
            return line.strip()
        end = start
    return b""


def _json_object(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# -- what its agent is doing now ----------------------------------------------------------------


def current_activity(hub_root: Path, change_id: str, window: int = 16384) -> LoggedEvent | None:
    """The latest event of the change's log that says what its agent is doing (reads the tail only)."""
    path = event_log_path(hub_root, change_id)
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - window))
            chunk = fh.read()
    except OSError:
        return None
    for line in reversed(chunk.splitlines()):
        try:
            raw = json.loads(line)
        except ValueError:
            continue
        if isinstance(raw, dict) and raw.get("kind") in ACTIVITY_KINDS:
            data = raw.get("data")
            return LoggedEvent(
                change_id,
                str(raw.get("time", "")),
                str(raw["kind"]),
                str(raw.get("message", "")),
                str(raw.get("run", "")),
                data if isinstance(data, dict) else {},
            )
    return None


__all__ = [
    "HistorySummary",
    "current_activity",
    "history_summary",
]
