"""No process outlives its phase: double forks, ``setsid nohup``, and a specflow killed with -9."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from specflow.agents.proctree import exited, kill_survivors, process_ref, start_time
from specflow.sandbox.launch import MARKER_ENV, spawn
from specflow.sandbox.settings import Layer, SandboxSettings
from tests.claude.claude_support import processes_with
from tests.conftest import HubFixture
from tests.sandbox.sandbox_support import MARK, SandboxHub, require_layer

SPECFLOW = [sys.executable, "-c", "from specflow.cli.start import entry; entry()"]

#: Starts a detached grandchild (double fork + setsid + nohup) that sleeps, then writes LATE.
ESCAPER = """\
import os, subprocess, sys
late = os.environ["LATE"]
subprocess.Popen(
    ["setsid", "nohup", "sh", "-c", f"sleep {os.environ.get('NAP', '1')}; echo late > {late}"],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    start_new_session=True,
)
if os.fork() == 0:  # and a classic double fork
    os.setsid()
    if os.fork() == 0:
        import time
        time.sleep(float(os.environ.get("NAP", "1")))
        open(late + ".fork", "w").write("late")
    os._exit(0)
print("left them running")
"""


def marked(mark: str) -> list[int]:
    """Live processes carrying the test's mark in their environment."""
    return processes_with(mark, MARK)


@pytest.mark.parametrize("mode", ["bubblewrap", "landlock", "off"])
def test_detached_children_are_dead_when_the_adapter_returns(sandbox_hub: SandboxHub, mode: Layer) -> None:
    if mode != "off":
        require_layer(mode)
    late = sandbox_hub.change / "late.txt"
    result = sandbox_hub.run(
        ESCAPER, sandbox_hub.gate("openspec/changes/add-x/**"), mode, env={"LATE": str(late), "NAP": "1"}
    )
    assert result.ok, result.error
    assert marked(sandbox_hub.mark) == []  # before any audit could start
    time.sleep(1.6)
    assert not late.exists() and not Path(str(late) + ".fork").exists()


@pytest.mark.parametrize("mode", ["bubblewrap", "landlock", "off"])
def test_nothing_the_agent_left_runs_once_its_sandbox_has_exited(sandbox_hub: SandboxHub, mode: Layer) -> None:
    """The launcher's own guarantee, before any adapter walks the tree: once the sandbox's process
    has exited, nothing the agent left runs.  An agent that leaves two sleepers and exits at once,
    ten times: a sandbox that reported the exit before ending the rest would be caught in the act."""
    if mode != "off":
        require_layer(mode)
    gate = sandbox_hub.gate("openspec/changes/add-x/**")
    left: list[int] = []
    try:
        for _ in range(10):
            launched = spawn(
                ["sh", "-c", "sleep 30 & sleep 30 & exit 3"],
                cwd=sandbox_hub.root,
                env=dict(os.environ),
                gate=gate,
                settings=SandboxSettings(mode=mode),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
            try:
                assert exited(launched.proc, 30)  # seen as the adapters see an agent's exit: at once
                left += processes_with(launched.marker, MARKER_ENV)
            finally:
                launched.close()
            assert launched.proc.wait(timeout=30) == 3  # the agent's own exit code
        assert left == []
    finally:
        for pid in left:  # what a broken sandbox left, stopped by its id
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


@pytest.mark.parametrize("mode", ["bubblewrap", "landlock", "off"])
def test_kill_9_of_specflow_kills_the_agent_tree(hub: HubFixture, mode: Layer, tmp_path: Path) -> None:
    """A real ``specflow advance`` process is killed with SIGKILL mid-agent; its agent tree dies with it."""
    if mode != "off":
        require_layer(mode)
    root: Path = hub.root
    mark = os.urandom(8).hex()
    change = hub.worktree("add-x") / "openspec" / "changes" / "add-x"  # where the change's agent works
    late = change / "late.txt"
    started = change / "started"
    agent = (
        ESCAPER.replace('print("left them running")', "")
        + f"open({str(started)!r}, 'w').write('x')\nimport time\ntime.sleep(60)\n"
    )
    hub.agent("escaper", agent)
    config = root / "specflow.yaml"
    text = config.read_text(encoding="utf-8").replace("default_agent: scripted", "default_agent: escaper")
    text = text.replace("sandbox: off\n", f"sandbox: {mode}\n")
    text += f"    env: {{LATE: {str(late)!r}, NAP: '2', {MARK}: {mark!r}}}\n"
    config.write_text(text, encoding="utf-8")
    hub.commit("escaper")
    env = {**os.environ, "NO_COLOR": "1"}
    subprocess.run(
        [*SPECFLOW, "new", "add-x"],
        cwd=root,
        env=env,
        check=True,
    )
    # the mini workflow's first phase is read-only: let the agent write in the change folder instead
    workflow = root / "openspec" / "workflows" / "mini.yaml"
    workflow.write_text(
        workflow.read_text(encoding="utf-8").replace(
            "    workspace: read-only\n", '    workspace:\n      write: ["openspec/changes/{{ change.id }}/**"]\n'
        ),
        encoding="utf-8",
    )
    hub.commit("writable think")
    advance = subprocess.Popen(
        [*SPECFLOW, "advance", "add-x"],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(started.exists)
        assert marked(mark), "the agent tree should be running"
        os.kill(advance.pid, signal.SIGKILL)
        advance.wait()
        wait_for(lambda: marked(mark) == [], timeout=10)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(advance.pid, signal.SIGKILL)
    time.sleep(2.3)
    assert not late.exists() and not Path(str(late) + ".fork").exists()


def test_recovery_kills_survivors_by_start_time_and_run_mark(tmp_path: Path) -> None:
    """What the next ``advance`` does first: the recorded root and every process with the run's mark."""
    mark = os.urandom(16).hex()
    env = {**os.environ, MARKER_ENV: mark}
    # a survivor re-parented away from the recorded root: found by its mark only
    orphan = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
    root = subprocess.Popen(["sleep", "60"], start_new_session=True)
    unrelated = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        stale = {"pid": unrelated.pid, "started": 1.0}  # same pid, another start time: not the same process
        killed = kill_survivors([process_ref(root.pid), stale], marker=mark, env_name=MARKER_ENV)
        assert sorted(killed) == sorted([orphan.pid, root.pid])
        # killed and reaped (they are this test's children): gone from the process table
        assert start_time(orphan.pid) is None and start_time(root.pid) is None
        assert unrelated.poll() is None
    finally:
        for proc in (orphan, root, unrelated):
            proc.kill()
            proc.wait()


def test_the_next_advance_stops_an_interrupted_agents_survivors_first(hub: HubFixture, cli: Any) -> None:
    """A specflow and its sandbox supervisor both killed: what survived is found by the next advance."""
    import json
    import socket

    hub.agent("scripted", "import sys\nsys.stdin.read()\nprint('notes')\n")
    hub.commit("agent")
    code, _, err = cli("-C", hub.root, "new", "add-x")
    assert code == 0, err
    mark = os.urandom(16).hex()
    survivor = subprocess.Popen(["sleep", "60"], env={**os.environ, MARKER_ENV: mark}, start_new_session=True)
    try:
        state_file = hub.change_dir("add-x") / ".specflow" / "state.json"
        state = json.loads(state_file.read_text(encoding="utf-8"))
        state["in_flight"] = {
            "trigger": "advance",
            "from": "draft",
            "to": "think",
            "started": "2026-01-01T00:00:00.000000Z",
            "pid": 1,
            "host": socket.gethostname(),
            "attempt": 1,
            # the recorded root is long gone (another start time); the survivor carries the mark
            "agent_tree": {"pid": survivor.pid, "started": 1.0, "marker": mark, "layer": "landlock"},
        }
        state_file.write_text(json.dumps(state), encoding="utf-8")
        code, out, err = cli("-C", hub.root, "advance", "add-x")
        assert code == 0, out + err
        assert "stopped 1 process(es) left by the interrupted agent" in out + err
        assert start_time(survivor.pid) is None
        events = [json.loads(line) for line in state_file.with_name("history.jsonl").read_text().splitlines()]
        interrupted = next(e for e in events if e.get("outcome") == "interrupted")
        assert interrupted["stopped_processes"] == [survivor.pid]
    finally:
        survivor.kill()
        with contextlib.suppress(ChildProcessError):
            survivor.wait()
