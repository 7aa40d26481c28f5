"""Temporary files and folders made without ``tempfile``: exclusive, private, where ``tempfile`` puts them."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from specflow import tempfiles
from specflow.changestate.recordfiles import atomic_write
from specflow.tempfiles import candidate_folders, temp_file, temp_folder


def test_a_temporary_file_is_new_private_and_named_with_its_prefix_and_suffix(tmp_path: Path) -> None:
    made: list[Path] = []
    for _ in range(3):
        fd, name = temp_file(tmp_path, ".state.json.", ".tmp")
        os.write(fd, b"x")
        os.close(fd)
        made.append(Path(name))
    assert len(set(made)) == 3
    for path in made:
        assert path.parent == tmp_path
        assert re.fullmatch(r"\.state\.json\.[a-z0-9_]{8}\.tmp", path.name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() == b"x"


def test_a_name_already_taken_is_never_opened_another_is_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = tmp_path / "t-taken"
    taken.write_text("someone else's")
    names = iter(["t-taken", "t-taken", "t-free"])
    monkeypatch.setattr(tempfiles, "_name", lambda prefix, suffix: next(names))
    fd, path = temp_file(tmp_path, "t-")
    os.close(fd)
    assert path == str(tmp_path / "t-free")
    assert taken.read_text() == "someone else's"
    # and when every name is taken it says so, naming the folder
    monkeypatch.setattr(tempfiles, "_name", lambda prefix, suffix: "t-taken")
    with pytest.raises(FileExistsError, match="no unused name") as caught:
        temp_file(tmp_path, "t-")
    assert caught.value.filename == str(tmp_path)


def test_a_temporary_folder_goes_where_tmpdir_says_private_and_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    first, second = temp_folder("specflow-agent-"), temp_folder("specflow-agent-")
    assert first != second
    for folder in (first, second):
        assert folder.is_absolute() and folder.parent == tmp_path and folder.name.startswith("specflow-agent-")
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_tmpdir_that_takes_no_folder_is_passed_over_for_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "missing"))
    monkeypatch.setenv("TEMP", str(a_file))
    monkeypatch.setenv("TMP", str(tmp_path))
    assert candidate_folders()[:3] == [str(tmp_path / "missing"), str(a_file), str(tmp_path)]
    assert temp_folder("x-").parent == tmp_path


def test_records_written_through_a_temporary_file_get_the_mode_of_a_plain_write(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_write(target, "{}\n")
    plain = tmp_path / "plain.json"
    plain.write_text("{}\n")
    assert target.read_text() == "{}\n"
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_making_them_imports_neither_tempfile_nor_random(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from specflow.tempfiles import temp_file, temp_folder\n"
        "fd, _ = temp_file(Path(sys.argv[1]), 'a-')\n"
        "temp_folder('b-')\n"
        "print(sorted({'tempfile', 'random'} & set(sys.modules)))\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
    assert len(list(tmp_path.iterdir())) == 2


def test_only_a_folder_named_as_made_in_a_temporary_folder_counts_as_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    made = temp_folder("specflow-agent-")
    assert tempfiles.named_as_made(str(made), "specflow-agent-")
    assert tempfiles.named_as_made(f"/tmp/specflow-agent-{'a' * 8}", "specflow-agent-")
    inside = tmp_path / "work"
    for path in (
        inside / made.name,  # a folder below the temporary folder, not in it
        tmp_path / "specflow-agent-short",  # not eight drawn characters
        tmp_path / "specflow-agent-ABCDEFGH",  # not characters _name draws
        tmp_path / "other-abcdefgh",  # another prefix
        Path(f"specflow-agent-{'a' * 8}"),  # relative: the current folder could be anything
    ):
        assert not tempfiles.named_as_made(str(path), "specflow-agent-"), path
    monkeypatch.delenv("TMPDIR")
    assert not tempfiles.named_as_made(str(made), "specflow-agent-")  # tmp_path is no longer a temporary folder
