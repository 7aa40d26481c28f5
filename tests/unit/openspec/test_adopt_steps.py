"""Adopting changes, the OpenSpec workflow steps and the ``openspec-archive`` action."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specflow.definitions.config import HubConfig
from specflow.engine.hub import Hub
from specflow.errors import OpenSpecError
from specflow.openspec.adopt import infer_state, unmanaged_changes
from specflow.steps.openspec import ACTIONS, STEPS, overlaps
from specflow.steps.registry import StepContext, StepRegistry
from tests.unit.openspec.ostree import Tree, req


def _ctx(tree: Tree, cid: str) -> StepContext:
    return StepContext(
        hub_root=tree.root,
        change_id=cid,
        change_dir=tree.root / "openspec" / "changes" / cid,
        state="propose",
        config=HubConfig(),
    )


@pytest.mark.parametrize(
    ("files", "state"),
    [
        ({}, "draft"),
        ({"exploration.md": "notes"}, "explore"),
        ({"exploration.md": "n", "proposal.md": "p", "tasks.md": "- [ ] a\n"}, "propose"),
        ({"proposal.md": "p", "tasks.md": "- [x] a\n- [X] b\n"}, "apply"),
        ({"proposal.md": "p", "tasks.md": "no checkboxes\n"}, "propose"),
    ],
)
def test_infer_state(tmp_path: Path, files: dict[str, str], state: str) -> None:
    d = tmp_path / "openspec" / "changes" / "c"
    d.mkdir(parents=True)
    for name, text in files.items():
        (d / name).write_text(text)
    assert infer_state(d, ("draft", "explore", "propose", "apply"), "draft")[0] == state


def test_infer_state_uses_only_workflow_states(tmp_path: Path) -> None:
    d = tmp_path / "openspec" / "changes" / "c"
    d.mkdir(parents=True)
    (d / "proposal.md").write_text("p")
    (d / "tasks.md").write_text("- [x] a\n")
    assert infer_state(d, ("draft", "propose"), "draft")[0] == "propose"
    assert infer_state(d, ("start", "done"), "start") == ("start", "no exploration notes, proposal or tasks found")


def test_adopt_writes_state_and_history_and_refuses_twice(tree: Tree) -> None:
    tree.change("c", tasks="- [x] a\n")
    assert unmanaged_changes(tree.root) == ["c"]
    adopted = Hub.open(tree.root).adopt("c", workflow="openspec")
    assert adopted.state == "apply"
    d = tree.root / "openspec" / "changes" / "c" / ".specflow"
    state = json.loads((d / "state.json").read_text())
    assert state["workflow"] == "openspec" and state["state"] == "apply" and state["version"] == 1
    assert {"created", "updated"} <= set(state)
    (event,) = [json.loads(line) for line in (d / "history.jsonl").read_text().splitlines()]
    assert event["trigger"] == "adopt" and event["from"] is None and event["to"] == "apply"
    assert event["outcome"] == "adopted" and "tasks" in event["reason"]
    with pytest.raises(OpenSpecError, match="already managed by specflow"):
        Hub.open(tree.root).adopt("c")
    assert unmanaged_changes(tree.root) == []
    with pytest.raises(OpenSpecError, match="no open change 'nope'"):
        Hub.open(tree.root).adopt("nope")


def test_steps_register_and_validation_steps(tree: Tree) -> None:
    registry = StepRegistry(STEPS)
    for text in (
        "the change passes validation",
        "the change passes strict validation",
        "the specs pass strict validation",
        "no other open change touches the same requirements",
        "the change is archived",
    ):
        assert registry.find(text) is not None, text
    tree.spec("auth")
    tree.change("soft", {"auth": "## ADDED Requirements\n" + req("Soft", "It is soft.")})
    ctx = _ctx(tree, "soft")
    assert registry.evaluate("the change passes validation", ctx).ok
    strict = registry.evaluate("the change passes strict validation", ctx)
    assert not strict.ok and 'ADDED "Soft" should contain SHALL or MUST' in strict.reason
    assert registry.evaluate("the specs pass strict validation", ctx).ok
    brief = "## Purpose\nShort.\n## Requirements\n" + req("A", "The system SHALL a.")
    tree.write("openspec/specs/brief/spec.md", brief)
    specs = registry.evaluate("the specs pass strict validation", ctx)
    assert not specs.ok and "brief: Purpose section is too brief" in specs.reason


def test_overlap_step_names_the_other_change_and_requirement(tree: Tree) -> None:
    tree.spec("auth")
    modify = "## MODIFIED Requirements\n" + req("Login", "The system SHALL log in.", "Valid credentials")
    tree.change("mine", {"auth": modify})
    tree.change("theirs", {"auth": "## REMOVED Requirements\n### Requirement: Login\n"})
    tree.change("unrelated", {"auth": "## ADDED Requirements\n" + req("Other", "The system SHALL other.")})
    registry = StepRegistry(STEPS)
    out = registry.evaluate("no other open change touches the same requirements", _ctx(tree, "mine"))
    assert not out.ok
    assert 'theirs (auth: "Login")' in out.reason and "unrelated" not in out.reason
    assert overlaps(tree.root, "unrelated") == {}
    assert registry.evaluate("no other open change touches the same requirements", _ctx(tree, "unrelated")).ok


def test_archive_action_and_archived_step(tree: Tree) -> None:
    tree.spec("auth")
    tree.change("done", {"auth": "## ADDED Requirements\n" + req("X", "The system SHALL x.")}, tasks="- [ ] open\n")
    registry = StepRegistry(STEPS)
    ctx = _ctx(tree, "done")
    assert not registry.evaluate("the change is archived", ctx).ok
    summary = ACTIONS["openspec-archive"](ctx)
    assert summary.startswith("archived done as ") and "(+1 ~0 -0 →0)" in summary
    assert registry.evaluate("the change is archived", ctx).ok
    tree.change("broken", {"auth": "## MODIFIED Requirements\n" + req("Nope", "The system SHALL nope.")})
    with pytest.raises(OpenSpecError, match="MODIFIED failed"):
        ACTIONS["openspec-archive"](_ctx(tree, "broken"))
