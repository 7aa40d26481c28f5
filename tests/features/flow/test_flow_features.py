"""Step definitions for the built-in workflow's features: real git hubs, the built-in workflow and
templates, a scripted agent that does what the prompts ask, the real CLI and the real ``openspec``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from specflow import Hub
from specflow.engine.board import build_board
from tests.conftest import HubFixture, git
from tests.parity.harness import OpenSpec
from tests.pinned_tools import OPENSPEC

scenarios("archive.feature", "approvals.feature", "discard.feature", "next.feature")

Cli = Callable[..., tuple[int, str, str]]

# The agent reads its prompt and does what it asks: a Purpose for a new capability only when the
# propose prompt asks for one (and the test has not told it to leave the Purpose out).
AGENT = r"""
import os, pathlib, sys, time
prompt = sys.stdin.read()
ctl = pathlib.Path(os.environ["AGENT_CTL"])
change, phase = os.environ["SPECFLOW_CHANGE"], os.environ["SPECFLOW_PHASE"]
(ctl / "agent.pid").write_text(str(os.getpid()))
(ctl / f"prompt-{phase}.txt").write_text(prompt)
delay = ctl / "sleep"
if delay.exists():
    time.sleep(float(delay.read_text()))
folder = pathlib.Path.cwd() / "openspec" / "changes" / change
capability = change.split("-", 1)[1]
if phase == "explore":
    print(f"notes: people need {capability}; a new capability, nothing to modify")
elif phase == "propose":
    (folder / "proposal.md").write_text(
        f"## Why\nPeople need {capability} over the notes they keep.\n\n"
        f"## What Changes\n- add {capability}\n\n## Impact\n- specs: {capability}\n"
    )
    (folder / "tasks.md").write_text(f"## 1. {capability}\n- [ ] 1.1 Build {capability}\n")
    purpose = ""
    if "`## Purpose`" in prompt and not (ctl / "no_purpose").exists():
        purpose = f"## Purpose\n{capability.title()} lets a person reach any note they wrote, by what it says.\n\n"
    spec = folder / "specs" / capability / "spec.md"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(
        purpose + "## ADDED Requirements\n"
        f"### Requirement: {capability.title()} by word\n"
        f"The system SHALL offer {capability} by any word a note contains.\n\n"
        "#### Scenario: One match\n- **WHEN** a person asks for a word\n- **THEN** the notes with it are listed\n"
    )
    print("proposed")
elif phase == "apply":
    tasks = folder / "tasks.md"
    tasks.write_text(tasks.read_text().replace("- [ ]", "- [x]"))
    print("applied")
else:
    print("nothing else to update")
"""

PURPOSE = "Search lets a person reach any note they wrote, by what it says."


@pytest.fixture
def ctl(tmp_path: Path) -> Path:
    d = tmp_path / "agentctl"
    d.mkdir()
    return d


@pytest.fixture
def outcome() -> dict[str, Any]:
    """The last command's exit code, stdout and stderr."""
    return {}


@pytest.fixture
def background() -> Iterator[dict[str, subprocess.Popen[str]]]:
    procs: dict[str, subprocess.Popen[str]] = {}
    yield procs
    for proc in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture
def openspec(tmp_path: Path) -> OpenSpec:
    return OpenSpec(OPENSPEC.require(), tmp_path / "openspec-home")


def _run(cli: Cli, hub: HubFixture, outcome: dict[str, Any], *args: str) -> tuple[int, str, str]:
    code, out, err = cli("-C", hub.root, *args)
    outcome.update(code=code, out=out, err=err)
    return code, out, err


def _ok(cli: Cli, hub: HubFixture, outcome: dict[str, Any], *args: str) -> str:
    code, out, err = _run(cli, hub, outcome, *args)
    assert code == 0, f"specflow {' '.join(args)} exited {code}:\n{out}\n{err}"
    return out


def _dir(hub: HubFixture, cid: str) -> Path:
    """The change's folder now: in its own worktree, archived on the hub, or discarded."""
    from specflow.engine.hub import Hub

    api = Hub(hub.root)
    if api.discarded_dir(cid).is_dir():
        return api.discarded_dir(cid)
    return api.change(cid).dir


def _root(hub: HubFixture, cid: str) -> Path:
    """The hub as the change sees it: its own worktree while it is open."""
    from specflow.engine.hub import Hub

    return Hub(hub.root).change_root(cid)


def _state(hub: HubFixture, cid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((_dir(hub, cid) / ".specflow" / "state.json").read_text())
    return data


def _history(hub: HubFixture, cid: str) -> list[dict[str, Any]]:
    text = (_dir(hub, cid) / ".specflow" / "history.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _status(cli: Cli, hub: HubFixture) -> list[dict[str, Any]]:
    code, out, err = cli("-C", hub.root, "status", "--json")
    assert code == 0, err
    changes: list[dict[str, Any]] = json.loads(out)["changes"]
    return changes


# -- given ----------------------------------------------------------------------------------


@given("a hub with the built-in workflow and an agent that follows the prompts")
def builtin_hub(hub: HubFixture, ctl: Path) -> None:
    hub.agent("scripted", AGENT)
    config = hub.root / "specflow.yaml"
    text = config.read_text().replace("default_workflow: mini", "default_workflow: openspec")
    config.write_text(text + f"    env:\n      AGENT_CTL: {str(ctl)!r}\n")
    hub.commit("the built-in workflow and a scripted agent")


@given(parsers.parse('a change "{cid}"'))
def a_change(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str) -> None:
    _ok(cli, hub, outcome, "new", cid)


@given("the agent leaves out the Purpose")
def no_purpose(ctl: Path) -> None:
    (ctl / "no_purpose").write_text("1")


@given(parsers.parse("the agent takes {seconds:d} seconds"))
def agent_sleeps(ctl: Path, seconds: int) -> None:
    (ctl / "sleep").write_text(str(seconds))


@given(parsers.parse('the hub has a living spec "{cap}" whose Purpose is too brief'))
def brief_spec(hub: HubFixture, cap: str) -> None:
    hub.write(
        f"openspec/specs/{cap}/spec.md",
        f"""\
        # {cap} Specification

        ## Purpose
        Notes.

        ## Requirements
        ### Requirement: Keep notes
        The system SHALL keep every note a person writes.

        #### Scenario: A note is kept
        - **WHEN** a person writes a note
        - **THEN** it is kept
        """,
    )
    hub.commit("a spec with a brief purpose")


# -- when -----------------------------------------------------------------------------------


@when(parsers.parse('I advance "{cid}" to "{state}"'))
def advance_to(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str, state: str) -> None:
    _ok(cli, hub, outcome, "advance", cid, "--to", state, "-q")


@when(parsers.parse('I try to advance "{cid}" to "{state}"'))
def try_advance_to(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str, state: str) -> None:
    _run(cli, hub, outcome, "advance", cid, "--to", state, "-q")


@when(parsers.parse('I advance "{cid}"'))
def advance(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str) -> None:
    _ok(cli, hub, outcome, "advance", cid, "-q")


@when(parsers.parse('I try to advance "{cid}"'))
def try_advance(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str) -> None:
    _run(cli, hub, outcome, "advance", cid, "-q")


@when(parsers.parse('I approve "{cid}"'))
def approve(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str) -> None:
    _ok(cli, hub, outcome, "approve", cid)


@when(parsers.parse('I try to approve "{cid}"'))
def try_approve(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str) -> None:
    _run(cli, hub, outcome, "approve", cid)


@when(parsers.parse('I fire the trigger "{name}" on "{cid}"'))
def fire(hub: HubFixture, cli: Cli, outcome: dict[str, Any], name: str, cid: str) -> None:
    _ok(cli, hub, outcome, "trigger", cid, name, "-q")


@when(parsers.parse('I archive "{cid}"'))
def archive(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str) -> None:
    _ok(cli, hub, outcome, "archive", cid, "--yes")


@when(parsers.parse('the proposal of "{cid}" is edited'))
def edit_proposal(hub: HubFixture, cid: str) -> None:
    with (_dir(hub, cid) / "proposal.md").open("a") as fh:
        fh.write("\n- and one more thing\n")


@when(parsers.parse('someone removes the Purpose from the delta spec of "{cid}"'))
def remove_purpose(hub: HubFixture, cid: str) -> None:
    spec = _dir(hub, cid) / "specs" / "search" / "spec.md"
    text = spec.read_text()
    assert text.startswith("## Purpose\n"), text
    spec.write_text(text.split("\n\n", 1)[1])


@when(parsers.parse('the living spec "{cap}" gets a Purpose long enough'))
def fix_purpose(hub: HubFixture, cap: str) -> None:
    # in every change's own worktree of the hub, where its archive reads the specs (the fix lands
    # on the hub's main branch with the change)
    for spec in (hub.root / ".specflow" / "worktrees").glob(f"*/*/openspec/specs/{cap}/spec.md"):
        spec.write_text(
            spec.read_text().replace("Notes.\n", "Notes keep what a person writes, for as long as they want.\n")
        )


@when(parsers.parse('I discard "{cid}" because "{reason}"'))
def discard(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str, reason: str) -> None:
    _ok(cli, hub, outcome, "discard", cid, "--reason", reason)


@when(parsers.parse('I discard "{cid}" with its branches'))
def discard_branches(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str) -> None:
    _ok(cli, hub, outcome, "discard", cid, "--delete-branches")


@when(parsers.parse('I restore "{cid}"'))
def restore(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str) -> None:
    _ok(cli, hub, outcome, "discard", "--restore", cid)


@when(parsers.parse('I try to restore "{cid}"'))
def try_restore(hub: HubFixture, cli: Cli, outcome: dict[str, Any], cid: str) -> None:
    _run(cli, hub, outcome, "discard", "--restore", cid)


@when(parsers.parse('an advance of "{cid}" is running'))
def running(hub: HubFixture, ctl: Path, background: dict[str, subprocess.Popen[str]], cid: str) -> None:
    background[cid] = subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(hub.root), "advance", cid, "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    deadline = time.monotonic() + 60
    while not (ctl / "agent.pid").exists():  # the barrier: the agent has started
        assert background[cid].poll() is None, background[cid].communicate()
        assert time.monotonic() < deadline, "the agent never started"
        time.sleep(0.05)


# -- then -----------------------------------------------------------------------------------


@then(parsers.parse("the command fails with exit code {code:d}"))
def fails(outcome: dict[str, Any], code: int) -> None:
    assert outcome["code"] == code, outcome


@then(parsers.parse('the error says "{text}"'))
def error_says(outcome: dict[str, Any], text: str) -> None:
    assert text in outcome["err"], outcome["err"]


@then(parsers.parse('the change "{cid}" is in state "{state}"'))
def in_state(hub: HubFixture, cid: str, state: str) -> None:
    assert _state(hub, cid)["state"] == state


@then(parsers.parse('the change "{cid}" is open in state "{state}"'))
def open_in_state(hub: HubFixture, cid: str, state: str) -> None:
    folder = _dir(hub, cid)
    assert folder.parent.name == "changes"
    assert (folder / ".specflow" / "state.json").is_file()
    assert json.loads((folder / ".specflow" / "state.json").read_text())["state"] == state


@then(parsers.parse('the change "{cid}" is archived in state "{state}"'))
def archived_in_state(hub: HubFixture, cid: str, state: str) -> None:
    assert not (hub.root / "openspec" / "changes" / cid).exists()
    archived = list((hub.root / "openspec" / "changes" / "archive").glob(f"*-{cid}"))
    assert len(archived) == 1, archived
    record = json.loads((archived[0] / ".specflow" / "state.json").read_text())
    assert (record["state"], record["last_failure"]) == (state, None)


@then(parsers.parse('the living spec "{cap}" has the Purpose the agent wrote'))
def living_purpose(hub: HubFixture, cap: str) -> None:
    text = (hub.root / "openspec" / "specs" / cap / "spec.md").read_text()
    assert f"## Purpose\n{PURPOSE}\n" in text, text
    assert "TBD" not in text


@then(parsers.parse('there is no living spec "{cap}"'))
def no_living_spec(hub: HubFixture, cap: str) -> None:
    assert not (hub.root / "openspec" / "specs" / cap).exists()


@then("OpenSpec validates every spec strictly")
def openspec_strict(hub: HubFixture, openspec: OpenSpec) -> None:
    code, doc = openspec.json(["validate", "--all", "--strict", "--json", "--no-interactive"], hub.root)
    assert code == 0 and doc["summary"]["totals"]["failed"] == 0, doc
    assert [item["id"] for item in doc["items"]] == ["search"], doc


@then(parsers.parse('the next action of "{cid}" is "{action}" with "{command}"'))
def next_action(hub: HubFixture, cli: Cli, cid: str, action: str, command: str) -> None:
    status = {st["id"]: st for st in _status(cli, hub)}
    nxt = status[cid]["next"]
    assert (nxt["action"], nxt["command"]) == (action, command), nxt
    _, out, _ = cli("-C", hub.root, "status")
    row = next(line for line in out.splitlines() if line.startswith(cid + " "))
    assert row.rstrip().endswith(action), out


@then(parsers.parse('the next action of "{cid}" is "{action}" with no command'))
def next_action_none(hub: HubFixture, cli: Cli, cid: str, action: str) -> None:
    _, out, _ = cli("-C", hub.root, "status", "--all", "--json")
    status = {st["id"]: st for st in json.loads(out)["changes"]}
    nxt = status[cid]["next"]
    assert (nxt["action"], nxt["command"]) == (action, None), nxt


@then(parsers.parse('"specflow status {cid}" says "{text}"'))
def status_says(hub: HubFixture, cli: Cli, cid: str, text: str) -> None:
    code, out, err = cli("-C", hub.root, "status", cid)
    assert code == 0, err
    assert text in out, out


@then(parsers.parse('the status table lists "{cid}" with the next action "{action}"'))
def table_lists(hub: HubFixture, cli: Cli, cid: str, action: str) -> None:
    _, out, _ = cli("-C", hub.root, "status")
    row = next((line for line in out.splitlines() if line.startswith(cid + " ")), None)
    assert row is not None and row.rstrip().endswith(action), out


@then("the status table lists no change")
def table_empty(hub: HubFixture, cli: Cli) -> None:
    assert _status(cli, hub) == []


@then(parsers.parse('the status table lists only "{cid}"'))
def table_only(hub: HubFixture, cli: Cli, cid: str) -> None:
    assert [st["id"] for st in _status(cli, hub)] == [cid]


@then(parsers.parse('"specflow show {cid}" shows its proposal and "{text}"'))
def show_stranded(hub: HubFixture, cli: Cli, cid: str, text: str) -> None:
    code, out, err = cli("-C", hub.root, "show", cid)
    assert code == 0, err
    assert out.startswith("## Why\n") and text in out, out


@then(parsers.parse('the dashboard\'s board shows "{cid}" among the changes that need me'))
def board_needs_me(hub: HubFixture, cid: str) -> None:
    card = build_board(Hub.open(hub.root)).card(cid)
    assert card is not None and card.lane == "needs-you" and card.needs == "failed", card
    assert "Purpose section is too brief" in card.needs_reason, card.needs_reason


@then(parsers.parse('the last history event of "{cid}" voided the approval of "{who}"'))
def voided_in_history(hub: HubFixture, cid: str, who: str) -> None:
    last = _history(hub, cid)[-1]
    assert last["trigger"] == "reject" and last["outcome"] == "succeeded", last
    assert [a["by"] for a in last["approvals_voided"]] == [who]
    assert last["approvals_voided"][0]["voided"] == "rejected (reject: propose -> explore)"


@then(parsers.parse('the history of "{cid}" records the outcomes "{outcomes}"'))
def history_outcomes(hub: HubFixture, cid: str, outcomes: str) -> None:
    assert [ev["outcome"] for ev in _history(hub, cid)] == outcomes.split(", ")


@then(parsers.parse('OpenSpec\'s list does not show "{cid}"'))
def openspec_list(hub: HubFixture, openspec: OpenSpec, cid: str) -> None:
    code, doc = openspec.json(["list", "--json"], hub.root)
    assert code == 0
    names = [c["name"] for c in doc["changes"]]
    assert cid not in names, doc  # the changes still on their branches are not on the hub's main either


@then("OpenSpec finds nothing wrong with the discarded change")
def openspec_validate(hub: HubFixture, openspec: OpenSpec) -> None:
    _, doc = openspec.json(["validate", "--all", "--strict", "--json", "--no-interactive"], hub.root)
    ids = [item["id"] for item in doc["items"]]
    assert "add-search" not in ids, doc
    assert ids == [] and doc["summary"]["totals"]["failed"] == 0, doc  # add-export is still on its branch


@then(parsers.parse('"{cid}" has no worktree and its branch "{branch}" is kept'))
def branch_kept(hub: HubFixture, cid: str, branch: str) -> None:
    assert cid not in git(hub.root, "worktree", "list")
    assert not (hub.root / ".specflow" / "worktrees" / cid).exists()
    assert git(hub.root, "branch", "--list", branch).strip() != ""


@then(parsers.parse('the branch "{branch}" is gone'))
def branch_gone(hub: HubFixture, branch: str) -> None:
    assert git(hub.root, "branch", "--list", branch).strip() == ""


@then(parsers.parse('the last history event of "{cid}" says it was discarded because "{reason}"'))
def discarded_in_history(hub: HubFixture, cid: str, reason: str) -> None:
    last = _history(hub, cid)[-1]
    assert (last["trigger"], last["outcome"], last["reason"]) == ("discard", "discarded", reason), last
    assert last["moved_to"] == f"openspec/changes/archive/discarded/{cid}"
    assert last["branches_kept"] and not last["branches_deleted"]


@then("the running advance has stopped")
def advance_stopped(background: dict[str, subprocess.Popen[str]], ctl: Path) -> None:
    proc = next(iter(background.values()))
    code = proc.wait(timeout=30)
    assert code != 0
    pid = int((ctl / "agent.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(pid):  # the agent was stopped with the run (it may take a moment to be reaped)
        assert time.monotonic() < deadline, f"the agent (pid {pid}) outlived the discarded run"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
