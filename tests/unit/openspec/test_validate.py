"""Validation rules, levels and strictness (parity with the real CLI is in tests/parity)."""

from __future__ import annotations

from specflow.openspec.validate import (
    ERROR,
    INFO,
    WARNING,
    report_json,
    validate_change,
    validate_items,
    validate_spec,
    validate_spec_content,
)
from tests.unit.openspec.ostree import AUTH_SPEC, Tree, req


def _levels(report) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(i.level, i.message.split(".")[0][:60]) for i in report.issues]


def test_valid_change_and_strict_warning(tree: Tree) -> None:
    tree.spec("auth")
    tree.change("ok", {"auth": "## ADDED Requirements\n" + req("Tokens", "The system SHALL issue tokens.")})
    assert validate_change(tree.root, "ok").issues == []
    tree.change("soft", {"auth": "## ADDED Requirements\n" + req("Soft", "It issues tokens.")})
    report = validate_change(tree.root, "soft")
    assert [i.level for i in report.issues] == [WARNING]
    assert report.valid() and not report.valid(strict=True)


def test_change_errors(tree: Tree) -> None:
    tree.spec("auth")
    tree.change(
        "bad",
        {
            "auth": "## ADDED Requirements\n### Requirement: Bare\nThe system SHALL be bare.\n"
            "## MODIFIED Requirements\n" + req("Login", "The system SHALL log in.", "Something else"),
        },
    )
    report = validate_change(tree.root, "bad")
    messages = [i.message for i in report.issues]
    assert 'ADDED "Bare" must include at least one scenario' in messages
    lost = 'MODIFIED "Login" omits scenario(s) the current spec still has: "Valid credentials"'
    assert any(m.startswith(lost) for m in messages)
    assert not report.valid()


def test_no_deltas_and_skip_specs(tree: Tree) -> None:
    tree.change("empty")
    assert [i.level for i in validate_change(tree.root, "empty").issues] == [ERROR]
    tree.change("skip", meta="schema: spec-driven\nskip_specs: true\n")
    report = validate_change(tree.root, "skip")
    assert [i.level for i in report.issues] == [INFO] and report.valid(strict=True)


def test_archive_dry_run_is_info(tree: Tree) -> None:
    tree.spec("auth")
    tree.change("ghost", {"auth": "## MODIFIED Requirements\n" + req("Ghost", "The system SHALL haunt.")})
    (issue,) = validate_change(tree.root, "ghost").issues
    assert issue.level == INFO
    assert issue.message == (
        'Archive would refuse this delta: auth MODIFIED failed for header "### Requirement: Ghost" - not found'
    )


def test_issue_lines_are_kept(tree: Tree) -> None:
    delta = req("Early", "The system SHALL.") + "## ADDED Requirements\n" + req("A", "The system SHALL a.")
    tree.change("orphan", {"auth": delta})
    (issue,) = validate_change(tree.root, "orphan").issues
    assert issue.to_json() == {
        "level": WARNING,
        "path": "auth/spec.md",
        "line": 1,
        "message": issue.message,
    }


def test_nested_folder_is_not_a_change(tree: Tree) -> None:
    tree.write("openspec/changes/wrap/inner/proposal.md", "# x\n")
    (issue,) = validate_change(tree.root, "wrap").issues
    assert issue.message.startswith('"wrap" is not a change: it is a folder wrapping openspec/changes/wrap/inner/.')


def test_spec_rules(tree: Tree) -> None:
    assert validate_spec_content("auth", AUTH_SPEC).issues == []
    brief = AUTH_SPEC.replace("Authentication of users across the platform, including sessions and tokens.", "Short.")
    assert [i.level for i in validate_spec_content("auth", brief).issues] == [WARNING]
    (err,) = validate_spec_content("x", "# x\n").issues
    assert err.level == ERROR and err.message.startswith("Spec must have a Purpose section. Missing required sections.")
    no_scen = "## Purpose\n" + "p" * 60 + "\n## Requirements\n### Requirement: A\nThe system SHALL a.\n"
    assert [(i.level, i.path) for i in validate_spec_content("x", no_scen).issues] == [
        (ERROR, "requirements.0.scenarios"),
        (WARNING, "requirements[0].scenarios"),
    ]
    tree.spec("auth")
    assert validate_spec(tree.root, "auth").issues == []


def test_tree_report_shape(tree: Tree) -> None:
    tree.spec("auth")
    tree.change("ok", {"auth": "## ADDED Requirements\n" + req("Tokens", "The system SHALL issue tokens.")})
    tree.change("empty")
    results = validate_items(tree.root, strict=True)
    doc = report_json(results, tree.root)
    assert [i["id"] for i in doc["items"]] == ["auth", "empty", "ok"]
    assert doc["summary"] == {
        "totals": {"items": 3, "passed": 2, "failed": 1},
        "byType": {"change": {"items": 2, "passed": 1, "failed": 1}, "spec": {"items": 1, "passed": 1, "failed": 0}},
    }
    assert doc["version"] == "1.0" and doc["root"] == {"path": str(tree.root), "source": "nearest"}
    assert set(doc["items"][0]) == {"id", "type", "valid", "issues", "durationMs"}


def test_dot_specflow_does_not_affect_validation(tree: Tree) -> None:
    tree.spec("auth")
    d = tree.change("ok", {"auth": "## ADDED Requirements\n" + req("Tokens", "The system SHALL issue tokens.")})
    (d / ".specflow").mkdir()
    (d / ".specflow" / "state.json").write_text('{"state": "propose"}')
    (d / ".specflow" / "notes.md").write_text("## ADDED Requirements\n")
    assert validate_change(tree.root, "ok").issues == []
