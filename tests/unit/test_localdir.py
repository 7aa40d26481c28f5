"""The records folder: in git's folder of the hub's repository, old records moved there once."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from specflow.changestate.lock import ChangeLock
from specflow.errors import SetupError
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


@pytest.fixture
def separate_hub(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """``(hub, git_dir)``: a hub whose git folder is on another filesystem (a tmpfs), as
    ``git init --separate-git-dir`` can make it."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a filesystem of its own (Linux)")
    other = Path(tempfile.mkdtemp(prefix="specflow-test-", dir=shm))
    try:
        hub = tmp_path / "hub"
        hub.mkdir()
        _git(hub, "init", "-q", f"--separate-git-dir={other / 'repo.git'}")
        yield hub, other / "repo.git"
    finally:
        shutil.rmtree(other)


def _old_records(hub: Path) -> Path:
    old = hub / ".specflow"
    (old / "locks").mkdir(parents=True)
    (old / "locks" / "add-x.json").write_text('{"pid": 1}', encoding="utf-8")
    (old / "transcripts" / "add-x").mkdir(parents=True)
    (old / "transcripts" / "add-x" / "propose.jsonl").write_text("{}\n", encoding="utf-8")
    (old / "worktrees" / "add-x").mkdir(parents=True)
    return old


def test_old_records_are_copied_into_a_git_folder_on_another_filesystem(separate_hub: tuple[Path, Path]) -> None:
    hub, git_dir = separate_hub
    old = _old_records(hub)
    folder = records_dir(hub)
    assert folder == git_dir / "specflow"
    assert (folder / "locks" / "add-x.json").read_text(encoding="utf-8") == '{"pid": 1}'
    assert (folder / "transcripts" / "add-x" / "propose.jsonl").read_text(encoding="utf-8") == "{}\n"
    assert not (old / "locks").exists() and not (old / "transcripts").exists()
    assert (old / "worktrees" / "add-x").is_dir()
    assert "locks, transcripts" in (old / MOVED_NOTE).read_text(encoding="utf-8")
    assert sorted(p.name for p in git_dir.iterdir() if p.name.startswith("specflow")) == ["specflow"]


def test_a_copy_that_fails_leaves_every_record_where_it_was(
    separate_hub: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub, git_dir = separate_hub
    old = _old_records(hub)
    copies: list[str] = []
    copytree = shutil.copytree

    def full_disk(src: Path, dst: Path, **kwargs: object) -> None:
        copies.append(Path(src).name)
        if len(copies) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        copytree(src, dst, symlinks=True)

    monkeypatch.setattr(shutil, "copytree", full_disk)
    with pytest.raises(SetupError, match=r"could not move specflow's records from .*: No space left") as refused:
        records_dir(hub)
    assert refused.value.fix is not None and f"the records are still in {old}" in refused.value.fix
    assert copies == ["locks", "transcripts"]
    assert (old / "locks" / "add-x.json").read_text(encoding="utf-8") == '{"pid": 1}'
    assert (old / "transcripts" / "add-x" / "propose.jsonl").is_file()
    assert not (old / MOVED_NOTE).exists()
    assert not [p for p in git_dir.iterdir() if p.name.startswith("specflow")]
    monkeypatch.undo()
    assert (records_dir(hub) / "locks" / "add-x.json").is_file(), "the next run moves them"


@pytest.mark.parametrize("hand_back", ["works", "fails"])
def test_a_move_refused_at_its_last_step_loses_no_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hand_back: str
) -> None:
    _git(tmp_path, "init", "-q")
    old = _old_records(tmp_path)
    rename = os.rename

    def refused(src: str | Path, dst: str | Path) -> None:
        if Path(dst).name == "specflow" or (hand_back == "fails" and Path(dst).parent == old):
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        rename(src, dst)

    monkeypatch.setattr(os, "rename", refused)
    with pytest.raises(SetupError, match="Permission denied") as failed:
        records_dir(tmp_path)
    staging = [p for p in (tmp_path / ".git").iterdir() if p.name.startswith("specflow")]
    if hand_back == "works":
        assert (old / "locks" / "add-x.json").read_text(encoding="utf-8") == '{"pid": 1}'
        assert (old / "transcripts" / "add-x" / "propose.jsonl").is_file()
        assert staging == []
    else:  # the renamed parts stay in the staging folder, which the message names
        assert len(staging) == 1 and not (old / "locks").exists()
        assert (staging[0] / "locks" / "add-x.json").read_text(encoding="utf-8") == '{"pid": 1}'
        assert (staging[0] / "transcripts" / "add-x" / "propose.jsonl").is_file()
        assert f"but for locks, transcripts, in {staging[0]}" in str(failed.value.fix)
