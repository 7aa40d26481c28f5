"""Step definitions for event_lines.feature: a real command agent writing event lines, the real CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.conftest import HubFixture

scenarios("event_lines.feature")

CLI = Callable[..., tuple[int, str, str]]

AGENT = r"""
import json, os, pathlib, sys
ctl = pathlib.Path(os.environ["AGENT_CTL"])
change, phase = os.environ["SPECFLOW_CHANGE"], os.environ["SPECFLOW_PHASE"]
hub = pathlib.Path(os.environ["SPECFLOW_HUB"])
sys.stdin.read()
def event(kind, **fields):
    print(json.dumps({"specflow": 1, "event": kind, **fields}), file=sys.stderr, flush=True)
event("session", id=f"session-{phase}")
extras = ctl / "extras"
if extras.exists():
    print(extras.read_text(), file=sys.stderr, flush=True)
event("tool", name="Read", input={"file_path": str(hub / "openspec" / "changes" / change / "proposal.md")})
price = json.loads((ctl / "price.json").read_text()) if (ctl / "price.json").exists() else {}
if price:
    event("tokens", input=price["input"], output=price["output"])
    event("cost", usd=price["usd"])
if phase == "think":
    print(f"notes about {change}")
else:
    (hub / "openspec" / "changes" / change / "proposal.md").write_text("## Why\nUsers must log in.\n")
    print("wrote the proposal")
"""


@pytest.fixture
def ctl(tmp_path: Path) -> Path:
    folder = tmp_path / "agentctl"
    folder.mkdir()
    return folder


@pytest.fixture
def runs() -> list[tuple[int, str, str]]:
    """Every CLI run of the scenario, in order: (exit code, stdout, stderr)."""
    return []


@given("a hub with the mini workflow and a command agent that reports in event lines")
def reporting_hub(hub: HubFixture, ctl: Path) -> None:
    hub.agent("scripted", AGENT)
    with (hub.root / "specflow.yaml").open("a", encoding="utf-8") as fh:
        fh.write(f"    env:\n      AGENT_CTL: {str(ctl)!r}\n")
    hub.commit("agent")


@given(parsers.parse('a change "{cid}"'))
def a_change(hub: HubFixture, cli: CLI, cid: str) -> None:
    code, _out, err = cli("-C", hub.root, "new", cid)
    assert code == 0, err


@given(
    parsers.parse(
        "each phase of the agent costs ${usd:g} and uses {tokens_in:d} input and {tokens_out:d} output tokens"
    )
)
def priced(ctl: Path, usd: float, tokens_in: int, tokens_out: int) -> None:
    (ctl / "price.json").write_text(json.dumps({"usd": usd, "input": tokens_in, "output": tokens_out}))


@given(parsers.parse('the mini workflow requires "{text}" before writing'))
def require_before_writing(hub: HubFixture, text: str) -> None:
    wf = hub.root / "openspec" / "workflows" / "mini.yaml"
    before = wf.read_text(encoding="utf-8")
    after = before.replace('given: [the file "notes.md" exists]', f'given: [the file "notes.md" exists, {text}]')
    assert after != before
    wf.write_text(after, encoding="utf-8")


@given("the agent also writes a broken event line, an event of an unknown kind and a plain line")
def extras(ctl: Path) -> None:
    (ctl / "extras").write_text(
        '{"specflow": 1, "event": "cost", "usd": 0.1\n{"specflow": 1, "event": "teleport", "to": "mars"}\nthinking hard'
    )


@when(parsers.parse('I advance "{cid}"'))
def advance(hub: HubFixture, cli: CLI, runs: list[tuple[int, str, str]], cid: str) -> None:
    runs.append(cli("-C", hub.root, "advance", cid))
    code, out, err = runs[-1]
    assert code == 0, out + err


@when(parsers.parse('I try to advance "{cid}"'))
def try_advance(hub: HubFixture, cli: CLI, runs: list[tuple[int, str, str]], cid: str) -> None:
    runs.append(cli("-C", hub.root, "advance", cid))


@then(parsers.parse('the status table shows "{cid}" has cost "{cost}"'))
def status_table_cost(hub: HubFixture, cli: CLI, cid: str, cost: str) -> None:
    code, out, err = cli("-C", hub.root, "status")
    assert code == 0, err
    (row,) = [line for line in out.splitlines() if cid in line]
    assert cost in row.split(), out


@then(parsers.parse('the status of "{cid}" shows the phase "{phase}" cost "{cost}" with tokens "{tokens}"'))
def status_phase_cost(hub: HubFixture, cli: CLI, cid: str, phase: str, cost: str, tokens: str) -> None:
    code, out, err = cli("-C", hub.root, "status", cid)
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if line.split()[:1] == [phase]]
    assert any(cost in row and tokens in row for row in rows), out


@then(parsers.parse('the history of "{cid}" records the session "{session}" and {calls:d} tool call'))
def history_session(hub: HubFixture, cid: str, session: str, calls: int) -> None:
    lines = (hub.change_dir(cid) / ".specflow" / "history.jsonl").read_text().splitlines()
    agents: list[dict[str, Any]] = [json.loads(line)["agent"] for line in lines if '"agent"' in line]
    assert [(a["session_id"], a["tool_calls"]) for a in agents] == [(session, calls)]


@then(parsers.parse('the advance showed the tool call "{call}"'))
def showed_tool(runs: list[tuple[int, str, str]], call: str) -> None:
    assert f"tool: {call}" in runs[-1][1], runs[-1][1]


@then(parsers.parse('the advance showed the progress line "{line}"'))
def showed_progress(runs: list[tuple[int, str, str]], line: str) -> None:
    assert f"output: {line}\n" in runs[-1][1], runs[-1][1]


@then(parsers.parse('the advance showed the warning "{warning}"'))
def showed_warning(runs: list[tuple[int, str, str]], warning: str) -> None:
    assert f"warning: {warning}\n" in runs[-1][1], runs[-1][1]


@then(parsers.parse('the change "{cid}" is in state "{state}"'))
def in_state(hub: HubFixture, cid: str, state: str) -> None:
    data = json.loads((hub.change_dir(cid) / ".specflow" / "state.json").read_text())
    assert data["state"] == state
    assert data["in_flight"] is None


@then(parsers.parse("the command fails with exit code {code:d}"))
def fails_with(runs: list[tuple[int, str, str]], code: int) -> None:
    assert runs[-1][0] == code, runs[-1]


@then(parsers.parse('the error says "{text}"'))
def error_says(runs: list[tuple[int, str, str]], text: str) -> None:
    _code, _out, err = runs[-1]
    assert text in err, err
    assert "Traceback" not in err
