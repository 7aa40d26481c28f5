"""The validation index: kept issues are read back only while every file they came from is unchanged."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from specflow.definitions.config import HubConfig
from specflow.openspec.validate import validate_items
from specflow.openspec.validindex import ValidationIndex
from specflow.steps.openspec import STEPS
from specflow.steps.registry import StepContext, StepRegistry
from tests.unit.openspec.ostree import AUTH_SPEC, Tree, req

FAKE = ["ERROR", "file", "kept in the index, not found in the files", None]


def _hub(tree: Tree) -> Path:
    """Make the tree a hub specflow has used (``.specflow/`` exists), with an ordinary change."""
    (tree.root / ".specflow").mkdir()
    tree.spec("auth")
    tree.change("add-tokens", {"auth": "## ADDED Requirements\n" + req("Tokens", "The system SHALL issue tokens.")})
    return tree.root / ".specflow" / "cache" / "validate.json"


def _age(root: Path) -> None:
    """Date every file and folder of the tree a minute back, so their stamps can be trusted."""
    past = time.time_ns() - 60_000_000_000
    for folder, dirs, files in os.walk(root / "openspec"):
        for name in [*dirs, *files]:
            os.utime(os.path.join(folder, name), ns=(past, past))
    os.utime(root / "openspec", ns=(past, past))


def _messages(root: Path) -> dict[str, list[str]]:
    return {r.id: [i.message for i in r.report.issues] for r in validate_items(root, strict=True, remember=True)}


def _plant(index: Path, key: str) -> None:
    """Put an issue into the kept entry of ``key`` that no file would produce."""
    data: dict[str, Any] = json.loads(index.read_text())
    data["entries"][key][1] = [FAKE]
    index.write_text(json.dumps(data))


def test_a_plain_openspec_project_keeps_no_index(tree: Tree) -> None:
    tree.spec("auth")
    _age(tree.root)
    assert _messages(tree.root) == {"auth": []}
    assert not (tree.root / ".specflow").exists()


def test_unchanged_items_are_read_back_and_an_edited_spec_is_read_again(tree: Tree) -> None:
    index = _hub(tree)
    _age(tree.root)
    assert _messages(tree.root) == {"add-tokens": [], "auth": []}
    assert set(json.loads(index.read_text())["entries"]) == {"change:add-tokens", "spec:auth"}
    _plant(index, "spec:auth")
    assert _messages(tree.root)["auth"] == [FAKE[2]]  # nothing changed: the kept issues are reported
    tree.spec("auth", AUTH_SPEC.replace("The system SHALL end the session on logout.", "Sessions end on logout."))
    messages = _messages(tree.root)
    assert FAKE[2] not in messages["auth"]
    assert messages["auth"] == [
        'Requirement "Logout" should contain SHALL or MUST (RFC 2119 best practice for English specs)'
    ]


def test_an_edited_delta_is_read_again(tree: Tree) -> None:
    index = _hub(tree)
    _age(tree.root)
    _messages(tree.root)
    _plant(index, "change:add-tokens")
    assert _messages(tree.root)["add-tokens"] == [FAKE[2]]
    tree.write("openspec/changes/add-tokens/specs/auth/spec.md", "## ADDED Requirements\n" + req("Tokens", "Tokens."))
    assert _messages(tree.root)["add-tokens"] == [
        'ADDED "Tokens" should contain SHALL or MUST (RFC 2119 best practice for English specs)'
    ]


def test_a_file_added_anywhere_in_a_change_is_seen(tree: Tree) -> None:
    index = _hub(tree)
    _age(tree.root)
    _messages(tree.root)
    _plant(index, "change:add-tokens")
    past = os.stat(tree.root / "openspec" / "specs").st_mtime_ns
    new = tree.write("openspec/changes/add-tokens/specs/billing/spec.md", "Notes without delta sections.\n")
    os.utime(new, ns=(past, past))  # even an old file appears: its folder changed
    messages = _messages(tree.root)["add-tokens"]
    assert FAKE[2] not in messages
    assert any(m.startswith("No delta sections found") for m in messages)


def test_an_edited_main_spec_revalidates_the_changes_that_read_it(tree: Tree) -> None:
    index = _hub(tree)
    tree.change(
        "rename-login",
        {"auth": "## MODIFIED Requirements\n" + req("Login", "The system SHALL log in.", "Valid credentials")},
    )
    _age(tree.root)
    assert _messages(tree.root)["rename-login"] == []
    _plant(index, "change:rename-login")
    tree.spec("auth", AUTH_SPEC.replace("Requirement: Login", "Requirement: Sign in"))
    messages = _messages(tree.root)["rename-login"]
    assert FAKE[2] not in messages
    assert messages == [
        'Archive would refuse this delta: auth MODIFIED failed for header "### Requirement: Login" - not found'
    ]


def test_a_changed_config_or_schema_folder_discards_the_index(tree: Tree) -> None:
    index = _hub(tree)
    _age(tree.root)
    _messages(tree.root)
    _plant(index, "change:add-tokens")
    tree.write("openspec/config.yaml", "schema: spec-driven\n")
    assert _messages(tree.root)["add-tokens"] == []
    _age(tree.root)
    _messages(tree.root)
    _plant(index, "change:add-tokens")
    (tree.root / "openspec" / "schemas").mkdir()
    assert _messages(tree.root)["add-tokens"] == []


def test_fresh_files_are_not_trusted_and_links_never_kept(tree: Tree) -> None:
    index = _hub(tree)
    _messages(tree.root)  # every file was just written: a second write in the same tick would not show
    assert json.loads(index.read_text())["entries"] == {}
    _age(tree.root)
    (tree.root / "openspec" / "changes" / "add-tokens" / "notes.md").symlink_to(tree.root / "openspec" / "config.yaml")
    _messages(tree.root)
    assert set(json.loads(index.read_text())["entries"]) == {"spec:auth"}


def test_a_damaged_or_foreign_index_is_ignored(tree: Tree) -> None:
    index = _hub(tree)
    _age(tree.root)
    _messages(tree.root)
    index.write_text("{not json")
    assert _messages(tree.root) == {"add-tokens": [], "auth": []}
    data = json.loads(index.read_text())
    data["root"] = "/elsewhere"
    data["entries"]["spec:auth"][1] = [FAKE]
    index.write_text(json.dumps(data))
    assert _messages(tree.root)["auth"] == []
    opened = ValidationIndex.open(tree.root)
    assert opened is not None and opened.entries.keys() == {"change:add-tokens", "spec:auth"}


def test_a_workflow_step_judges_the_files_never_the_index(tree: Tree) -> None:
    """A gate cannot be talked around by writing the index: the step validates the files afresh."""
    index = _hub(tree)
    brief = "## Purpose\nShort.\n## Requirements\n" + req("A", "The system SHALL a.")
    tree.write("openspec/specs/brief/spec.md", brief)
    _age(tree.root)
    assert "Purpose section is too brief" in " ".join(_messages(tree.root)["brief"])
    data: dict[str, Any] = json.loads(index.read_text())
    data["entries"]["spec:brief"][1] = []  # an index that says the broken spec is fine
    index.write_text(json.dumps(data))
    assert _messages(tree.root)["brief"] == []  # the validate command reads it back, files unchanged
    ctx = StepContext(
        hub_root=tree.root,
        change_id="add-tokens",
        change_dir=tree.root / "openspec" / "changes" / "add-tokens",
        state="propose",
        config=HubConfig(),
    )
    specs = StepRegistry(STEPS).evaluate("the specs pass strict validation", ctx)
    assert not specs.ok and "brief: Purpose section is too brief" in specs.reason
