"""The records folder: in git's folder of the hub's repository, old records moved there once."""

from __future__ import annotations

import subprocess
from pathlib import Path

from specflow.changestate.lock import ChangeLock
from specflow.localdir import MOVED_NOTE, records_dir


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_records_live_in_the_git_common_dir_and_old_ones_are_moved_once(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    old = tmp_path / ".specflow"
    (old / "locks").mkdir(parents=True)
    (old / "locks" / "add-x.json").write_text('{"pid": 1}', encoding="utf-8")
    (old / "workspaces" / "add-x" / "checkpoints").mkdir(parents=True)
    (old / "workspaces" / "add-x" / "checkpoints" / "1.json").write_text("{}", encoding="utf-8")
    (old / "worktrees" / "add-x").mkdir(parents=True)
    folder = records_dir(tmp_path)
    assert folder == tmp_path / ".git" / "specflow"
    assert (folder / "locks" / "add-x.json").read_text(encoding="utf-8") == '{"pid": 1}'
    assert (folder / "workspaces" / "add-x" / "checkpoints" / "1.json").is_file()
    assert not (old / "locks").exists() and not (old / "workspaces").exists()
    assert (old / "worktrees" / "add-x").is_dir(), "worktrees stay where they are"
    note = (old / MOVED_NOTE).read_text(encoding="utf-8")
    assert "locks, workspaces" in note and str(folder) in note
    # once: records written in the old place later are never read
    (old / "locks").mkdir()
    (old / "locks" / "add-y.json").write_text('{"pid": 1}', encoding="utf-8")
    assert records_dir(tmp_path) == folder
    assert ChangeLock(tmp_path, "add-y").holder() is None


def test_a_linked_worktree_of_the_hub_finds_the_same_records(tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    hub.mkdir()
    _git(hub, "init", "-q")
    _git(hub, "commit", "-q", "--allow-empty", "-m", "base")
    _git(hub, "worktree", "add", "-q", "-b", "specflow/add-x", str(tmp_path / "wt"))
    assert records_dir(tmp_path / "wt") == records_dir(hub) == hub / ".git" / "specflow"


def test_a_hub_below_its_repositorys_top_gets_a_folder_of_its_own(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = records_dir(tmp_path / "a"), records_dir(tmp_path / "b")
    assert first.parent == second.parent == tmp_path / ".git" / "specflow"
    assert first != second


def test_a_hub_in_no_repository_keeps_its_records_in_its_own_folder(tmp_path: Path) -> None:
    assert records_dir(tmp_path) == tmp_path / ".specflow"
