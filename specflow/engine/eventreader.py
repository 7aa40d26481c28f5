"""Following a change's event log as it grows: ``EventReader``, the Python API for events.

It reads a log from a position, as a tail, an iterator or an async iterator (for async hosts:
dashboards, bots), apart from the writing side (``specflow.engine.events``) that every phase uses.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

from specflow.engine.events import POLL_S, LoggedEvent, event_log_path


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


__all__ = ["EventReader"]
