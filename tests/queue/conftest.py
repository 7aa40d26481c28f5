"""Queue tests: a worker as a real process of its own, scripted agents that can be held mid-phase.

The agent holds when the file ``hold`` exists beside the hub: it writes ``started-<phase>-<pid>``
there and waits for ``go``.  That is the barrier a test kills a worker at.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import HubFixture, wait_until
from tests.pinned_tools import in_ci
from tests.queue.postgres import MISSING, Postgres, find_bin, running_postgres

# writes notes (think) or a proposal (write); with ``hold`` beside the hub, waits for ``go`` first
AGENT = r"""
import os, pathlib, subprocess, sys, time
sys.stdin.read()
phase = os.environ["SPECFLOW_PHASE"]
here = pathlib.Path(os.environ["SPECFLOW_HUB"])  # the change's own worktree of the hub
common = subprocess.run(["git", "rev-parse", "--git-common-dir"], cwd=here, capture_output=True, text=True).stdout
ctl = (here / common.strip()).resolve().parent.parent  # beside the hub
if (ctl / "hold").exists():
    (ctl / f"started-{phase}-{os.getpid()}").write_text("")
    deadline = time.monotonic() + 120
    while not (ctl / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
change = pathlib.Path(os.environ["SPECFLOW_HUB"]) / "openspec" / "changes" / os.environ["SPECFLOW_CHANGE"]
if phase == "write":
    (change / "proposal.md").write_text("## Why\nBecause.\n")
print("the notes")
"""


@dataclass
class WorkerProcess:
    """``specflow worker`` of one machine, running as a process of its own."""

    hub: Path
    machine: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)
    extra: list[str] = field(default_factory=list)

    def start(self) -> WorkerProcess:
        self.starts += 1
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "specflow", "-C", str(self.hub), "worker", "--machine", self.machine, *self.extra],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        out.close()
        starts = self.starts
        wait_until(lambda: self.output.count("worker for machine") >= starts or not self.alive, "the worker to start")
        assert self.alive, self.output
        return self

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def end(self) -> None:
        """At teardown: SIGTERM, and SIGKILL when it has not stopped within 20 s (a loaded machine)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill9()

    def stop(self) -> int:
        """SIGTERM, as ``kill`` or a service manager stops it; return its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc is not None else 0
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


@pytest.fixture
def queue_hub(hub: HubFixture) -> HubFixture:
    """The mini hub with the holding agent; its queue on SQLite, the default."""
    hub.agent("scripted", AGENT)
    return hub


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    """Workers a test starts; any still running at teardown is stopped (and the agents let go)."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        (worker.hub.parent / "go").write_text("teardown")
        worker.end()


def new_worker(hub: Path, machine: str, workers: list[WorkerProcess], **env: str) -> WorkerProcess:
    """A worker for ``machine`` on ``hub`` (not started), stopped at teardown."""
    environment = {**os.environ, "NO_COLOR": "1", **env}
    worker = WorkerProcess(hub, machine, environment, hub.parent / f"worker-{machine}.log")
    workers.append(worker)
    return worker


def started(ctl: Path, phase: str) -> list[Path]:
    """The agents of ``phase`` that reached the barrier, oldest first."""
    return sorted(ctl.glob(f"started-{phase}-*"), key=lambda p: p.stat().st_mtime_ns)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server for the session's queue tests (each test names its own database)."""
    bin_dir = find_bin()
    if bin_dir is None:
        if in_ci():
            pytest.fail(MISSING, pytrace=False)
        pytest.skip(MISSING)
    with running_postgres(bin_dir) as server:
        yield server
