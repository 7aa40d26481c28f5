"""The CLI commands: validate, list, show, archive, adopt (run in-process, as a user sees them)."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.unit.openspec.ostree import Tree, req

Cli = Callable[..., tuple[int, str, str]]


def _project(tree: Tree) -> None:
    tree.spec("auth")
    tree.change("good", {"auth": "## ADDED Requirements\n" + req("Audit", "The system SHALL audit.")})
    tree.change("soft", {"auth": "## ADDED Requirements\n" + req("Soft", "It is soft.")}, tasks="- [ ] a\n")


def test_validate_all_json_and_exit_codes(tree: Tree, cli: Cli) -> None:
    _project(tree)
    code, out, _ = cli("-C", tree.root, "validate", "--all", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"items", "summary", "version", "root"}
    code, out, _ = cli("-C", tree.root, "validate", "--all", "--strict", "--json")
    assert code == 1 and json.loads(out)["summary"]["totals"] == {"items": 3, "passed": 2, "failed": 1}


def test_validate_one_item_text(tree: Tree, cli: Cli) -> None:
    _project(tree)
    code, out, err = cli("-C", tree.root, "validate", "soft", "--strict")
    assert code == 1
    assert "Change 'soft' has issues" in err and '[WARNING] auth/spec.md: ADDED "Soft" should contain' in err
    code, out, _ = cli("-C", tree.root, "validate", "good")
    assert code == 0 and "Change 'good' is valid" in out
    code, out, _ = cli("-C", tree.root, "validate", "auth", "--json")
    assert code == 0 and json.loads(out)["summary"]["byType"] == {"spec": {"items": 1, "passed": 1, "failed": 0}}


def test_validate_unknown_and_nothing(tree: Tree, cli: Cli) -> None:
    _project(tree)
    code, out, _ = cli("-C", tree.root, "validate", "goood", "--json")
    assert code == 1
    assert json.loads(out)["status"][0] == {
        "severity": "error",
        "code": "unknown_item",
        "message": "Unknown item 'goood'. Did you mean: good, soft, auth?",
    }
    code, _, err = cli("-C", tree.root, "validate")
    assert code == 1 and "Nothing to validate" in err


def test_list_json_and_text(tree: Tree, cli: Cli) -> None:
    _project(tree)
    code, out, _ = cli("-C", tree.root, "list", "--json")
    doc = json.loads(out)
    assert code == 0 and {c["name"] for c in doc["changes"]} == {"good", "soft"}
    assert all(c["state"] is None and c["workflow"] is None for c in doc["changes"])
    code, out, _ = cli("-C", tree.root, "list")
    assert code == 0 and "soft" in out and "0/1 tasks" in out and "unmanaged" in out
    code, out, _ = cli("-C", tree.root, "list", "--specs", "--json")
    assert json.loads(out)["specs"] == [{"id": "auth", "requirementCount": 2}]


def test_show(tree: Tree, cli: Cli) -> None:
    _project(tree)
    code, out, _ = cli("-C", tree.root, "show", "good", "--json", "--deltas-only")
    assert code == 0 and json.loads(out)["deltaCount"] == 1
    code, out, _ = cli("-C", tree.root, "show", "auth")
    assert code == 0 and out.startswith("# auth Specification")
    code, _, err = cli("-C", tree.root, "show", "nothing")
    assert code == 1 and "Unknown item 'nothing'" in err


def test_archive_json_success_and_refusal(tree: Tree, cli: Cli) -> None:
    _project(tree)
    code, out, _ = cli("-C", tree.root, "archive", "soft", "--json")
    doc = json.loads(out)
    assert code == 1 and doc["archive"] is None and doc["status"][0]["code"] == "archive_tasks_incomplete"
    code, out, _ = cli("-C", tree.root, "archive", "good", "--json", "--yes")
    doc = json.loads(out)
    assert code == 0 and doc["archive"]["change"] == "good" and doc["archive"]["archivedAs"].endswith("-good")
    assert doc["archive"]["totals"] == {"added": 1, "modified": 0, "removed": 0, "renamed": 0}


def test_archive_text(tree: Tree, cli: Cli) -> None:
    _project(tree)
    code, out, _ = cli("-C", tree.root, "archive", "good", "-y")
    assert code == 0
    assert "Specs to update:\n  auth: update" in out and "Totals: + 1, ~ 0, - 0, → 0" in out
    assert "Change 'good' archived as '" in out


def test_archive_of_a_managed_change_goes_through_its_workflow(tree: Tree, cli: Cli) -> None:
    _project(tree)
    d = tree.root / "openspec" / "changes" / "good" / ".specflow"
    d.mkdir()
    (d / "state.json").write_text(json.dumps({"workflow": "openspec", "state": "propose"}))
    code, _, err = cli("-C", tree.root, "archive", "good", "--yes")
    assert code == 1
    assert "under workflow 'openspec' in state 'propose'; the workflow archives it from 'apply'" in err
    assert "specflow advance good" in err
    assert (tree.root / "openspec" / "changes" / "good").is_dir()
    code, out, _ = cli("-C", tree.root, "archive", "good", "--yes", "--json")
    assert json.loads(out)["status"][0]["code"] == "archive_managed_by_workflow"
    # from 'apply' the archive is the workflow's own transition, guarded by its given steps
    (d / "state.json").write_text(json.dumps({"workflow": "openspec", "state": "apply"}))
    (tree.root / "openspec" / "changes" / "good" / "tasks.md").write_text("- [ ] 1.1 not done yet\n")
    code, _, err = cli("-C", tree.root, "archive", "good", "--yes")
    assert code == 1
    assert "cannot advance 'good' from 'apply' to 'archive'" in err
    assert "all tasks are done" in err
    assert (tree.root / "openspec" / "changes" / "good").is_dir()


def test_adopt(tree: Tree, cli: Cli) -> None:
    _project(tree)
    (tree.root / "openspec" / "changes" / "good" / "exploration.md").write_text("notes\n")
    code, out, err = cli("-C", tree.root, "adopt", "good", "--workflow", "openspec")
    assert code == 0, err
    assert "adopted good under workflow 'openspec' in state 'apply'" in out
    code, out, _ = cli("-C", tree.root, "adopt", "--all", "--json")
    assert code == 0 and json.loads(out)["adopted"] == [
        {"change": "soft", "workflow": "openspec", "state": "propose", "reason": "proposal.md and tasks.md present"}
    ]
    code, _, err = cli("-C", tree.root, "adopt", "good")
    assert code == 1 and "already managed by specflow" in err
    code, _, err = cli("-C", tree.root, "adopt")
    assert code == 1 and "name one change to adopt, or pass --all" in err
    code, out, _ = cli("-C", tree.root, "list", "--json")
    assert {c["name"]: c["state"] for c in json.loads(out)["changes"]} == {"good": "apply", "soft": "propose"}


def test_hostile_files_give_answers_not_tracebacks(tree: Tree, cli: Cli) -> None:
    tree.spec("auth")
    d = tree.change("nasty", {"auth": "## ADDED Requirements\n" + req("A", "The system SHALL a.")})
    (d / ".openspec.yaml").write_bytes(b"\xff\xfe schema: !!python/object:os.system\n\x00")
    (d / "tasks.md").write_bytes(b"- [x] \xff\xfe\n")
    (d / "specs" / "dir-as-spec" / "spec.md").mkdir(parents=True)
    (d / "specs" / "auth" / "notes.md").write_bytes(b"\x00\x01## ADDED Requirements\n")
    (d / ".specflow").mkdir()
    (d / ".specflow" / "state.json").write_bytes(b"\xff{")
    tree.write("openspec/config.yaml", "schema: [unclosed\n")
    for args in (
        ("validate", "--all", "--json"),
        ("validate", "nasty"),
        ("list", "--json"),
        ("list",),
        ("list", "--specs"),
        ("show", "nasty", "--json"),
        ("show", "auth", "--json"),
        ("archive", "nasty", "--json", "--yes"),
    ):
        code, out, err = cli("-C", tree.root, *args)
        assert code in (0, 1), (args, out, err)
        assert "Traceback" not in err and "internal error" not in err, (args, err)
    code, _, err = cli("-C", tree.root, "adopt", "nasty")
    assert code == 1 and "already managed by specflow" in err


def test_adopt_all_goes_on_past_a_change_it_cannot_adopt(tree: Tree, cli: Cli) -> None:
    _project(tree)
    (tree.root / "openspec" / "changes" / "Bad_Name").mkdir()
    (tree.root / "openspec" / "changes" / "Bad_Name" / "proposal.md").write_text("## Why\nx\n")
    code, out, err = cli("-C", tree.root, "adopt", "--all", "--workflow", "openspec")
    assert code == 1
    assert "adopted good under workflow 'openspec'" in out
    assert "skipped Bad_Name: invalid change id 'Bad_Name'" in err
    assert (tree.root / "openspec" / "changes" / "good" / ".specflow" / "state.json").is_file()


def test_show_and_validate_refuse_an_item_that_leaves_its_folder(tree: Tree, cli: Cli) -> None:
    _project(tree)
    for command, kind, label in (("show", "change", "Change name"), ("validate", "spec", "Spec id")):
        code, out, err = cli("-C", tree.root, command, "../changes/good", "--type", kind, "--json")
        entry = {"severity": "error", "code": "invalid_item", "message": f"{label} must not contain path separators"}
        assert (code, json.loads(out), err) == (1, {"status": [entry]}, "")


def test_show_with_type_reads_the_item_as_that_kind(tree: Tree, cli: Cli) -> None:
    _project(tree)
    code, out, _ = cli("-C", tree.root, "show", "auth", "--type", "change", "--json")
    where = tree.root / "openspec" / "changes" / "auth" / "proposal.md"
    entry = {"severity": "error", "code": "show_error", "message": f'Change "auth" not found at {where}'}
    assert (code, json.loads(out)) == (1, {"status": [entry]})
    code, _, err = cli("-C", tree.root, "show", "good", "--type", "spec")
    where = tree.root / "openspec" / "specs" / "good" / "spec.md"
    assert (code, err) == (1, f"error: Spec 'good' not found at {where}\n")
