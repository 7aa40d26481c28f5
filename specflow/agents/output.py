"""Bounded agent output: what an agent prints is held, logged and read up to a cap.

An agent may print without end (a loop, a dumped binary file, one line of a gigabyte).  specflow
holds the first ``OUTPUT_LIMIT`` bytes of an answer in memory, writes the first
``TRANSCRIPT_LIMIT`` bytes of each stream to its transcript file, reads lines at most
``LINE_LIMIT`` bytes at a time, and says each time how much it cut.  Memory stays bounded
whatever the agent does.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import queue

    from specflow.agents.exitwatch import ExitWatch

OUTPUT_LIMIT = 1 << 20
"""Bytes of an agent's answer (a ``command`` agent's stdout) held in memory: 1 MiB."""
TRANSCRIPT_LIMIT = 64 << 20
"""Bytes of one stream kept in its transcript file: 64 MiB."""
LINE_LIMIT = 1 << 20
"""Bytes of one line read whole: 1 MiB; the rest of a longer line is counted and dropped."""


def size_text(n: int) -> str:
    """A byte count for people: ``524,288,000 bytes (500.0 MiB)``."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n:,} bytes ({n / (1 << shift):.1f} {unit})"
    return f"{n:,} bytes"


class CappedLog:
    """A transcript file that takes bytes up to ``limit``, then counts what it drops.

    ``close`` writes a marker line saying how much was cut, so the file tells its reader it is
    not whole.
    """

    def __init__(self, fh: IO[bytes], limit: int = TRANSCRIPT_LIMIT) -> None:
        self._fh = fh
        self.limit = limit
        self.written = 0
        self.cut = 0

    def write(self, data: bytes) -> None:
        room = self.limit - self.written
        if room > 0:
            kept = data[:room]
            self._fh.write(kept)
            self._fh.flush()
            self.written += len(kept)
        self.cut += max(len(data) - max(room, 0), 0)

    def close(self) -> None:
        """Write the cut marker, if anything was cut; the file itself is the caller's to close."""
        if self.cut:
            self._fh.write(
                f"\n[specflow: transcript cut at {size_text(self.limit)};"
                f" {size_text(self.cut)} more not kept]\n".encode()
            )
            self._fh.flush()


class CappedText:
    """The head of a stream held in memory, up to ``limit`` bytes; the rest is counted, not kept."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self._chunks: list[bytes] = []
        self.held = 0
        self.cut = 0

    def add(self, data: bytes) -> None:
        room = self.limit - self.held
        if room > 0:
            kept = data[:room]
            self._chunks.append(kept)
            self.held += len(kept)
        self.cut += max(len(data) - max(room, 0), 0)

    def text(self) -> str:
        """What was held, decoded, and a marker line when the rest was cut."""
        text = b"".join(self._chunks).decode("utf-8", errors="replace")
        if self.cut:
            text += (
                f"\n[specflow: output cut at {size_text(self.limit)};"
                f" {size_text(self.cut)} more not kept in memory or in the record]\n"
            )
        return text


#: A line as ``read_lines`` gives it: its first bytes, and how many bytes of it were cut.
Line = tuple[bytes, int]
#: Bytes read from a stream at a time (at most the line limit).
_CHUNK = 1 << 16


class LineSplitter:
    """Bytes as they arrive, cut into the lines ``read_lines`` gives for the same bytes."""

    def __init__(self, limit: int = LINE_LIMIT) -> None:
        self.limit = limit
        self._head = bytearray()
        self._cut: int | None = None  # bytes dropped past ``limit`` of the line being read, if any

    def feed(self, data: bytes) -> list[Line]:
        """The lines ``data`` ends (a line's head, and how many bytes of it were cut)."""
        done: list[Line] = []
        start = 0
        while start < len(data):
            newline = data.find(b"\n", start)
            stop = len(data) if newline < 0 else newline + 1
            if self._cut is None:
                room = self.limit - len(self._head)
                self._head += data[start : min(stop, start + room)]
                if stop - start > room:
                    self._cut = stop - start - room
            else:
                self._cut += stop - start
            if newline >= 0:
                cut = self._cut - 1 if self._cut else 0  # the newline of a cut line is not counted
                done.append((bytes(self._head), cut))
                self._head.clear()
                self._cut = None
            start = stop
        return done

    def end(self) -> list[Line]:
        """The last line, when the stream ended without a newline after it."""
        if not self._head:
            return []
        line = (bytes(self._head), self._cut or 0)
        self._head.clear()
        self._cut = None
        return [line]


def read_lines(
    stream: IO[bytes], limit: int = LINE_LIMIT, sink: Callable[[bytes], None] | None = None
) -> Iterator[Line]:
    """Each line of ``stream``, at most ``limit`` bytes of it, and how many bytes of it were cut.

    A line longer than ``limit`` is never held whole: its head is yielded once its end has been
    read and dropped.  ``sink`` receives every byte read, in order (for the transcript), in
    pieces of at most ``limit`` bytes.  A line is yielded as soon as its end has arrived.
    """
    split = LineSplitter(limit)
    read = getattr(stream, "read1", stream.read)
    size = min(limit, _CHUNK)
    while data := read(size):
        if sink is not None:
            sink(data)
        yield from split.feed(data)
    yield from split.end()


def pump_lines(
    stream: IO[bytes], lines: queue.Queue[Line | None], stop: threading.Event, limit: int = LINE_LIMIT
) -> None:
    """Put each line of ``stream`` (bounded, see ``read_lines``) on ``lines``, then ``None``.

    ``lines`` should have a ``maxsize``: a reader slower than the agent then holds the agent
    back rather than letting the queue grow.  Once ``stop`` is set nothing more is put, so the
    thread ends even when nobody drains the queue any more.
    """
    put = _putter(lines, stop)
    try:
        for line in read_lines(stream, limit):
            if not put(line):
                return
    except (OSError, ValueError):
        pass
    put(None)


#: How long the pipe reader first waits for more before it looks again; it doubles while nothing
#: comes, up to ``_IDLE_MAX_MS``.  Once the watch is armed it asks every millisecond for the
#: first ``_ARMED_CHECKS`` times (an agent exits within tens of them), then backs off as well.
_IDLE_FIRST_MS = 1
_IDLE_MAX_MS = 64
_ARMED_CHECKS = 200


def pump_pipe(
    stream: IO[bytes],
    lines: queue.Queue[Line | None],
    stop: threading.Event,
    limit: int = LINE_LIMIT,
    watch: ExitWatch | None = None,
) -> None:
    """``pump_lines`` for a pipe, read as it fills (its buffered reader is never used): the stream
    ends at its EOF, or as soon as ``watch`` says its writer has begun to exit (asked while nothing
    arrives, once armed), after what is left in the pipe has been read."""
    fd = stream.fileno()
    split = LineSplitter(limit)
    put = _putter(lines, stop)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    wait_ms = _IDLE_FIRST_MS
    checks = 0
    try:
        while True:
            if not poller.poll(wait_ms):
                if watch is not None and watch.armed:
                    if watch.exited():
                        _drain(fd, split, put)  # no writer is left: what the pipe holds is all
                        break
                    checks += 1
                    if checks < _ARMED_CHECKS:
                        wait_ms = _IDLE_FIRST_MS
                        continue
                wait_ms = min(wait_ms * 2, _IDLE_MAX_MS)
                continue
            data = os.read(fd, _CHUNK)
            if not data:
                break
            if watch is not None:
                watch.identify()  # its writer, named while it runs (once)
            wait_ms = _IDLE_FIRST_MS
            for line in split.feed(data):
                if not put(line):
                    return
    except (OSError, ValueError):
        pass
    for line in split.end():
        if not put(line):
            return
    put(None)


def _drain(fd: int, split: LineSplitter, put: Callable[[Line | None], bool]) -> None:
    """Read what ``fd`` holds without waiting for more."""
    os.set_blocking(fd, False)
    with contextlib.suppress(BlockingIOError):
        while data := os.read(fd, _CHUNK):
            for line in split.feed(data):
                put(line)


def _putter(lines: queue.Queue[Line | None], stop: threading.Event) -> Callable[[Line | None], bool]:
    """Put on ``lines``, waiting while it is full; False once ``stop`` is set (nothing more is put)."""
    from queue import Full  # loaded already by whoever made ``lines``; a command agent never does

    def put(item: Line | None) -> bool:
        while not stop.is_set():
            with contextlib.suppress(Full):
                lines.put(item, timeout=0.2)
                return True
        return False

    return put


def tail_text(path: Path, limit: int = 800) -> str:
    """The last ``limit`` characters or so of a file, read from its end; ``""`` when unreadable."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(size - 4 * limit, 0))
            text = fh.read().decode("utf-8", errors="replace").strip()
    except OSError:
        return ""
    return text if len(text) <= limit and size <= 4 * limit else "…" + text[-limit:]


__all__ = [
    "LINE_LIMIT",
    "OUTPUT_LIMIT",
    "TRANSCRIPT_LIMIT",
    "CappedLog",
    "CappedText",
    "Line",
    "LineSplitter",
    "pump_lines",
    "pump_pipe",
    "read_lines",
    "size_text",
    "tail_text",
]
