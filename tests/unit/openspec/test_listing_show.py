"""``list`` (with specflow state) and ``show`` data."""

from __future__ import annotations

import json
import os

from specflow.errors import ShowError
from specflow.openspec.jsonstr import stringify
from specflow.openspec.listing import iso_ms, list_changes, list_changes_json, list_specs_json
from specflow.openspec.show import show_change_json, show_spec_json, show_spec_text
from tests.unit.openspec.ostree import Tree, req


def test_list_counts_status_state_and_order(tree: Tree) -> None:
    a = tree.change("alpha", tasks="- [x] a\n- [ ] b\n")
    b = tree.change("beta", tasks="- [x] a\n")
    tree.change("gamma", tasks=None)
    (b / ".specflow").mkdir()
    (b / ".specflow" / "state.json").write_text(json.dumps({"workflow": "openspec", "state": "apply"}))
    os.utime(a / "tasks.md", ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    doc = list_changes_json(tree.root)
    assert doc["changes"][0]["name"] == "alpha"  # most recently modified first
    by = {c["name"]: c for c in doc["changes"]}
    assert (by["alpha"]["completedTasks"], by["alpha"]["totalTasks"], by["alpha"]["status"]) == (1, 2, "in-progress")
    assert (by["beta"]["status"], by["beta"]["state"], by["beta"]["workflow"]) == ("complete", "apply", "openspec")
    assert by["gamma"]["status"] == "no-tasks" and by["gamma"]["state"] is None and by["gamma"]["workflow"] is None
    assert by["alpha"]["lastModified"] == "2033-05-18T03:33:20.000Z"
    assert list(by["alpha"]) == ["name", "completedTasks", "totalTasks", "lastModified", "status", "state", "workflow"]


def test_list_reports_corrupt_state_and_nested_folders(tree: Tree) -> None:
    d = tree.change("broken")
    (d / ".specflow").mkdir()
    (d / ".specflow" / "state.json").write_text("{not json")
    tree.write("openspec/changes/wrap/inner/proposal.md", "# x\n")
    doc = list_changes_json(tree.root)
    codes = sorted(w["code"] for w in doc["warnings"])
    assert codes == ["nested_change_directory", "specflow_state_unreadable"]
    nested = next(c for c in doc["changes"] if c["name"] == "wrap")
    assert nested["nested"] == ["wrap/inner"]


def test_list_empty_and_specs(tree: Tree) -> None:
    assert list_changes(tree.root) == []
    tree.spec("auth")
    tree.spec("zeta/sub")
    tree.write("openspec/specs/broken/spec.md", "no sections\n")
    doc = list_specs_json(tree.root)
    assert doc["specs"] == [
        {"id": "auth", "requirementCount": 2},
        {"id": "broken", "requirementCount": 0},
        {"id": "zeta/sub", "requirementCount": 2},
    ]


def test_iso_ms() -> None:
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"


def test_show_change_and_spec(tree: Tree) -> None:
    tree.spec("auth")
    tree.change(
        "c",
        {
            "auth": "## ADDED Requirements\n"
            + req("Audit", "The system SHALL audit.")
            + "## REMOVED Requirements\n- ### Requirement: Logout\n"
            + "## RENAMED Requirements\n- FROM: `### Requirement: Login`\n- TO: `### Requirement: Sign in`\n"
        },
    )
    doc = show_change_json(tree.root, "c")
    assert doc["id"] == "c" and doc["title"] == "c" and doc["deltaCount"] == 3
    ops = [(d["operation"], d["description"]) for d in doc["deltas"]]
    assert ops == [
        ("ADDED", "Add requirement: The system SHALL audit."),
        ("REMOVED", "Remove requirement: Requirement: Logout"),
        ("RENAMED", 'Rename requirement from "Login" to "Sign in"'),
    ]
    spec = show_spec_json(tree.root, "auth")
    assert spec["requirementCount"] == 2 and spec["requirements"][0]["scenarios"][0]["rawText"].startswith("- **WHEN**")
    tree.change("no-proposal", proposal=False)
    try:
        show_change_json(tree.root, "no-proposal")
    except ShowError as exc:
        assert "has no proposal.md yet" in str(exc)
    else:  # pragma: no cover - the call must fail
        raise AssertionError("show of a change without proposal.md must fail")


SHOWN_AS_WRITTEN = """\
# tricky Specification

## Purpose
Quotes " and \\ backslashes, tabs\tand ünïcödé 🚀, a line
break — all must come out as JSON.stringify writes them.

## Requirements
### Requirement: No scenario
The system SHALL stand alone.

### Requirement: Quoted "name"
  **ID**: R-1
The system MUST say "hi" \\o/ 🚀

#### Scenario: One
- **WHEN** a \u2028 separator
- **THEN** it stays

#### Scenario: Two
```
#### not a scenario, fenced
```
- **THEN** fine

### Requirement: Body only metadata
**Owner**: ana
"""


def test_show_spec_text_is_the_stringified_document(tree: Tree) -> None:
    tree.spec("tricky", SHOWN_AS_WRITTEN)
    tree.spec(
        "empty", "# empty\n\n## Purpose\nA purpose long enough to be a purpose, nothing else.\n\n## Requirements\n"
    )
    for spec_id in ("tricky", "empty", "auth"):
        if spec_id == "auth":
            tree.spec("auth")
        assert show_spec_text(tree.root, spec_id) == stringify(show_spec_json(tree.root, spec_id))
    doc = json.loads(show_spec_text(tree.root, "tricky"))
    assert [len(r["scenarios"]) for r in doc["requirements"]] == [0, 2, 0]
