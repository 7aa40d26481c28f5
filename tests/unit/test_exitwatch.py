"""``ExitWatch`` and ``pump_pipe``: an agent's stream ends when the agent has begun to exit, read from
/proc with real processes: a supervisor (standing for the sandbox helper) and the agent it forks."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from specflow.agents import exitwatch
from specflow.agents.exitwatch import ExitWatch, exit_begun
from specflow.agents.output import Line, pump_pipe
from specflow.agents.proctree import descendants

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")

# The supervisor (a child subreaper, as the sandbox helper is) forks the agent with its stdout on
# the pipe; the agent prints "hello", waits for one byte on its stdin (the test's go-ahead), starts
# a command holding the pipe when argv[2] is "leave", prints its last lines and exits with code 7.
# With argv[2] "twin" a second child holds the pipe too.  The supervisor reaps the agent when
# argv[1] is "reap", keeps it a zombie when it is "keep", and sleeps until it is killed.
SUPERVISOR = r"""
import ctypes, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: what the agent leaves stays below
if sys.argv[2] == "twin" and os.fork() == 0:
    time.sleep(60)
agent = os.fork()
if agent == 0:
    os.write(1, b"hello\n")
    os.read(0, 1)
    if sys.argv[2] == "leave":
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    os.write(1, b"result\ntail without newline")
    os._exit(7)
null = os.open(os.devnull, os.O_RDWR)
os.dup2(null, 1)  # the supervisor keeps no copy of the agent's stream, as the sandbox helper
if sys.argv[1] == "reap":
    os.waitpid(agent, 0)
time.sleep(60)
"""


class Agent:
    """A supervisor and its agent, started with the agent's stdout on a pipe read here."""

    def __init__(self, reap: str, tail: str = "plain") -> None:
        self.read_end, write_end = os.pipe()
        self.go_read, self.go = os.pipe()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR, reap, tail],
            stdin=self.go_read,
            stdout=write_end,
            start_new_session=True,
        )
        os.close(write_end)
        os.close(self.go_read)
        self.stream = os.fdopen(self.read_end, "rb", buffering=0)
        self.watch = ExitWatch(self.proc.pid, self.read_end)

    def let_go(self) -> None:
        os.write(self.go, b"g")

    def stop(self) -> None:
        for pid in descendants(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.kill()
        self.proc.wait()
        self.stream.close()
        os.close(self.go)


@pytest.fixture
def agents() -> Iterator[list[Agent]]:
    started: list[Agent] = []
    yield started
    for agent in started:
        agent.stop()


def start(agents: list[Agent], reap: str, tail: str = "plain") -> Agent:
    agent = Agent(reap, tail)
    agents.append(agent)
    return agent


def wait_for(check: object, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.005)


def test_an_agent_that_has_begun_to_exit_ends_with_its_exit_status(agents: list[Agent]) -> None:
    agent = start(agents, "keep")
    assert agent.stream.readline() == b"hello\n"
    agent.watch.identify()
    assert not agent.watch.exited()  # not armed: the result has not come yet
    agent.watch.arm()
    assert not agent.watch.exited()  # armed, and the agent still runs (waiting for its go-ahead)
    assert agent.watch.status is None
    agent.let_go()
    wait_for(agent.watch.exited, "the agent's exit")
    assert agent.watch.status is not None and os.waitstatus_to_exitcode(agent.watch.status) == 7


def reaped(pid: int) -> bool:
    return not os.path.exists(f"/proc/{pid}")


def test_an_agent_its_supervisor_reaped_is_gone_and_its_status_left_to_the_supervisor(agents: list[Agent]) -> None:
    agent = start(agents, "reap")
    assert agent.stream.readline() == b"hello\n"
    agent.watch.identify()
    (pid,) = exitwatch.children(agent.proc.pid)
    agent.let_go()
    wait_for(lambda: reaped(pid), "the supervisor's reaping")  # seen only once it is gone
    agent.watch.arm()
    assert agent.watch.exited()
    assert agent.watch.status is None


def test_with_two_children_holding_the_pipe_the_watch_never_fires(agents: list[Agent]) -> None:
    agent = start(agents, "keep", "twin")
    assert agent.stream.readline() == b"hello\n"
    agent.watch.identify()
    agent.watch.arm()
    agent.let_go()
    assert agent.stream.readline() == b"result\n"
    agent_pid = max(exitwatch.children(agent.proc.pid))  # forked after the twin
    wait_for(lambda: exit_begun(agent_pid) is not None, "the agent's exit")
    assert not agent.watch.exited()  # which of the two writes the stream cannot be told: its EOF will


def test_a_main_thread_gone_while_another_thread_runs_is_not_an_exit(tmp_path: Path) -> None:
    # the main thread ends alone (pthread_exit): a zombie, while its other thread still runs the
    # program and could still write; only when every thread has begun to exit is it over
    script = tmp_path / "half.py"
    script.write_text(
        "import ctypes, threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,)).start()\n"
        "ctypes.CDLL(None).pthread_exit(None)\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen([sys.executable, str(script)])
    try:

        def leader_state() -> str:
            with open(f"/proc/{proc.pid}/stat", encoding="ascii", errors="replace") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0]

        wait_for(lambda: leader_state() == "Z", "the main thread's end")
        assert len(os.listdir(f"/proc/{proc.pid}/task")) == 2
        assert exit_begun(proc.pid) is None
    finally:
        proc.kill()
        proc.wait()


def test_a_pid_taken_by_another_process_is_gone(agents: list[Agent]) -> None:
    agent = start(agents, "keep")
    assert agent.stream.readline() == b"hello\n"
    agent.watch.identify()
    agent.watch.arm()
    pid = exitwatch.children(agent.proc.pid)[0]
    assert agent.watch._agent is not None and agent.watch._agent[0] == pid
    agent.watch._agent = (pid, b"1")  # as if the agent was reaped and its pid given to a new process
    assert agent.watch.exited() and agent.watch.status is None


def pump(agent: Agent, *, reaped_first: bool = False) -> list[Line | None]:
    """The stream's lines as ``pump_pipe`` gives them, the watch armed on the result line (once
    the agent is reaped, with ``reaped_first``)."""
    lines: queue.Queue[Line | None] = queue.Queue(maxsize=8)
    stop = threading.Event()
    thread = threading.Thread(target=pump_pipe, args=(agent.stream, lines, stop, 8, agent.watch), daemon=True)
    thread.start()
    got: list[Line | None] = []
    while True:
        item = lines.get(timeout=20)
        got.append(item)
        if item == (b"hello\n", 0):
            (pid,) = exitwatch.children(agent.proc.pid)
            agent.let_go()
        if item is not None and item[0] == b"result\n":
            if reaped_first:
                wait_for(lambda gone=pid: reaped(gone), "the supervisor's reaping")
            agent.watch.arm()
        if item is None:
            break
    thread.join(timeout=5)
    assert not thread.is_alive()
    return got


def test_the_stream_ends_when_its_agent_exits_though_a_command_it_left_holds_the_pipe(
    agents: list[Agent],
) -> None:
    agent = start(agents, "keep", "leave")
    got = pump(agent)
    # every byte the agent wrote, the last line without its newline, cut at 8 bytes as read_lines cuts
    assert got == [(b"hello\n", 0), (b"result\n", 0), (b"tail wit", 12), None]
    assert agent.watch.status is not None and os.waitstatus_to_exitcode(agent.watch.status) == 7
    assert exitwatch.children(agent.proc.pid)  # the agent's zombie, and the command holding the pipe


def test_the_stream_ends_when_its_reaped_agent_left_a_command_holding_the_pipe(agents: list[Agent]) -> None:
    agent = start(agents, "reap", "leave")
    got = pump(agent, reaped_first=True)
    assert got == [(b"hello\n", 0), (b"result\n", 0), (b"tail wit", 12), None]
    assert agent.watch.status is None  # gone: its supervisor passes its exit on


def test_without_a_watch_the_stream_ends_at_its_eof() -> None:
    read_end, write_end = os.pipe()
    stream = os.fdopen(read_end, "rb", buffering=0)
    lines: queue.Queue[Line | None] = queue.Queue(maxsize=8)
    thread = threading.Thread(target=pump_pipe, args=(stream, lines, threading.Event()), daemon=True)
    thread.start()
    os.write(write_end, b"one\ntw")
    assert lines.get(timeout=5) == (b"one\n", 0)
    os.write(write_end, b"o\nthree")
    assert lines.get(timeout=5) == (b"two\n", 0)
    os.close(write_end)
    assert lines.get(timeout=5) == (b"three", 0)
    assert lines.get(timeout=5) is None
    thread.join(timeout=5)
    stream.close()
