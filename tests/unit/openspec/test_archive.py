"""Archive: the whole operation, its refusals, atomicity and idempotence."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from specflow.errors import ArchiveBlocked, ArchiveCancelled
from specflow.openspec.archive import archive_change, archive_name, match_line_ending
from tests.unit.openspec.ostree import AUTH_SPEC, Tree, req

TODAY = date(2026, 3, 4)


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath, n)
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def test_archive_merges_and_moves_with_specflow_state(tree: Tree) -> None:
    tree.spec("auth")
    d = tree.change("add-audit", {"auth": "## ADDED Requirements\n" + req("Audit", "The system SHALL audit.")})
    (d / ".specflow").mkdir()
    (d / ".specflow" / "state.json").write_text('{"state": "apply"}\n')
    result = archive_change(tree.root, "add-audit", yes=True, today=TODAY)
    assert result.archived_as == "2026-03-04-add-audit"
    assert result.to_json()["totals"] == {"added": 1, "modified": 0, "removed": 0, "renamed": 0}
    assert result.specs_updated is True
    assert "### Requirement: Audit" in tree.read("openspec/specs/auth/spec.md")
    archived = tree.root / "openspec/changes/archive/2026-03-04-add-audit"
    assert (archived / ".specflow" / "state.json").read_text() == '{"state": "apply"}\n'
    assert not d.exists()
    assert not (tree.root / "openspec/changes/archive/.openspec-archive.lock").exists()
    assert "archived add-audit as 2026-03-04-add-audit" in result.summary()


def test_dated_names_are_not_doubled() -> None:
    assert archive_name("2025-12-01-x", TODAY) == "2025-12-01-x"
    assert archive_name("x", TODAY) == "2026-03-04-x"


def test_refusals_change_nothing(tree: Tree) -> None:
    tree.spec("auth")
    tree.spec("billing", AUTH_SPEC.replace("auth", "billing"))
    tree.change(
        "half-bad",
        {
            "auth": "## ADDED Requirements\n" + req("Fine", "The system SHALL be fine."),
            "billing": "## MODIFIED Requirements\n" + req("Missing", "The system SHALL miss."),
        },
    )
    before = _files(tree.root)
    with pytest.raises(ArchiveBlocked) as info:
        archive_change(tree.root, "half-bad", yes=True, today=TODAY)
    assert info.value.code == "archive_spec_update_failed"
    assert "billing MODIFIED failed" in info.value.message
    assert info.value.fix == "Fix the change delta specs and rerun. No files were changed."
    assert _files(tree.root) == before


def test_incomplete_tasks_need_yes(tree: Tree) -> None:
    tree.spec("auth")
    tree.change("open", {"auth": "## ADDED Requirements\n" + req("A", "The system SHALL a.")}, tasks="- [ ] x\n")
    with pytest.raises(ArchiveBlocked) as info:
        archive_change(tree.root, "open", today=TODAY)
    assert info.value.code == "archive_tasks_incomplete"
    assert info.value.diagnostic() == {
        "severity": "error",
        "code": "archive_tasks_incomplete",
        "message": "1 incomplete task(s) found for change 'open'.",
        "fix": "Complete the tasks or rerun with --yes.",
    }
    asked: list[str] = []

    def confirm(question: str) -> bool:
        asked.append(question)
        return True

    result = archive_change(tree.root, "open", confirm=confirm, today=TODAY)
    assert result.archived_as == "2026-03-04-open"
    assert asked == ["Warning: 1 incomplete task(s) found. Continue?", "Proceed with spec updates?"]


def test_validation_failure_lists_issues(tree: Tree) -> None:
    tree.change("bad", {"auth": "## ADDED Requirements\n### Requirement: A\nThe system SHALL a.\n"})
    with pytest.raises(ArchiveBlocked) as info:
        archive_change(tree.root, "bad", yes=True)
    assert info.value.code == "archive_validation_failed"
    assert info.value.issues and info.value.issues[0]["level"] == "ERROR"


def test_target_exists_before_any_spec_changes(tree: Tree) -> None:
    tree.spec("auth")
    tree.change("dup", {"auth": "## ADDED Requirements\n" + req("A", "The system SHALL a.")})
    (tree.root / "openspec/changes/archive/2026-03-04-dup").mkdir()
    before = _files(tree.root)
    with pytest.raises(ArchiveBlocked, match=r"Archive '2026-03-04-dup' already exists\."):
        archive_change(tree.root, "dup", yes=True, today=TODAY)
    assert _files(tree.root) == before


def test_failed_move_rolls_specs_back(tree: Tree, monkeypatch: pytest.MonkeyPatch) -> None:
    tree.spec("auth")
    tree.change(
        "add-x",
        {
            "auth": "## ADDED Requirements\n" + req("X", "The system SHALL x."),
            "fresh": "## ADDED Requirements\n" + req("Y", "The system SHALL y."),
        },
    )
    before = _files(tree.root)

    def broken_rename(src: object, dst: object) -> None:
        raise OSError(5, "Input/output error", str(src))

    monkeypatch.setattr(os, "rename", broken_rename)
    with pytest.raises(Exception, match="EIO: input/output error"):
        archive_change(tree.root, "add-x", yes=True, today=TODAY)
    assert _files(tree.root) == before
    assert not (tree.root / "openspec/specs/fresh").exists()


def test_line_endings_are_kept(tree: Tree) -> None:
    (tree.root / "openspec/specs/auth").mkdir(parents=True)
    (tree.root / "openspec/specs/auth/spec.md").write_bytes(AUTH_SPEC.replace("\n", "\r\n").encode())
    tree.change("crlf", {"auth": "## ADDED Requirements\n" + req("X", "The system SHALL x.")})
    archive_change(tree.root, "crlf", yes=True, today=TODAY)
    data = (tree.root / "openspec/specs/auth/spec.md").read_bytes()
    assert b"### Requirement: X\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert match_line_ending("a\nb\n", "x\r\ny\n") == "a\r\nb\r\n"
    assert match_line_ending("a\nb\n", "no newline") == "a\nb\n"


def test_retire_capabilities(tree: Tree) -> None:
    solo = "# solo Specification\n\n## Purpose\nA capability with one requirement, about to go away.\n\n"
    solo += "## Requirements\n"
    tree.spec("solo", solo + req("Only", "The system SHALL be alone."))
    tree.change("drop", {"solo": "## REMOVED Requirements\n### Requirement: Only\n"})
    with pytest.raises(ArchiveBlocked) as info:
        archive_change(tree.root, "drop", yes=True, today=TODAY)
    assert info.value.code == "archive_spec_validation_failed"
    assert "retire_capabilities: true" in (info.value.fix or "")
    (tree.root / "openspec/changes/drop/.openspec.yaml").write_text("schema: spec-driven\nretire_capabilities: true\n")
    result = archive_change(tree.root, "drop", yes=True, today=TODAY)
    assert not (tree.root / "openspec/specs/solo").exists()
    assert "capability retired" in result.warnings[0]


def test_archiving_the_same_delta_twice_changes_nothing(tree: Tree) -> None:
    tree.spec("auth")
    delta = {"auth": "## ADDED Requirements\n" + req("X", "The system SHALL x.")}
    tree.change("first", delta)
    archive_change(tree.root, "first", yes=True, today=TODAY)
    after_first = tree.read("openspec/specs/auth/spec.md")
    tree.change("again", delta)
    result = archive_change(tree.root, "again", yes=True, today=TODAY)
    assert result.totals is not None and result.totals.total == 0 and result.specs_updated is False
    assert tree.read("openspec/specs/auth/spec.md") == after_first


def test_not_found_and_symlink(tree: Tree) -> None:
    tree.change("real")
    with pytest.raises(ArchiveBlocked, match=r"Change 'nope' not found\. Available changes: real"):
        archive_change(tree.root, "nope", yes=True)
    os.symlink("real", tree.root / "openspec/changes/link")
    with pytest.raises(ArchiveBlocked) as info:
        archive_change(tree.root, "link", yes=True)
    assert info.value.code == "archive_change_symlink"
    with pytest.raises(ArchiveBlocked, match="must not contain path separators"):
        archive_change(tree.root, "../x", yes=True)


def test_questions_declined_or_unanswerable(tree: Tree) -> None:

    tree.spec("auth")
    tree.change("open", {"auth": "## ADDED Requirements\n" + req("A", "The system SHALL a.")}, tasks="- [ ] x\n")
    before = _files(tree.root)
    with pytest.raises(ArchiveCancelled):
        archive_change(tree.root, "open", confirm=lambda q: False, today=TODAY)
    with pytest.raises(ArchiveBlocked) as info:
        archive_change(tree.root, "open", confirm=lambda q: None, today=TODAY)
    assert "no answer could be read from stdin" in info.value.message
    assert info.value.fix == "Complete the tasks or rerun with specflow archive open --yes"
    assert _files(tree.root) == before
    # yes to the tasks, no to the spec updates: filed away, specs untouched
    answers = iter([True, False])
    result = archive_change(tree.root, "open", confirm=lambda q: next(answers), today=TODAY)
    assert result.totals is None and result.specs_updated is False
    assert tree.read("openspec/specs/auth/spec.md") == AUTH_SPEC
    assert (tree.root / "openspec/changes/archive/2026-03-04-open").is_dir()


def test_a_spec_edited_while_the_archive_waits_for_an_answer_is_not_overwritten(tree: Tree) -> None:
    tree.spec("auth")
    tree.change("add-audit", {"auth": "## ADDED Requirements\n" + req("Audit", "The system SHALL audit.")})
    spec = tree.root / "openspec/specs/auth/spec.md"
    edited = AUTH_SPEC + "\n<!-- edited by hand while the question was open -->\n"

    def answer(question: str) -> bool:
        spec.write_text(edited)  # someone saves the spec while "Proceed with spec updates?" waits
        return True

    before = _files(tree.root)
    with pytest.raises(ArchiveBlocked) as info:
        archive_change(tree.root, "add-audit", confirm=answer, today=TODAY)
    assert info.value.code == "archive_spec_changed"
    assert str(spec) in info.value.message and "changed while the archive was being prepared" in info.value.message
    assert "run the archive again" in (info.value.fix or "")
    assert tree.read("openspec/specs/auth/spec.md") == edited
    assert _files(tree.root) == {**before, "openspec/specs/auth/spec.md": edited.encode()}
    # run again: the delta merges into the spec as it is now, the hand edit kept
    archive_change(tree.root, "add-audit", yes=True, today=TODAY)
    merged = tree.read("openspec/specs/auth/spec.md")
    assert "edited by hand" in merged and "### Requirement: Audit" in merged
