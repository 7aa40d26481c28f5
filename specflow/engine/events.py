"""A change's event log: every progress event of its phases, as JSON lines, for whoever follows.

The engine writes each ``AgentEvent`` it reports (phase start, tool calls, text, refused writes,
results, steps) to the change's event log, whoever started the phase (a terminal, the dashboard,
a background run), so a watcher in another process can show it live
(``specflow.engine.eventreader`` follows it).

The log is bounded: past ``MAX_BYTES`` it is rotated to ``<id>.jsonl.1`` (one older generation is
kept), so a change with a long life never fills the disk.  Where logs live is decided in one
place, ``events_dir``.  This module uses only the standard library (``status`` starts fast).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from specflow.agents.base import AgentEvent, EventCallback
from specflow.changestate.recordfiles import atomic_write
from specflow.changestate.records import now_iso
from specflow.localdir import records_dir
from specflow.structs import Struct, field

#: A log larger than this is rotated before the next write.
MAX_BYTES = 4 * 1024 * 1024
#: Text longer than this in one event is clipped (the transcript has all of it).
MAX_MESSAGE = 4000
#: How often a follower looks for new lines.
POLL_S = 0.05


def events_dir(hub_root: Path) -> Path:
    """The folder of every change's event log and local run files: the one place that decides it."""
    return records_dir(hub_root) / "events"


def event_log_path(hub_root: Path, change_id: str) -> Path:
    """The event log of ``change_id``."""
    return events_dir(hub_root) / f"{change_id}.jsonl"


def prompt_path(hub_root: Path, change_id: str, sha256: str) -> Path:
    """Where the rendered prompt whose digest a history event records is kept."""
    return events_dir(hub_root) / "prompts" / change_id / f"{sha256}.md"


def save_prompt(hub_root: Path, change_id: str, sha256: str, text: str) -> None:
    """Keep a rendered prompt, named by its digest, for the dashboard's timeline (a copy: not synced)."""
    path = prompt_path(hub_root, change_id, sha256)
    if not path.is_file():  # named by its digest: one kept is this very text
        # nothing depends on it: the in-flight record's sync goes on meanwhile (``recordfiles.settle``)
        atomic_write(path, text, durable=False, ordered=False)


def read_prompt(hub_root: Path, change_id: str, sha256: str) -> str | None:
    """The rendered prompt with digest ``sha256``, or None when it was not kept."""
    if not sha256 or not all(c in "0123456789abcdef" for c in sha256):
        return None
    try:
        return prompt_path(hub_root, change_id, sha256).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None


class LoggedEvent(Struct, frozen=True):
    """One line of a change's event log."""

    change_id: str
    time: str
    kind: str
    message: str
    run: str
    """Which phase run wrote it: ``<pid>-<start>``, the same for every event of one ``advance``."""
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change_id,
            "time": self.time,
            "kind": self.kind,
            "message": self.message,
            "run": self.run,
            "data": dict(self.data),
        }


def _jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (paths and other objects as strings)."""
    return json.loads(json.dumps(value, default=str))


class EventLog:
    """Appends a change's events, one JSON line each, rotating the file when it grows too big."""

    def __init__(self, hub_root: Path, change_id: str) -> None:
        self.path = event_log_path(hub_root, change_id)
        self.change_id = change_id
        self.run = f"{os.getpid()}-{time.time_ns() // 1_000_000}"
        self._lock = threading.Lock()  # adapters report from reader threads

    def write(self, event: AgentEvent) -> None:
        message = event.message if len(event.message) <= MAX_MESSAGE else event.message[:MAX_MESSAGE] + "…"
        line = json.dumps(
            {
                "time": now_iso(),
                "kind": event.kind,
                "message": message,
                "run": self.run,
                "data": _jsonable(dict(event.data)),
            },
            sort_keys=True,
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                if self.path.stat().st_size > MAX_BYTES:
                    os.replace(self.path, self.path.with_name(self.path.name + ".1"))
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
            finally:
                os.close(fd)


def recording(hub_root: Path, change_id: str, on_event: EventCallback) -> EventCallback:
    """``on_event`` that also writes every event to the change's log.

    A log that cannot be written (a full disk, a read-only hub) never stops a phase: the event
    still reaches ``on_event``.
    """
    log = EventLog(hub_root, change_id)

    def both(event: AgentEvent) -> None:
        with contextlib.suppress(OSError):
            log.write(event)
        on_event(event)

    return both


__all__ = [
    "EventLog",
    "LoggedEvent",
    "event_log_path",
    "events_dir",
    "read_prompt",
    "recording",
    "save_prompt",
]
