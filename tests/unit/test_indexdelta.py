"""specflow.workspace.indexdelta: an index parsed from the parse of the one ``git add`` read to
write it, or loaded from the parse kept beside it, must be exactly the index read afresh."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from specflow.workspace import indexdelta, indexfile
from specflow.workspace.git import GitRepo
from specflow.workspace.indexfile import forget_parsed_indexes
from tests.conftest import commit_all, git, init_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Files in nested folders, names that sort around ``/``, a long path (a two-byte prefix length)."""
    root = init_repo(tmp_path / "r")
    for i in range(120):
        rel = f"p{i % 6}/m{i % 4}/f{i:03d}.txt"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"{i}\n")
    for rel in ("a", "a.b", "a-b/c", "a0", "deep/" + "x" * 150 + "/one", "deep/" + "x" * 150 + "/two"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"{rel}\n")
    commit_all(root, "init")
    return root


def _v4_copy(repo: Path, to: Path) -> Path:
    shutil.copy2(repo / ".git" / "index", to)
    subprocess.run(["git", "update-index", "--index-version", "4"], cwd=repo, env=_env(to), check=True)
    return to


def _env(index: Path) -> dict[str, str]:
    return {**os.environ, "GIT_INDEX_FILE": str(index)}


def _add(repo: Path, index: Path) -> bytes:
    subprocess.run(["git", "add", "-A"], cwd=repo, env=_env(index), check=True)
    return index.read_bytes()


def _differing(before: dict[bytes, bytes], after: dict[bytes, bytes]) -> frozenset[bytes]:
    return frozenset(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def _edits(repo: Path) -> list[Callable[[], object]]:
    def many() -> None:
        for i in range(0, 120, 3):
            (repo / f"p{i % 6}/m{i % 4}/f{i:03d}.txt").write_text("many\n")

    def file_to_folder() -> None:
        (repo / "a.b").unlink()
        (repo / "a.b").mkdir()
        (repo / "a.b" / "inside").write_text("in\n")

    return [
        lambda: (repo / "p3/m1/f039.txt").write_text("edited\n"),
        lambda: (repo / "p2/m0/new.txt").write_text("new in the middle\n"),
        lambda: (repo / "p4/m2/f010.txt").unlink(),
        lambda: (repo / "0first.txt").write_text("before every other path\n"),
        lambda: (repo / "0first.txt").rename(repo / "zzz-last.txt"),  # after every other path
        lambda: os.chmod(repo / "p1/m1/f001.txt", 0o755),
        lambda: (repo / ("deep/" + "x" * 150 + "/one")).write_text("long path edited\n"),
        file_to_folder,
        many,
        lambda: shutil.rmtree(repo / "p5"),
    ]


def test_an_index_derived_from_the_one_add_read_is_the_index_read_afresh(repo: Path, tmp_path: Path) -> None:
    index = _v4_copy(repo, tmp_path / "snap.index")
    entries, end, layout = indexdelta.parse(index.read_bytes())
    assert layout is not None
    for edit in _edits(repo):
        edit()
        data = _add(repo, index)
        derived = indexdelta.derive(layout, entries, end, data)
        fresh, fresh_end, fresh_layout = indexdelta.parse(data)
        assert derived is not None and fresh_layout is not None
        assert derived.entries == fresh and derived.end == fresh_end
        assert derived.layout.keys == list(fresh) and derived.layout.offsets == fresh_layout.offsets
        assert derived.changed == _differing(entries, fresh) and derived.changed
        entries, end, layout = derived.entries, derived.end, derived.layout  # the next one from this one


def test_an_index_that_shares_little_with_the_base_is_read_afresh(repo: Path, tmp_path: Path) -> None:
    other = init_repo(tmp_path / "other")
    for i in range(200):
        (other / f"q{i}.txt").write_text(f"{i}\n")
    commit_all(other, "other")
    base = indexdelta.parse(_v4_copy(repo, tmp_path / "a.index").read_bytes())
    assert base[2] is not None
    assert indexdelta.derive(base[2], base[0], base[1], _v4_copy(other, tmp_path / "b.index").read_bytes()) is None
    version2 = (repo / ".git" / "index").read_bytes()
    assert indexdelta.derive(base[2], base[0], base[1], version2) is None  # version 4 only


def test_a_parse_kept_on_disk_is_loaded_only_for_its_own_index(repo: Path, tmp_path: Path) -> None:
    data = _v4_copy(repo, tmp_path / "i").read_bytes()
    entries, end, layout = indexdelta.parse(data)
    assert layout is not None
    kept = tmp_path / "i.parse"
    folders = GitRepo.open(repo).index_folders(tmp_path / "i")
    assert b"p3/m1" in folders and b"p3" in folders and b"deep" in folders
    indexdelta.write_kept(kept, data[-20:], (entries, end), layout, folders)
    assert indexdelta.kept_checksum(kept) == data[-20:]
    loaded = indexdelta.read_kept(kept, data, 20)
    assert loaded is not None
    assert loaded[0] == entries and list(loaded[0]) == list(entries) and loaded[1] == end
    assert loaded[2].keys == layout.keys and loaded[2].offsets == layout.offsets and loaded[3] == folders
    (repo / "a0").write_text("changed\n")
    assert indexdelta.read_kept(kept, _add(repo, tmp_path / "i"), 20) is None  # another index
    kept.write_bytes(kept.read_bytes()[:-9])
    assert indexdelta.read_kept(kept, data, 20) is None  # cut short
    kept.write_bytes(b"not a kept parse")
    assert indexdelta.read_kept(kept, data, 20) is None and indexdelta.kept_checksum(kept) is None


def test_snapshots_read_each_index_once_and_their_trees_are_gits_own(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the first snapshot, every index ``add`` writes is derived from the one before (no entry
    read one by one); a new process loads the parse kept beside the index; the trees written
    from them (their new paths out of order in the mapping) are what ``git write-tree`` writes."""
    r = GitRepo.open(repo)
    index = _v4_copy(repo, tmp_path / "snap.index")
    forget_parsed_indexes()
    r.snapshot(index, index)
    r.index_ctimes(index)
    full_parses: list[int] = []
    parse = indexdelta.parse

    def counted(data: bytes, hash_len: int = 20) -> tuple[dict[bytes, bytes], int, indexdelta.Layout | None]:
        full_parses.append(len(data))
        return parse(data, hash_len)

    monkeypatch.setattr(indexdelta, "parse", counted)
    for edit in _edits(repo):
        edit()
        tree = r.snapshot(index, index)
        copy = tmp_path / "git.index"
        shutil.copy2(index, copy)
        by_git = subprocess.run(
            ["git", "write-tree", "--ignore-cache-tree"], cwd=repo, env=_env(copy), capture_output=True, text=True
        )
        assert tree == by_git.stdout.strip()
        fresh = parse(index.read_bytes())[0]
        assert r.index_ctimes(index) == fresh
        assert r.index_folders(index) == {p[: m.start()] for p in fresh for m in re.finditer(rb"/", p)}
    assert full_parses == []
    r.keep_index_parse(index)
    assert indexfile.kept_parse_path(index).is_file()
    folders = r.index_folders(index)
    forget_parsed_indexes()  # as a new process starts
    assert r.index_ctimes(index) == parse(index.read_bytes())[0]
    assert r.index_folders(index) == folders and b"a.b" in folders and b"p5" not in folders
    assert full_parses == []
    assert git(repo, "fsck", "--strict", "--no-dangling", "--connectivity-only").strip() == ""
