"""Approvals that are voided, the next action of a change, discard and restore, new capabilities'
Purpose: over real git hubs with the mini workflow and a scripted agent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specflow import Hub
from specflow.changestate.approvals import approval_view, void_reason
from specflow.changestate.history import read_history
from specflow.changestate.records import read_state, void_approvals
from specflow.changestate.recordtypes import Approval, HistoryEvent, StateRecord
from specflow.engine.status import workflow_outline
from specflow.errors import ChangeNotFoundError, OpenSpecError, StateError
from specflow.steps.openspec import check_rebuilt_specs, purpose_problems
from tests.conftest import HubFixture

AGENT = (
    "import os, pathlib, sys\nsys.stdin.read()\n"
    "d = pathlib.Path(os.environ['SPECFLOW_HUB']) / 'openspec' / 'changes' / os.environ['SPECFLOW_CHANGE']\n"
    "if os.environ['SPECFLOW_PHASE'] == 'write':\n"
    "    (d / 'proposal.md').write_text('## Why\\nBecause.\\n')\n"
    "print('notes')\n"
)
STATES = ["draft", "think", "write", "done"]


def _approval(state: str, **extra: str) -> Approval:
    approval = Approval(by="ana", at="2026-11-29T10:00:00.000000Z", state=state, note=None, digest="d")
    approval.update(extra)  # type: ignore[typeddict-item]
    return approval


@pytest.fixture
def api(hub: HubFixture) -> Hub:
    hub.agent("scripted", AGENT)
    hub.commit("agent")
    return Hub.open(hub.root)


# -- approvals ------------------------------------------------------------------------------


def test_approve_refuses_a_change_without_a_proposal(api: Hub) -> None:
    change = api.new_change("add-login")
    with pytest.raises(StateError) as exc:
        change.approve(by="ana")
    assert exc.value.message == (
        f"change 'add-login' has no proposal.md in {change.dir}: there is nothing to approve yet (state 'draft')"
    )
    assert exc.value.fix == (
        "advance it until its proposal is written (specflow advance add-login), read it, then approve"
    )
    assert (read_state(change.dir) or {}).get("approvals") == []
    assert [ev["outcome"] for ev in read_history(change.dir)] == ["created"]


def test_void_reason_for_a_rejection_a_step_back_and_a_step_forward() -> None:
    record = StateRecord(state="write", approvals=[_approval("write")])
    assert void_reason(STATES, record, "reject", "think", succeeded=False) == "rejected (reject: write -> think)"
    assert void_reason(STATES, record, "redo", "think", succeeded=True) == (
        "the change went back from 'write' to 'think' (redo)"
    )
    assert void_reason(STATES, record, "redo", "think", succeeded=False) is None  # nothing moved
    assert void_reason(STATES, record, "advance", "done", succeeded=True) is None
    assert void_reason(STATES, record, "advance", "write", succeeded=True) is None  # not before it
    voided = StateRecord(state="write", approvals=[_approval("write", voided="rejected")])
    assert void_reason(STATES, voided, "reject", "think", succeeded=True) is None


def test_void_approvals_marks_the_standing_ones_and_names_them_in_the_event() -> None:
    old = _approval("write", voided="earlier", voided_at="2026-11-28T00:00:00Z")
    record = StateRecord(state="write", approvals=[old, _approval("write")])
    event = HistoryEvent()
    voided = void_approvals(record, event, "rejected (reject: write -> think)")
    assert len(voided) == 1 and voided[0]["voided"] == "rejected (reject: write -> think)"
    assert event["approvals_voided"] == voided
    assert old["voided"] == "earlier"


def test_a_rejection_voids_the_approval_of_the_same_proposal(api: Hub) -> None:
    change = api.new_change("add-login")
    change.advance(to="write")
    change.approve(by="ana")
    change.trigger("reject")
    assert [a.get("voided") for a in (change.record or {}).get("approvals", [])] == [
        "rejected (reject: write -> think)"
    ]
    change.advance()  # the same proposal again
    view = approval_view(change.require_record(), change.dir)
    assert view is not None and not view["holds"] and view["voided"]
    assert view["text"] == "approval voided: rejected (reject: write -> think) (after ana approved it at " + (
        change.require_record()["approvals"][0]["at"][:19].replace("T", " ") + ")"
    )
    assert change.status()["next"]["action"] == "approve"


def test_a_revert_before_the_approval_voids_it(api: Hub) -> None:
    change = api.new_change("add-login")
    change.advance(to="write")
    change.approve(by="ana")
    first = change.checkpoints()[0].checkpoint  # taken before explore: state draft
    change.revert(to=first.number)
    last = change.history()[-1]
    assert last["outcome"] == "reverted" and [a["by"] for a in last["approvals_voided"]] == ["ana"]
    assert last["approvals_voided"][0]["voided"] == "the change went back from 'write' to 'draft' (revert)"


def test_status_says_an_edit_voided_the_approval(api: Hub) -> None:
    change = api.new_change("add-login")
    change.advance(to="write")
    approval = change.approve(by="ana")
    view = change.status()["approval"]
    assert view is not None and view["holds"] is True
    (change.dir / "proposal.md").write_text("## Why\nBecause, and more.\n")
    st = change.status()
    assert st["approval"] is not None
    assert st["approval"]["text"] == (
        f"approval voided: the proposal changed after ana approved it at {approval['at'][:19].replace('T', ' ')}"
    )
    assert st["next"] == {
        "action": "approve",
        "command": "specflow approve add-login",
        "why": st["approval"]["text"],
    }


# -- next action ----------------------------------------------------------------------------


def test_the_next_action_through_the_mini_workflow(api: Hub) -> None:
    change = api.new_change("add-login")
    nexts = [change.status()["next"]]
    change.advance(to="write")
    nexts.append(change.status()["next"])
    change.approve(by="ana")
    nexts.append(change.status()["next"])
    change.advance()
    nexts.append(change.status()["next"])
    assert [(n["action"], n["command"]) for n in nexts] == [
        ("advance", "specflow advance add-login"),
        ("approve", "specflow approve add-login"),
        ("advance", "specflow advance add-login"),
        ("nothing", None),
    ]
    assert nexts[0]["why"] == "next: think" and nexts[1]["why"] == "the proposal waits for a person's review"


def test_the_next_action_of_a_failed_an_interrupted_and_an_unmanaged_change(api: Hub, hub: HubFixture) -> None:
    change = api.new_change("add-login")
    state_file = change.dir / ".specflow" / "state.json"
    record = json.loads(state_file.read_text())
    record["last_failure"] = {"phase": "think", "reasons": ["notes.md is empty"], "at": "x", "session_id": None}
    state_file.write_text(json.dumps(record))
    assert change.status()["next"] == {
        "action": "fix and retry",
        "command": "specflow advance add-login",
        "why": "think failed: notes.md is empty",
    }
    record["last_failure"] = None
    record["in_flight"] = {"from": "draft", "to": "think", "pid": 999_999_999, "host": "elsewhere"}
    state_file.write_text(json.dumps(record))
    st = change.status()
    assert (st["status"], st["next"]["action"]) == ("interrupted", "advance")
    (hub.root / "openspec" / "changes" / "by-hand").mkdir()  # a plain OpenSpec change, on the hub's checkout
    assert api.change("by-hand").status()["next"] == {
        "action": "adopt",
        "command": "specflow adopt by-hand",
        "why": "specflow does not manage it yet",
    }


def test_the_outline_reads_any_state_sources_and_archive_actions(hub: HubFixture) -> None:
    hub.write(
        "openspec/workflows/star.yaml",
        """\
        workflow: star
        version: 1
        initial: a
        states:
          a: {}
          b: {}
          c: {actions: [openspec-archive], final: true}
        scenarios:
          - {scenario: Anywhere, given: [the proposal is approved], when: advance, from: "*", to: c}
          - {scenario: Back, when: reject, from: b, to: a}
        """,
    )
    outline = workflow_outline("star", hub.root)
    assert outline is not None
    assert outline.states == ("a", "b", "c") and outline.final == {"c"} and outline.archiving == {"c"}
    assert outline.advances == {
        "a": (("c", ("the proposal is approved",)),),
        "b": (("c", ("the proposal is approved",)),),
    }
    assert workflow_outline("missing", hub.root) is None
    # a later process reads the outline from the hub's cache, the same; an edited workflow is read again
    workflow_outline.cache_clear()
    assert list((hub.root / ".specflow" / "cache").glob("outline-*.json"))
    assert workflow_outline("star", hub.root) == outline
    path = hub.root / "openspec" / "workflows" / "star.yaml"
    path.write_text(path.read_text().replace("b: {}", "b: {}\n  b2: {}"))
    workflow_outline.cache_clear()
    edited = workflow_outline("star", hub.root)
    assert edited is not None and edited.states == ("a", "b", "b2", "c")


# -- discard --------------------------------------------------------------------------------


def test_discard_moves_the_change_out_and_restore_brings_it_back(api: Hub) -> None:
    change = api.new_change("add-login")
    api.new_change("add-logout")
    change.advance()
    result = change.discard(reason="not needed", by="ana")
    assert result.moved_to == api.changes_dir / "archive" / "discarded" / "add-login"
    assert change.dir == result.moved_to and (result.moved_to / ".openspec.yaml").is_file()
    assert [c.id for c in api.changes()] == ["add-logout"]
    with pytest.raises(ChangeNotFoundError) as exc:
        api.change("add-login")
    assert exc.value.fix == "restore it with 'specflow discard --restore add-login'"
    record = read_state(result.moved_to) or {}
    assert {k: record["discarded"][k] for k in ("by", "reason", "branches_deleted")} == {  # type: ignore[index]
        "by": "ana",
        "reason": "not needed",
        "branches_deleted": False,
    }
    assert api.discarded("add-login").status()["next"]["action"] == "restore"

    restored = api.discarded("add-login").reopen()
    assert restored == api.changes_dir / "add-login"
    again = api.change("add-login")
    assert again.state == "think" and (again.record or {}).get("discarded") is None
    assert [ev["outcome"] for ev in again.history()][-2:] == ["discarded", "reopened"]
    with pytest.raises(StateError, match="is not discarded"):
        again.reopen()


def test_discard_refuses_a_folder_already_taken_and_restore_refuses_without_branches(api: Hub, hub: HubFixture) -> None:
    change = api.new_change("add-login")
    taken = api.discarded_dir("add-login")
    taken.mkdir(parents=True)
    with pytest.raises(StateError) as exc:
        change.discard()
    assert exc.value.message == f"a discarded change 'add-login' is already at {taken}"
    assert change.dir == api.worktree_of("add-login") / "openspec" / "changes" / "add-login" and change.dir.is_dir()
    taken.rmdir()
    change.discard(delete_branches=True)
    with pytest.raises(StateError, match="was discarded with its branches deleted"):
        api.discarded("add-login").reopen()
    with pytest.raises(ChangeNotFoundError):
        api.discarded("never-was")


# -- a new capability's Purpose -------------------------------------------------------------

DELTA = (
    "## ADDED Requirements\n### Requirement: Search by word\nThe system SHALL find notes by word.\n\n"
    "#### Scenario: One match\n- **WHEN** a word is searched\n- **THEN** its notes are listed\n"
)


def _delta(change_dir: Path, capability: str, text: str) -> None:
    path = change_dir / "specs" / capability / "spec.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_purpose_problems_of_new_capabilities(api: Hub, hub: HubFixture) -> None:
    change = api.new_change("add-search")
    _delta(change.dir, "search", DELTA)
    _delta(change.dir, "tags", "## Purpose\nTags.\n\n" + DELTA)
    _delta(change.dir, "export", "## Purpose\nExport writes every note to a file a person can keep.\n\n" + DELTA)
    problems = purpose_problems(hub.root, change.dir, "add-search")
    assert len(problems) == 2
    assert problems[0].startswith("specs/search/spec.md creates the capability 'search' without a '## Purpose'")
    assert problems[1] == (
        "specs/tags/spec.md creates the capability 'tags', but its Purpose would fail strict validation:"
        " Purpose section is too brief (less than 50 characters); rewrite its '## Purpose'"
    )
    # an existing capability needs no Purpose in its delta
    hub.write("openspec/specs/search/spec.md", "# search\n\n## Purpose\n" + "x" * 60 + "\n\n## Requirements\n")
    assert len(purpose_problems(hub.root, change.dir, "add-search")) == 1


def test_the_archive_check_refuses_before_anything_moves(api: Hub, hub: HubFixture) -> None:
    change = api.new_change("add-search")
    _delta(change.dir, "search", DELTA)
    with pytest.raises(OpenSpecError) as exc:
        check_rebuilt_specs(hub.root, change.dir, "add-search")
    assert exc.value.message.startswith(
        "the archive of 'add-search' would leave 1 spec(s) failing strict validation, so nothing was merged or"
        " moved: specs/search/spec.md creates the capability 'search' without a '## Purpose'"
    )
    assert not (hub.root / "openspec" / "specs" / "search").exists() and change.dir.is_dir()
    _delta(change.dir, "search", "## Purpose\nSearch finds every note a person wrote by a word in it.\n\n" + DELTA)
    check_rebuilt_specs(hub.root, change.dir, "add-search")


def test_discard_on_the_command_line(api: Hub, hub: HubFixture, cli: Any) -> None:
    api.new_change("add-login")
    code, out, err = cli("-C", hub.root, "discard", "add-login", "--reason", "not now")
    assert (code, err) == (0, "")
    assert out == (
        f"removed {hub.worktree('add-login')}\n"
        "kept branch repo:specflow/add-login\n"
        "discarded 'add-login': moved to openspec/changes/archive/discarded/add-login\n"
        "undo with: specflow discard --restore add-login\n"
    )
    code, out, err = cli("-C", hub.root, "discard", "--restore", "add-login", "--reason", "x")
    assert (code, out) == (2, "")
    assert err == (
        "error: --restore takes no --reason or --delete-branches\n"
        "  fix: restore with 'specflow discard --restore add-login' alone\n"
    )
    code, out, err = cli("-C", hub.root, "discard", "--restore", "add-login", "--json")
    assert code == 0, err
    assert json.loads(out) == {"change": "add-login", "restored_to": str(hub.change_dir("add-login"))}
    code, out, err = cli("-C", hub.root, "discard", "nope")
    assert code == 1 and "no change 'nope'" in err and "Traceback" not in err
