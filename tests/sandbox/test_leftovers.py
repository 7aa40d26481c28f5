"""What a killed run's agent left in its private temporary folder: removed by recovery, and only that."""

from __future__ import annotations

from pathlib import Path

import pytest

from specflow.sandbox.launch import TMPDIR_PREFIX, remove_left_tmpdir
from specflow.tempfiles import temp_folder


@pytest.fixture
def temp_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of the environment's own (``TMPDIR``), as a killed run had it."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setenv("TMPDIR", str(root))
    return root


def test_a_killed_agents_temporary_folder_is_removed_with_what_it_holds(temp_root: Path) -> None:
    left = temp_folder(TMPDIR_PREFIX)
    (left / "deep" / "er").mkdir(parents=True)
    (left / "deep" / "er" / "file").write_text("the agent's\n")
    assert remove_left_tmpdir(str(left))
    assert not left.exists()
    assert list(temp_root.iterdir()) == []


def test_a_record_naming_anything_else_removes_nothing(temp_root: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "file").write_text("mine\n")
    link = temp_root / f"{TMPDIR_PREFIX}abcdefgh"
    link.symlink_to(kept)  # named as spawn names them, but a link
    elsewhere = kept / f"{TMPDIR_PREFIX}abcdefgh"  # named so, but not in a temporary folder
    elsewhere.mkdir()
    for recorded in (str(link), str(elsewhere), str(kept), "../x", None, 7, ["/tmp"]):
        assert not remove_left_tmpdir(recorded), recorded
    assert link.is_symlink() and elsewhere.is_dir() and (kept / "file").read_text() == "mine\n"
    assert not remove_left_tmpdir(str(temp_root / f"{TMPDIR_PREFIX}zzzzzzzz"))  # already gone
