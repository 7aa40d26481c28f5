"""The per-change lock: one ``advance`` (or revert, merge) at a time per change.

The mutual exclusion is an OS file lock (``specflow.oslock``), released by the kernel if the holder
dies; beside it a small JSON record says who holds it (pid, host, since when) so a second caller
is told exactly who is in the way.  A record left by a dead process on this host is taken over
and reported.  Locks live under the hub's git-ignored ``.specflow/locks/``, never in the change.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from specflow.engine.records import now_iso
from specflow.errors import LockedError
from specflow.localdir import ensure
from specflow.oslock import FileLock, LockTimeout

LOCK_DIR = Path(".specflow") / "locks"


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lock."""

    pid: int
    host: str
    since: str
    command: str = ""

    def describe(self) -> str:
        what = f" ({self.command})" if self.command else ""
        return f"pid {self.pid} on {self.host} since {self.since}{what}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ChangeLock:
    """Exclusive lock on one change.  Use as a context manager; ``taken_over`` reports a stale holder."""

    def __init__(self, hub_root: Path, change_id: str, command: str = "advance") -> None:
        self.dir = hub_root / LOCK_DIR
        self.path = self.dir / f"{change_id}.lock"
        self.info_path = self.dir / f"{change_id}.json"
        self.change_id = change_id
        self.command = command
        self.taken_over: Holder | None = None
        self._lock: FileLock | None = None

    def holder(self) -> Holder | None:
        """The recorded holder, if any (it may be dead)."""
        try:
            data = json.loads(self.info_path.read_text(encoding="utf-8"))
            return Holder(int(data["pid"]), str(data["host"]), str(data["since"]), str(data.get("command", "")))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def _live_holder(self, wait_s: float = 1.0) -> Holder | None:
        """Who holds the lock now.  The holder writes its record just after taking the lock, so
        a missing record, or one left by a dead process, is read again for a moment."""
        here = socket.gethostname()
        deadline = time.monotonic() + wait_s
        while True:
            holder = self.holder()
            if holder is not None and (holder.host != here or pid_alive(holder.pid)):
                return holder
            if time.monotonic() >= deadline:
                return holder
            time.sleep(0.02)

    def acquire(self) -> ChangeLock:
        ensure(self.dir.parent.parent)
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path)
        try:
            lock.acquire()
        except LockTimeout:
            holder = self._live_holder()
            who = holder.describe() if holder else "another process"
            raise LockedError(
                f"change '{self.change_id}' is locked by {who}",
                fix="wait for it to finish, or stop that process; a lock held by a dead process"
                " is taken over automatically",
            ) from None
        previous = self.holder()
        here = socket.gethostname()
        mine = previous is not None and previous.pid == os.getpid() and previous.host == here
        if previous is not None and not mine and (previous.host != here or not pid_alive(previous.pid)):
            self.taken_over = previous
        self._lock = lock
        record = {"pid": os.getpid(), "host": socket.gethostname(), "since": now_iso(), "command": self.command}
        self.info_path.write_text(json.dumps(record), encoding="utf-8")
        return self

    def release(self) -> None:
        if self._lock is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.info_path.unlink()
        self._lock.release()
        self._lock = None

    def __enter__(self) -> ChangeLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
