"""An OS file lock (``flock``): exclusive, released by the kernel when its holder dies.

The ``filelock`` package did this job, but importing it costs about 10 ms (``inspect``,
``decimal``, ``logging``, ``secrets``) on every ``advance``; specflow runs on POSIX only and needs
exactly one call.  Each lock is its own open file, so two locks on one path exclude each other
even in one process; ``reentrant=True`` lets the thread that holds a path take it again.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path

# (path, thread) -> [descriptor, depth] of the re-entrant locks held
_HELD: dict[tuple[str, int], list[int]] = {}


class LockTimeout(Exception):
    """The lock stayed held by another for the whole wait."""


class FileLock:
    """``acquire(timeout)`` / ``release()`` on ``path`` (created if missing); ``timeout=0`` tries once."""

    def __init__(self, path: Path | str, *, reentrant: bool = False) -> None:
        self.path = str(path)
        self.reentrant = reentrant
        self._fd: int | None = None

    def _key(self) -> tuple[str, int]:
        return self.path, threading.get_ident()

    def acquire(self, timeout: float = 0) -> None:
        if self.reentrant and (held := _HELD.get(self._key())) is not None:
            held[1] += 1
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        pause = 0.001
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockTimeout(self.path) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        if self.reentrant:
            _HELD[self._key()] = [fd, 1]
        else:
            self._fd = fd

    def release(self) -> None:
        if self.reentrant:
            held = _HELD.get(self._key())
            if held is None:
                return
            held[1] -= 1
            if held[1]:
                return
            del _HELD[self._key()]
            fd: int | None = held[0]
        else:
            fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
