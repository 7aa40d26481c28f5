"""The per-change lock: one ``advance`` (or revert, merge) at a time per change.

The mutual exclusion is an OS file lock (``flock``), released by the kernel if the holder dies;
beside it a small JSON record says who holds it (pid, host, since when) so a second caller is told
exactly who is in the way.  A record left by a dead process on this host is taken over and
reported.  Locks live in the hub's records folder (``specflow.localdir.records_dir``, inside git's
folder, where no sandboxed agent can write), never in the change.

A lock file unlinked while held would let a second run lock a new file of the same name, so the
lock holds on the name as well: after locking, the path must still name the locked file (else it
is locked again), and on Linux the holder also binds an abstract socket named after the lock
path, which exists only while the holder lives and which no file operation can remove.
"""

from __future__ import annotations

import _socket  # the C module under ``socket``, for one abstract socket (see ``_bind_name``)
import contextlib
import errno
import fcntl
import json
import os
import sys
import time
from pathlib import Path
from types import TracebackType

from specflow import digests
from specflow.changestate.machine_id import host_name
from specflow.changestate.records import now_iso
from specflow.errors import LockedError
from specflow.localdir import records_dir
from specflow.structs import Struct

LOCK_DIR = "locks"
#: How often a lock file replaced under the holder's feet is locked again before giving up.
_RELOCK_TRIES = 20


def lock_dir(hub_root: Path) -> Path:
    """The folder of the hub's lock files and holder records."""
    return records_dir(hub_root) / LOCK_DIR


class Holder(Struct, frozen=True):
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


def active_since(hub_root: Path, since: float) -> set[str]:
    """The changes whose lock is held now, or was let go at ``since`` (epoch seconds) or later.

    Their engines may have moved their own branches meanwhile (made a worktree, committed the
    agent's work, merged, discarded): another change's audit leaves those branches alone.
    """
    folder = lock_dir(hub_root)
    active: set[str] = set()
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return active
    here = host_name()
    for entry in entries:
        change_id, _, kind = entry.name.rpartition(".")
        if kind == "released":
            try:
                if float(Path(entry.path).read_text(encoding="utf-8")) >= since:
                    active.add(change_id)
            except (OSError, ValueError):
                continue
        elif kind == "json":
            holder = ChangeLock(hub_root, change_id).holder()
            if holder is not None and (holder.host != here or pid_alive(holder.pid)):
                active.add(change_id)
    return active


class ChangeLock:
    """Exclusive lock on one change.  Use as a context manager; ``taken_over`` reports a stale holder."""

    def __init__(self, hub_root: Path, change_id: str, command: str = "advance") -> None:
        self.dir = lock_dir(hub_root)
        self.path = self.dir / f"{change_id}.lock"
        self.info_path = self.dir / f"{change_id}.json"
        self.released_path = self.dir / f"{change_id}.released"
        self.change_id = change_id
        self.command = command
        self.taken_over: Holder | None = None
        self._fd: int | None = None
        self._name: _socket.socket | None = None

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
        here = host_name()
        deadline = time.monotonic() + wait_s
        while True:
            holder = self.holder()
            if holder is not None and (holder.host != here or pid_alive(holder.pid)):
                return holder
            if time.monotonic() >= deadline:
                return holder
            time.sleep(0.02)

    def acquire(self) -> ChangeLock:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = self._lock_file()
        name = self._bind_name() if fd is not None else None
        if fd is None or name is None:
            if fd is not None:
                os.close(fd)
            holder = self._live_holder()
            who = holder.describe() if holder else "another process"
            raise LockedError(
                f"change '{self.change_id}' is locked by {who}",
                fix="wait for it to finish, or stop that process; a lock held by a dead process"
                " is taken over automatically",
            )
        previous = self.holder()
        here = host_name()
        mine = previous is not None and previous.pid == os.getpid() and previous.host == here
        if previous is not None and not mine and (previous.host != here or not pid_alive(previous.pid)):
            self.taken_over = previous
        self._fd, self._name = fd, (name if isinstance(name, _socket.socket) else None)
        record = {"pid": os.getpid(), "host": host_name(), "since": now_iso(), "command": self.command}
        self.info_path.write_text(json.dumps(record), encoding="utf-8")
        return self

    def _lock_file(self) -> int | None:
        """An fd holding ``flock`` on the file ``self.path`` names now; None when another holds it."""
        for _ in range(_RELOCK_TRIES):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    return None
                raise
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)  # unlinked or replaced between open and lock: lock what the name holds now
        raise LockedError(
            f"the lock file {self.path} kept being replaced while change '{self.change_id}' was locked",
            fix="stop whatever is deleting files in that folder, then try again",
        )

    def _bind_name(self) -> _socket.socket | bool | None:
        """On Linux, the abstract socket that holds the lock's name (None: another holder has it).

        Elsewhere (no abstract sockets) True: the records folder, out of every agent's reach,
        keeps the file in place.  The socket is ``_socket``'s own: ``socket`` adds nothing a bind
        needs, and importing it builds enums of every socket constant (~1.5 ms of each command).
        """
        if not sys.platform.startswith("linux"):
            return True
        digest = digests.sha256(os.path.realpath(self.path).encode()).hexdigest()[:48]
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.bind(f"\0specflow-lock-{digest}")
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                return None
            raise
        return sock

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.info_path.unlink()
        with contextlib.suppress(OSError):
            self.released_path.write_text(str(time.time()), encoding="utf-8")
        if self._name is not None:
            self._name.close()
            self._name = None
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> ChangeLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
