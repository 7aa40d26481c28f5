"""Waiting for killed processes: a zombie has ended, whoever reaps it."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from specflow.agents.proctree import wait_gone

# a parent that keeps its exited child unreaped (a zombie that is not ours to reap)
KEEPS_A_ZOMBIE = """\
import os, time
pid = os.fork()
if pid == 0:
    os._exit(0)
print(pid, flush=True)
time.sleep(60)
"""


def test_a_zombie_someone_else_must_reap_counts_as_gone() -> None:
    parent = subprocess.Popen([sys.executable, "-c", KEEPS_A_ZOMBIE], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        zombie = psutil.Process(int(parent.stdout.readline()))
        while zombie.status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.01)
        start = time.monotonic()
        wait_gone([zombie], timeout=10)
        assert time.monotonic() - start < 2
        assert zombie.status() == psutil.STATUS_ZOMBIE  # still there: not specflow's to reap
    finally:
        parent.kill()
        parent.wait()


def test_a_killed_child_of_ours_is_reaped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc = psutil.Process(child.pid)
    child.kill()
    wait_gone([proc], timeout=10)
    assert not psutil.pid_exists(child.pid) or proc.status() != psutil.STATUS_ZOMBIE
