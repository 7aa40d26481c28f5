"""A nested ``.git`` made in a tracked folder is removed, saved first; the folder's files stay as they were.

Three shapes: ``git init`` there (no commit), a nested repository with commits (git then sees the
folder as one entry and its tracked files as deleted), and a ``.git`` *file* pointing at another
repository's git folder.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from specflow.workspace import audit as audit_module
from specflow.workspace import checkpointstore, fileaudit, filestats
from specflow.workspace.audit import AuditReport
from specflow.workspace.rejected import trash_dir
from tests.conftest import commit_all, git, init_repo
from tests.unit.test_audit import propose, run_turn
from tests.unit.test_workspaces import MultiHub, make_multi_hub


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    return make_multi_hub(tmp_path)


def saved_under_trash(multi: MultiHub, report: AuditReport) -> dict[str, str]:
    ws = multi.workspaces()
    trash = trash_dir(ws.store, report.checkpoint)
    manifest: dict[str, str] = json.loads((trash / "manifest.json").read_text())
    return manifest


def assert_docs_as_before(multi: MultiHub) -> None:
    docs = multi.worktree / "docs"
    assert not (docs / ".git").exists()
    assert (docs / "style.md").read_text() == "be nice\n"
    assert git(multi.worktree, "status", "--porcelain", "--", "docs") == ""


def test_git_init_in_a_tracked_folder_is_removed_and_saved(multi: MultiHub) -> None:
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: git(multi.worktree / "docs", "init", "-q"))
    assert {(v.workspace, v.path, v.kind) for v in report.violations} == {("hub", "docs/.git", "git")}
    assert_docs_as_before(multi)
    saved = saved_under_trash(multi, report)
    (kept,) = [p for p, origin in saved.items() if origin == str(multi.worktree / "docs" / ".git")]
    assert (trash_dir(ws.store, report.checkpoint) / kept / "HEAD").is_file()


def test_a_nested_repository_with_commits_in_a_tracked_folder_is_undone(multi: MultiHub) -> None:
    ws = multi.workspaces()

    def agent() -> None:
        nested = init_repo(multi.worktree / "docs")
        (nested / "hidden.md").write_text("work hidden in a nested repo\n")
        commit_all(nested, "hide")

    report = run_turn(ws, propose(ws), agent)
    found = {(v.workspace, v.path, v.kind) for v in report.violations}
    assert found == {("hub", "docs/.git", "git"), ("hub", "docs/hidden.md", "added")}
    assert_docs_as_before(multi)
    assert not (multi.worktree / "docs" / "hidden.md").exists()
    saved = saved_under_trash(multi, report)
    (kept,) = [p for p, origin in saved.items() if origin == str(multi.worktree / "docs" / ".git")]
    trash = trash_dir(ws.store, report.checkpoint)
    assert git(trash / kept, "--git-dir", ".", "log", "-1", "--format=%s").strip() == "hide"
    (hidden,) = [v.saved for v in report.violations if v.path == "docs/hidden.md"]
    assert git(multi.worktree, "show", f"{hidden}:docs/hidden.md") == "work hidden in a nested repo\n"


def test_a_nested_git_folder_there_at_the_checkpoint_stays(multi: MultiHub) -> None:
    git(multi.worktree / "docs", "init", "-q")
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: None)
    assert report.violations == []
    assert (multi.worktree / "docs" / ".git" / "HEAD").is_file()


def test_a_git_file_pointing_at_another_repository_is_removed_and_saved(multi: MultiHub) -> None:
    ws = multi.workspaces()
    target = multi.api / ".git"

    def agent() -> None:
        (multi.worktree / "docs" / ".git").write_text(f"gitdir: {target}\n")

    report = run_turn(ws, propose(ws), agent)
    assert {(v.workspace, v.path, v.kind) for v in report.violations} == {("hub", "docs/.git", "git")}
    assert "file pointing elsewhere" in report.violations[0].detail
    assert_docs_as_before(multi)
    saved = Path(report.violations[0].saved)
    assert saved.read_text() == f"gitdir: {target}\n"
    assert git(multi.api, "status", "--porcelain") == "", "the other repository is untouched"


def test_a_nested_git_folder_made_between_turns_is_known_to_the_next_checkpoint(multi: MultiHub) -> None:
    # the second checkpoint starts from the first one's snapshot: the folders that one knew are
    # looked at while git adds, and what they hold is recorded as for any checkpoint
    ws = multi.workspaces()
    policy = propose(ws)
    assert run_turn(ws, policy, lambda: None).violations == []
    git(multi.worktree / "docs", "init", "-q")  # the person's, between the turns
    (multi.worktree / "notes").mkdir()
    (multi.worktree / "notes" / "todo.md").write_text("a folder new to this checkpoint\n")
    report = run_turn(ws, policy, lambda: None)
    assert report.violations == []
    assert (multi.worktree / "docs" / ".git" / "HEAD").is_file()
    # and a third turn whose agent makes one in the folder new to the second checkpoint is caught
    report = run_turn(ws, policy, lambda: git(multi.worktree / "notes", "init", "-q"))
    assert {(v.workspace, v.path, v.kind) for v in report.violations} == {("hub", "notes/.git", "git")}


def test_the_audit_looks_for_a_nested_git_while_add_runs_and_adds_again_only_after_it_moved_one(
    multi: MultiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = multi.workspaces()
    adds: list[subprocess.Popen[bytes]] = []  # the adds of the hub's worktree, where docs/ is
    real_popen = subprocess.Popen

    def popen(argv: list[str], *args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        proc = real_popen(argv, *args, **kwargs)
        if "add" in argv and Path(kwargs["cwd"]) == multi.worktree:
            adds.append(proc)
        return proc

    looked: list[int] = []  # how many adds had started when the audit looked
    real_remove = fileaudit.remove_nested_git

    def remove(*args: Any) -> bool:
        looked.append(len(adds))
        return real_remove(*args)

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(audit_module, "remove_nested_git", remove)

    def agent(work: Callable[[], object]) -> Callable[[], None]:
        def turn() -> None:
            adds.clear()  # the checkpoint's add is not the audit's
            work()

        return turn

    report = run_turn(ws, propose(ws), agent(lambda: (multi.worktree / "docs" / "more.md").write_text("more\n")))
    assert looked == [1] and len(adds) == 1  # nothing found: one add, the look beside it
    assert {(v.path, v.kind) for v in report.violations} == {("docs/more.md", "added")}

    looked.clear()
    report = run_turn(ws, propose(ws), agent(lambda: git(multi.worktree / "docs", "init", "-q")))
    assert looked == [1] and len(adds) == 2  # a .git moved while the first add ran: a second add
    assert {(v.path, v.kind) for v in report.violations} == {("docs/.git", "git")}
    assert_docs_as_before(multi)


def test_the_checkpoint_looks_for_a_nested_git_while_its_add_runs(
    multi: MultiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = multi.workspaces()
    assert run_turn(ws, propose(ws), lambda: None).violations == []  # a seed: the folders it knew
    adds: list[str] = []
    real_popen = subprocess.Popen

    def popen(argv: list[str], *args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        if "add" in argv and Path(kwargs["cwd"]) == multi.worktree:
            adds.append(str(kwargs["cwd"]))
        return real_popen(argv, *args, **kwargs)

    looked: list[tuple[int, int]] = []  # (adds started, folders) at each look

    def holding(top: Path, folders: Iterable[bytes]) -> dict[bytes, bool]:
        folders = list(folders)
        if top == multi.worktree:
            looked.append((len(adds), len(folders)))
        return filestats.holding_git(top, folders)

    monkeypatch.setattr(subprocess, "Popen", popen)
    monkeypatch.setattr(checkpointstore, "holding_git", holding)
    git(multi.worktree / "docs", "init", "-q")  # the person's, between the turns
    checkpoint = ws.checkpoint(phase="propose", state="explore")
    assert len(looked) == 1 and looked[0][0] == 1 and looked[0][1] > 0  # after the add began, not before
    assert ws.store.read_local(checkpoint.number)["nested_git"]["hub"] == ["docs"]
