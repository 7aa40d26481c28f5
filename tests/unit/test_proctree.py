"""Waiting for killed processes: a zombie has ended, whoever reaps it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import psutil

from specflow.agents.proctree import descendants, exited, start_time, wait_gone

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


def test_an_exit_is_seen_at_once_and_the_process_is_left_for_the_caller_to_reap() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.3)"])
    try:
        assert not exited(proc, 0)
        start = time.monotonic()
        assert exited(proc, 10)
        waited = time.monotonic() - start
        assert waited < 2  # seen when it happens, not after the 10 s
        assert proc.returncode is None  # not reaped: its pid (and group id) cannot be reused yet
        assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
    finally:
        proc.wait()


def test_a_wait_for_an_exit_ends_at_its_time_limit() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        start = time.monotonic()
        assert not exited(proc, 0.2)
        assert 0.15 < time.monotonic() - start < 5
    finally:
        proc.kill()
        proc.wait()


def test_a_start_time_is_the_one_psutil_reports_and_none_once_the_process_is_gone() -> None:
    # recovery compares start times recorded by one specflow with those read by another
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for pid in (1, child.pid):
            assert start_time(pid) == psutil.Process(pid).create_time()
        assert start_time(child.pid) != start_time(1)
    finally:
        child.kill()
        child.wait()
    assert start_time(child.pid) is None


# a child in a session of its own (as Claude Code runs Bash commands) with a child of its own
TREE = """\
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"],
    start_new_session=True)
print(child.pid, flush=True)
time.sleep(30)
"""


def test_descendants_are_the_tree_psutil_finds_with_groups_and_start_times() -> None:
    root = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    try:
        assert root.stdout is not None
        child = int(root.stdout.readline())
        deadline = time.monotonic() + 20
        while len(psutil.Process(root.pid).children(recursive=True)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        expected = {
            p.pid: (os.getpgid(p.pid), p.create_time()) for p in psutil.Process(root.pid).children(recursive=True)
        }
        assert len(expected) == 2 and expected[child][0] == child  # its own group
        assert descendants(root.pid) == expected
    finally:
        for p in psutil.Process(root.pid).children(recursive=True):
            p.kill()
        root.kill()
        root.wait()
    assert descendants(root.pid) == {}


# an agent that starts a helper in a session of its own, prints the helper's pid and exits
LEAVES_AN_ORPHAN = """\
import subprocess, sys
helper = subprocess.Popen(["sleep", "60"], start_new_session=True)
print(helper.pid, flush=True)
sys.stdin.read()
"""

KILL_KNOWN = """\
import json, sys
from specflow.agents.proctree import kill_known
known = {int(pid): tuple(v) for pid, v in json.loads(sys.argv[1]).items()}
kill_known(known)
print("psutil" in sys.modules)
"""


def test_what_an_agent_left_is_killed_and_waited_for_without_importing_psutil() -> None:
    agent = subprocess.Popen(
        [sys.executable, "-c", LEAVES_AN_ORPHAN], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert agent.stdout is not None and agent.stdin is not None
    helper = int(agent.stdout.readline())
    try:
        known = descendants(agent.pid)  # seen while the agent ran
        assert helper in known
        agent.stdin.close()
        agent.wait(timeout=30)  # the agent is gone; its helper, re-parented away, still runs
        assert start_time(helper) is not None
        out = subprocess.run(
            [sys.executable, "-c", KILL_KNOWN, json.dumps(known)], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == "False", out.stderr  # stopping an agent imports no psutil on Linux
        # waited for: by the time kill_known returned the helper no longer ran (a zombie at most)
        gone = not psutil.pid_exists(helper) or psutil.Process(helper).status() == psutil.STATUS_ZOMBIE
        assert gone
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(helper, signal.SIGKILL)
