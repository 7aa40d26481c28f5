"""The OS file lock: exclusive between processes and between lock objects, re-entrant on request,
released by the kernel when its holder dies."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from specflow.oslock import FileLock, LockTimeout

HOLD = """\
import sys, time
from specflow.oslock import FileLock
FileLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_lock_on_the_path_is_refused_until_the_first_is_released(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "x.lock"), FileLock(tmp_path / "x.lock")
    first.acquire()
    with pytest.raises(LockTimeout):
        second.acquire()
    first.release()
    second.acquire()
    second.release()


def test_a_waiting_lock_gets_it_when_the_holder_lets_go(tmp_path: Path) -> None:
    first = FileLock(tmp_path / "x.lock")
    first.acquire()
    threading.Timer(0.2, first.release).start()
    start = time.monotonic()
    FileLock(tmp_path / "x.lock").acquire(timeout=10)
    assert 0.15 < time.monotonic() - start < 5


def test_a_reentrant_lock_nests_in_one_thread_and_excludes_other_threads(tmp_path: Path) -> None:
    lock = FileLock(tmp_path / "x.lock", reentrant=True)
    lock.acquire()
    FileLock(tmp_path / "x.lock", reentrant=True).acquire()  # the same thread: taken again
    outcome: list[str] = []

    def other() -> None:
        try:
            FileLock(tmp_path / "x.lock", reentrant=True).acquire(timeout=0.1)
            outcome.append("taken")
        except LockTimeout:
            outcome.append("refused")

    worker = threading.Thread(target=other)
    worker.start()
    worker.join()
    assert outcome == ["refused"]
    lock.release()
    with pytest.raises(LockTimeout):  # one release of two: still held
        FileLock(tmp_path / "x.lock").acquire()
    lock.release()
    FileLock(tmp_path / "x.lock").acquire()


def test_the_kernel_releases_the_lock_of_a_killed_holder(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(LockTimeout):
            FileLock(path).acquire()
    finally:
        holder.kill()
        holder.wait()
    FileLock(path).acquire(timeout=5)
