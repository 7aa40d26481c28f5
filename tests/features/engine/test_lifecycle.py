"""Step definitions for lifecycle.feature: real git hubs, a scripted command agent, the real CLI."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.conftest import HubFixture

scenarios("lifecycle.feature")

AGENT = r"""
import os, sys, time, json, pathlib
prompt = sys.stdin.read()
ctl = pathlib.Path(os.environ["AGENT_CTL"])
change = os.environ["SPECFLOW_CHANGE"]
phase = os.environ["SPECFLOW_PHASE"]
hub = pathlib.Path(os.environ["SPECFLOW_HUB"])
(ctl / "agent.pid").write_text(str(os.getpid()))
(ctl / f"prompt-{phase}.txt").write_text(prompt)
start = time.time()
delay = ctl / "sleep"
if delay.exists():
    time.sleep(float(delay.read_text()))
print(f"working on {phase}", file=sys.stderr, flush=True)
if phase == "think":
    print(f"notes about {change}: the login form needs a rate limit")
elif phase == "write":
    body = "## What Changes\n- add login\n" if (ctl / "no_why").exists() else "## Why\nUsers must log in.\n"
    (hub / "openspec" / "changes" / change / "proposal.md").write_text(body)
    print("wrote the proposal")
with (ctl / f"times-{change}.jsonl").open("a") as fh:
    fh.write(json.dumps({"start": start, "end": time.time()}) + "\n")
"""


@pytest.fixture
def run_state() -> dict[str, Any]:
    return {}


@pytest.fixture
def ctl(tmp_path: Path) -> Path:
    d = tmp_path / "agentctl"
    d.mkdir()
    return d


def _spawn(hub: HubFixture, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(hub.root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


@given("a hub with the mini workflow and a scripted agent")
def scripted_hub(hub: HubFixture, ctl: Path) -> None:
    hub.agent("scripted", AGENT)
    with (hub.root / "specflow.yaml").open("a") as fh:
        fh.write(f"    env:\n      AGENT_CTL: {str(ctl)!r}\n")
    hub.commit("agent")


@given(parsers.parse('a change "{cid}"'))
def a_change(hub: HubFixture, cli: Any, cid: str) -> None:
    code, _out, err = cli("-C", hub.root, "new", cid)
    assert code == 0, err


@given(parsers.parse('the agent forgets the "Why" section'))
def forgets(ctl: Path) -> None:
    (ctl / "no_why").write_text("1")


@given(parsers.parse('the agent remembers the "Why" section'))
def remembers(ctl: Path) -> None:
    (ctl / "no_why").unlink()


@given(parsers.parse("the agent takes {seconds:d} seconds"))
def agent_sleeps(ctl: Path, seconds: int) -> None:
    (ctl / "sleep").write_text(str(seconds))


@given(parsers.parse('a step module "{module}" defining "{text}"'))
def step_module(hub: HubFixture, module: str, text: str) -> None:
    hub.write(
        f"{module}.py",
        f"""
        from specflow import StepResult, step


        @step({text!r})
        def ticket_linked(ctx):
            ok = (ctx.hub_root / "TICKET").is_file()
            return StepResult.check(ok, "no TICKET file in the hub")
        """,
    )
    with (hub.root / "specflow.yaml").open("a") as fh:
        fh.write(f"steps: [{module}]\n")


@given(parsers.parse('the mini workflow requires "{text}" before thinking'))
def require_step(hub: HubFixture, text: str) -> None:
    wf = hub.root / "openspec" / "workflows" / "mini.yaml"
    wf.write_text(wf.read_text().replace("given: [the change exists]", f"given: [the change exists, {text}]"))


@given("the hub has a TICKET file")
def ticket(hub: HubFixture) -> None:
    (hub.root / "TICKET").write_text("JIRA-1\n")


@given(parsers.parse('an advance of "{cid}" was killed mid-phase'))
def killed(hub: HubFixture, ctl: Path, cid: str) -> None:
    (ctl / "sleep").write_text("30")
    proc = _spawn(hub, "advance", cid)
    state = hub.root / "openspec" / "changes" / cid / ".specflow" / "state.json"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (ctl / "agent.pid").exists() and json.loads(state.read_text()).get("in_flight"):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("the advance never reached its agent")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # specflow's death normally ends the agent already
        os.kill(int((ctl / "agent.pid").read_text()), signal.SIGKILL)
    (ctl / "sleep").unlink()
    (ctl / "agent.pid").unlink()


@when(parsers.parse('I advance "{cid}"'))
def advance(hub: HubFixture, cli: Any, cid: str) -> None:
    code, out, err = cli("-C", hub.root, "advance", cid)
    assert code == 0, out + err


@when(parsers.parse('I advance "{cid}" to "{state}"'))
def advance_to(hub: HubFixture, cli: Any, cid: str, state: str) -> None:
    code, out, err = cli("-C", hub.root, "advance", cid, "--to", state)
    assert code == 0, out + err


@when(parsers.parse('I try to advance "{cid}"'))
def try_advance(hub: HubFixture, cli: Any, run_state: dict[str, Any], cid: str) -> None:
    run_state["result"] = cli("-C", hub.root, "advance", cid)


@when(parsers.parse('I approve "{cid}"'))
def approve(hub: HubFixture, cli: Any, cid: str) -> None:
    code, out, err = cli("-C", hub.root, "approve", cid, "--by", "ana")
    assert code == 0, err
    assert "approved 'add-login' in state write by ana" in out


@when(parsers.parse('the proposal of "{cid}" is edited'))
def edit_proposal(hub: HubFixture, cid: str) -> None:
    p = hub.root / "openspec" / "changes" / cid / "proposal.md"
    p.write_text(p.read_text() + "\nOne more thing.\n")


@when(parsers.parse('I fire the trigger "{name}" on "{cid}"'))
def fire(hub: HubFixture, cli: Any, name: str, cid: str) -> None:
    code, out, err = cli("-C", hub.root, "trigger", cid, name)
    assert code == 0, out + err


@when(parsers.parse('two advances of "{cid}" start together'))
def two_advances(hub: HubFixture, run_state: dict[str, Any], cid: str) -> None:
    procs = [_spawn(hub, "advance", cid) for _ in range(2)]
    run_state["procs"] = [(p.wait(timeout=120), *p.communicate()) for p in procs]


@when(parsers.parse('"{a}" and "{b}" advance together'))
def parallel(hub: HubFixture, run_state: dict[str, Any], a: str, b: str) -> None:
    procs = [_spawn(hub, "advance", a), _spawn(hub, "advance", b)]
    run_state["procs"] = [(p.wait(timeout=120), *p.communicate()) for p in procs]


@then(parsers.parse('the change "{cid}" is in state "{state}"'))
def in_state(hub: HubFixture, cid: str, state: str) -> None:
    data = json.loads((hub.root / "openspec" / "changes" / cid / ".specflow" / "state.json").read_text())
    assert data["state"] == state
    assert data["in_flight"] is None


@then(parsers.parse('both changes are in state "{state}"'))
def both_in_state(hub: HubFixture, run_state: dict[str, Any], state: str) -> None:
    codes = [code for code, _, _ in run_state["procs"]]
    assert codes == [0, 0], "\n".join(f"exit {c}\n{out}\n{err}" for c, out, err in run_state["procs"])
    for cid in ("add-login", "add-logout"):
        in_state(hub, cid, state)


@then("the two runs overlapped in time")
def overlapped(ctl: Path) -> None:
    a = json.loads((ctl / "times-add-login.jsonl").read_text().splitlines()[0])
    b = json.loads((ctl / "times-add-logout.jsonl").read_text().splitlines()[0])
    assert a["start"] < b["end"] and b["start"] < a["end"], (a, b)


@then(parsers.parse('the file "{name}" of "{cid}" contains "{text}"'))
def file_contains(hub: HubFixture, name: str, cid: str, text: str) -> None:
    assert text in (hub.root / "openspec" / "changes" / cid / name).read_text()


@then(parsers.parse('the history of "{cid}" records the outcomes "{outcomes}"'))
def history_outcomes(hub: HubFixture, cid: str, outcomes: str) -> None:
    lines = (hub.root / "openspec" / "changes" / cid / ".specflow" / "history.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["outcome"] for e in events] == [o.strip() for o in outcomes.split(",")]
    for e in events:
        if e["outcome"] == "succeeded" and e["to"] in ("think", "write"):
            assert len(e["prompt_sha256"]) == 64
            assert e["agent"]["name"] == "scripted" and e["agent"]["status"] == "success"
            assert isinstance(e["duration_s"], float)
            assert e["checkpoint"]["number"] >= 1


@then(parsers.parse("the command fails with exit code {code:d}"))
def fails_with(run_state: dict[str, Any], code: int) -> None:
    assert run_state["result"][0] == code, run_state["result"]


@then(parsers.parse('the error says "{text}"'))
def error_says(run_state: dict[str, Any], text: str) -> None:
    code, _out, err = run_state["result"]
    assert code == 1
    assert text in err, err
    assert "Traceback" not in err


@then(parsers.parse('the last prompt said "{text}"'))
def last_prompt(ctl: Path, text: str) -> None:
    assert text in (ctl / "prompt-write.txt").read_text()


@then(parsers.parse('the status of "{cid}" is "{status}"'))
def status_is(hub: HubFixture, cli: Any, cid: str, status: str) -> None:
    code, out, err = cli("-C", hub.root, "status", cid, "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == status


@then("exactly one succeeded and the other was refused as locked")
def one_locked(run_state: dict[str, Any]) -> None:
    results = sorted(run_state["procs"], key=lambda r: r[0])
    assert [r[0] for r in results] == [0, 1], results
    assert "change 'add-login' is locked by pid" in results[1][2]
