"""Step definitions for background.feature: real processes, a real hub, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from specflow import Hub
from specflow.changestate.lock import pid_alive
from specflow.engine.background import last_run
from tests.conftest import HubFixture

scenarios("background.feature")

# reads, then waits for the test's signal (a file beside the hub, outside every gate)
AGENT = (
    "import os, pathlib, sys, time\nsys.stdin.read()\n"
    "here = pathlib.Path(os.environ['SPECFLOW_HUB'])  # the change's own worktree, inside the hub\n"
    "hub = next(p for p in [here, *here.parents] if p.name == 'hub')\n"
    "go = hub.parent / 'go'\n"
    "print('Read openspec/specs', file=sys.stderr, flush=True)\n"
    "for _ in range(1200):\n"
    "    if go.exists():\n"
    "        break\n"
    "    time.sleep(0.05)\n"
    "print('the notes')\n"
)


def wait_for(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


@pytest.fixture
def run_state() -> dict[str, Any]:
    return {}


@given("a hub with the mini workflow and an agent that waits for a signal")
def waiting_agent(hub: HubFixture) -> None:
    hub.agent("scripted", AGENT)


@given(parsers.parse('a change "{change_id}"'))
def a_change(hub: HubFixture, change_id: str) -> None:
    Hub.open(hub.root).new_change(change_id)


@when(parsers.parse('I run "specflow advance {change_id} --background" in a terminal that then closes'))
def run_in_background(hub: HubFixture, run_state: dict[str, Any], change_id: str) -> None:
    # a terminal of its own (a new session), gone as soon as the command returns
    terminal = subprocess.run(
        [sys.executable, "-m", "specflow", "-C", str(hub.root), "advance", change_id, "--background"],
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert terminal.returncode == 0, terminal.stderr
    run_state["out"] = terminal.stdout
    run = last_run(Hub.open(hub.root).change(change_id))
    assert run is not None
    run_state["run"] = run


@then(parsers.parse('the command said where to follow it: "status --watch", "ui" and the run\'s log'))
def said_where(run_state: dict[str, Any]) -> None:
    out = run_state["out"]
    assert "started in the background" in out
    assert "status --watch" in out and " ui" in out and str(run_state["run"].log) in out


@then(parsers.parse('the board shows "{change_id}" running "{phase}" with the agent\'s current tool call "{call}"'))
@when(parsers.parse('the board shows "{change_id}" running "{phase}" with the agent\'s current tool call "{call}"'))
def board_running(hub: HubFixture, change_id: str, phase: str, call: str) -> None:
    def shown() -> bool:
        card = Hub.open(hub.root).board().card(change_id)
        return card is not None and (card.lane, card.phase, card.activity) == ("running", phase, call)

    wait_for(shown)


@when("the agent is let go")
def let_go(hub: HubFixture) -> None:
    (hub.root.parent / "go").write_text("")


@then(parsers.parse('the change "{change_id}" reaches the state "{state}"'))
def reaches(hub: HubFixture, run_state: dict[str, Any], change_id: str, state: str) -> None:
    wait_for(lambda: not pid_alive(run_state["run"].pid))
    assert Hub.open(hub.root).change(change_id).state == state


@when(parsers.parse('I cancel the phase of "{change_id}"'))
def cancel(hub: HubFixture, run_state: dict[str, Any], change_id: str) -> None:
    assert Hub.open(hub.root).change(change_id).cancel() == run_state["run"].pid
    wait_for(lambda: not pid_alive(run_state["run"].pid))


@then(parsers.parse('the board shows "{change_id}" in the needs-you lane because it was "{need}"'))
def needs_you(hub: HubFixture, change_id: str, need: str) -> None:
    card = Hub.open(hub.root).board().card(change_id)
    assert card is not None and (card.lane, card.needs) == ("needs-you", need)


@then(parsers.parse('the live board in a terminal shows "{change_id}" with "{action}"'))
def watch_shows(hub: HubFixture, change_id: str, action: str, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(hub.root), "status", "--watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert proc.stdout is not None
        line = ""
        for line in proc.stdout:
            if line.startswith(change_id):
                break
        assert "needs-you" in line and action in line
    finally:
        proc.terminate()
        proc.wait(timeout=10)
