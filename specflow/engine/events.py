"""A change's event log: every progress event of its phases, as JSON lines, for whoever follows.

The engine writes each ``AgentEvent`` it reports (phase start, tool calls, text, refused writes,
results, steps) to the change's event log, whoever started the phase (a terminal, the dashboard,
a background run), so a watcher in another process can show it live.  ``EventReader`` follows a
log from a position, as a tail, an iterator or an async iterator: it is the Python API for events.

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
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specflow.agents.base import AgentEvent, EventCallback
from specflow.engine.records import atomic_write, now_iso
from specflow.localdir import records_dir

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
        atomic_write(path, text, durable=False)


def read_prompt(hub_root: Path, change_id: str, sha256: str) -> str | None:
    """The rendered prompt with digest ``sha256``, or None when it was not kept."""
    if not sha256 or not all(c in "0123456789abcdef" for c in sha256):
        return None
    try:
        return prompt_path(hub_root, change_id, sha256).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None


@dataclass(frozen=True)
class LoggedEvent:
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


class EventReader:
    """Follows a change's event log from a position: ``read()`` what is new, or iterate.

    ``position`` is a byte offset into the current file; after a rotation the reader starts the
    new file from its beginning.  Lines not yet complete (a writer mid-line) wait for the next read.
    """

    def __init__(self, hub_root: Path, change_id: str, position: int = 0) -> None:
        self.path = event_log_path(hub_root, change_id)
        self.change_id = change_id
        self.position = position
        self._inode: int | None = None

    @classmethod
    def at_end(cls, hub_root: Path, change_id: str) -> EventReader:
        """A reader that sees only events written from now on."""
        reader = cls(hub_root, change_id)
        try:
            st = reader.path.stat()
        except FileNotFoundError:
            return reader
        reader.position, reader._inode = st.st_size, st.st_ino
        return reader

    def read(self) -> list[LoggedEvent]:
        """Every complete event written since the last read."""
        try:
            st = os.stat(self.path)
        except OSError:
            return []
        if st.st_ino == self._inode and st.st_size == self.position:
            return []  # nothing new: the common case of a follower, answered without opening the file
        try:
            fh = self.path.open("rb")
        except FileNotFoundError:
            return []
        with fh:
            st = os.fstat(fh.fileno())
            if (self._inode is not None and st.st_ino != self._inode) or st.st_size < self.position:
                self.position = 0  # rotated (or truncated): the new file from its start
            self._inode = st.st_ino
            if st.st_size == self.position:
                return []
            fh.seek(self.position)
            chunk = fh.read(st.st_size - self.position)
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.position += end + 1
        return [e for e in (self._parse(line) for line in chunk[: end + 1].splitlines()) if e is not None]

    def _parse(self, line: bytes) -> LoggedEvent | None:
        try:
            raw = json.loads(line)
        except ValueError:
            return None
        if not isinstance(raw, dict):
            return None
        data = raw.get("data")
        return LoggedEvent(
            self.change_id,
            str(raw.get("time", "")),
            str(raw.get("kind", "")),
            str(raw.get("message", "")),
            str(raw.get("run", "")),
            data if isinstance(data, dict) else {},
        )

    def tail(self, n: int) -> list[LoggedEvent]:
        """The last ``n`` events of the log (leaves the reader at the end)."""
        self.position, self._inode = 0, None
        return self.read()[-n:] if n > 0 else []

    def follow(
        self, *, stop: Callable[[], bool] = lambda: False, timeout: float | None = None
    ) -> Iterator[LoggedEvent]:
        """Every event from the position on, waiting for new ones until ``stop()`` or ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not stop():
            yield from self.read()
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(POLL_S)

    async def follow_async(
        self, *, stop: Callable[[], bool] = lambda: False, timeout: float | None = None
    ) -> AsyncIterator[LoggedEvent]:
        """``follow`` for async hosts: never blocks the event loop longer than one small read."""
        import asyncio  # ~15 ms, for async hosts only: the CLI's status path never needs it

        deadline = None if timeout is None else time.monotonic() + timeout
        while not stop():
            for event in self.read():
                yield event
            if deadline is not None and time.monotonic() >= deadline:
                return
            await asyncio.sleep(POLL_S)

    def __iter__(self) -> Iterator[LoggedEvent]:
        return self.follow()

    def __aiter__(self) -> AsyncIterator[LoggedEvent]:
        return self.follow_async()


__all__ = [
    "EventLog",
    "EventReader",
    "LoggedEvent",
    "event_log_path",
    "events_dir",
    "read_prompt",
    "recording",
    "save_prompt",
]
