"""specflow.workspace.indextrees: trees written from a snapshot index without git must be git's own.

Each snapshot's tree is checked against ``git write-tree --ignore-cache-tree`` (git writing every
folder afresh from the same index), and the cache tree the index is given back against the one
git writes, byte for byte.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from specflow.trees import remove_tree
from specflow.workspace import indextrees, looseobjects
from specflow.workspace.git import GitRepo
from specflow.workspace.indexfile import parse_index
from tests.conftest import commit_all, git, git_commands_run, init_repo


def _extension(data: bytes, sig: bytes) -> bytes | None:
    """The ``sig`` extension of an index file's bytes, or None."""
    _, pos = parse_index(data)
    while pos < len(data) - 20:
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        if data[pos : pos + 4] == sig:
            return data[pos + 8 : pos + 8 + size]
        pos += 8 + size
    return None


def _as_git_writes_it(repo: Path, index: Path, tmp_path: Path) -> tuple[str, bytes | None]:
    """The tree git writes from a copy of ``index`` with every folder afresh, and its cache tree."""
    copy = tmp_path / "git-copy.index"
    shutil.copy2(index, copy)
    env = {**os.environ, "GIT_INDEX_FILE": str(copy)}
    tree = subprocess.run(
        ["git", "write-tree", "--ignore-cache-tree"], cwd=repo, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    return tree, _extension(copy.read_bytes(), b"TREE")


def _check(r: GitRepo, tree: str, index: Path, tmp_path: Path) -> None:
    by_git, git_cache = _as_git_writes_it(r.root, index, tmp_path)
    assert tree == by_git
    assert _extension(index.read_bytes(), b"TREE") == git_cache


def _store(r: GitRepo, body: bytes) -> bytes:
    return bytes.fromhex(looseobjects.write_object(r.common_dir, b"tree", body))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Names that sort around ``/``, nested folders, an executable, a symlink, a submodule's entry."""
    root = init_repo(tmp_path / "r")
    files = ["a", "a.b", "a-b", "a0", "ab/x", "b/c/d/e.txt", "b/c/f.txt", "b/c.txt", "b-c/g", "z/y/x/w/v.txt"]
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"{name}\n")
    os.rename(root / "a", root / "a.tmp")
    (root / "a").mkdir()  # "a/" as a folder beside "a.b", "a-b" and "a0": git sorts it as "a/"
    (root / "a" / "inside").write_text("in\n")
    (root / "a.tmp").unlink()
    (root / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(root / "run.sh", 0o755)
    (root / "link").symlink_to("b/c.txt")
    nested = init_repo(root / "vendor" / "lib")
    (nested / "lib.txt").write_text("lib\n")
    commit_all(nested, "lib")
    commit_all(root, "init")  # vendor/lib: a nested repository, a gitlink entry
    return root


def test_each_snapshot_tree_and_cache_tree_are_what_git_writes_as_the_tree_changes(repo: Path, tmp_path: Path) -> None:
    r = GitRepo.open(repo)
    index = tmp_path / "snap.index"
    shutil.copy2(r.real_index(), index)
    tree = r.snapshot(index, index)  # git's own index, as add leaves it
    assert tree == _as_git_writes_it(repo, index, tmp_path)[0]

    def new_folder() -> None:
        (repo / "b/c/new").mkdir()
        (repo / "b/c/new/one.txt").write_text("1\n")

    def relink() -> None:
        (repo / "link").unlink()
        (repo / "link").symlink_to("a0")

    def file_to_folder() -> None:  # "a.b" sorts before the folder "a/"; as a folder, after it
        (repo / "a.b").unlink()
        (repo / "a.b").mkdir()
        (repo / "a.b" / "now.txt").write_text("d\n")

    def folder_to_file() -> None:
        shutil.rmtree(repo / "z/y")
        (repo / "z/y").write_text("a folder turned into a file\n")

    def two_folders() -> None:
        (repo / "b-c/h").write_text("h\n")
        (repo / "a/inside").write_text("x\n")

    edits: list[Callable[[], object]] = [
        lambda: (repo / "b/c/d/e.txt").write_text("deep edit\n"),
        lambda: (repo / "a0").write_text("top-level edit\n"),
        new_folder,
        lambda: os.chmod(repo / "b/c/f.txt", 0o755),
        lambda: (repo / "ab/x").unlink(),  # the folder "ab" goes with its last file
        relink,
        file_to_folder,
        folder_to_file,
        two_folders,
    ]
    seen = {tree}
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    for edit in edits:
        edit()
        subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)  # what a snapshot runs
        data = index.read_bytes()
        entries, end = parse_index(data)
        keep_from = indextrees.KEEP_MIN
        left = indextrees.write_tree(data, entries, end, lambda body: _store(r, body), keep_from=keep_from)
        assert left is not None and left[1] is None  # a few folders: the index is left as add wrote it
        written = indextrees.write_tree(data, entries, end, lambda body: _store(r, body), keep_from=0)
        assert written is not None and written[1] is not None and written[0] == left[0]
        index.write_bytes(written[1])
        tree = written[0].hex()
        _check(r, tree, index, tmp_path)
        seen.add(tree)
    assert len(seen) == len(edits) + 1
    assert git(repo, "ls-tree", tree, "vendor/lib").split()[:2] == ["160000", "commit"]
    assert git(repo, "ls-tree", tree, "run.sh").split()[0] == "100755"
    assert git(repo, "fsck", "--strict", "--no-dangling", "--connectivity-only").strip() == ""


def _without_cache_tree(index: Path) -> None:
    """Take the ``TREE`` extension out of ``index`` (every folder then to write afresh)."""
    data = index.read_bytes()
    _, end = parse_index(data)
    assert _extension(data, b"TREE") is not None
    body = data[:end]
    index.write_bytes(body + hashlib.sha1(body).digest())


def test_an_index_without_a_cache_tree_gets_every_folder_written_as_git_writes_it(repo: Path, tmp_path: Path) -> None:
    r = GitRepo.open(repo)
    index = tmp_path / "bare.index"
    git(repo, "read-tree", "HEAD", f"--index-output={index}")
    _without_cache_tree(index)
    tree = r.snapshot(index, index)
    assert tree == git(repo, "rev-parse", "HEAD^{tree}").strip()
    assert tree == _as_git_writes_it(repo, index, tmp_path)[0]


def test_many_folders_written_afresh_give_the_index_its_cache_tree_back_and_keep_its_mtime(
    tmp_path: Path,
) -> None:
    root = init_repo(tmp_path / "r")
    for i in range(indextrees.KEEP_MIN + 50):
        (root / f"d{i % 40}" / f"s{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i % 40}" / f"s{i % 3}" / f"f{i}").write_text(str(i))
    commit_all(root, "many")
    r = GitRepo.open(root)
    index = tmp_path / "i"
    git(root, "read-tree", "HEAD", f"--index-output={index}")
    _without_cache_tree(index)
    later = (int(time.time()) + 1000) * 1_000_000_000  # after every file's mtime: none racily clean
    os.utime(index, ns=(later, later))
    tree = r._write_tree(index)
    assert tree == git(root, "rev-parse", "HEAD^{tree}").strip()
    assert index.stat().st_mtime_ns == later  # git's racy-clean check compares with it
    assert not index.with_name("i.lock").exists()
    _check(r, tree, index, tmp_path)


def test_an_intent_to_add_entry_is_left_to_git(repo: Path, tmp_path: Path) -> None:
    r = GitRepo.open(repo)
    index = tmp_path / "ita.index"
    shutil.copy2(r.real_index(), index)
    (repo / "later.txt").write_text("later\n")
    subprocess.run(["git", "add", "-N", "later.txt"], cwd=repo, env={**os.environ, "GIT_INDEX_FILE": str(index)})
    data = index.read_bytes()
    entries, end = parse_index(data)
    assert indextrees.write_tree(data, entries, end, lambda body: bytes(20)) is None


def test_many_entries_to_write_afresh_are_left_to_git(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    for i in range(indextrees.FRESH_MAX + 10):
        (root / f"d{i % 50}").mkdir(exist_ok=True)
        (root / f"d{i % 50}" / f"f{i}").write_text(str(i))
    commit_all(root, "many")
    r = GitRepo.open(root)
    index = tmp_path / "i"
    git(root, "read-tree", "HEAD", f"--index-output={index}")
    _without_cache_tree(index)
    data = index.read_bytes()
    entries, end = parse_index(data)
    assert indextrees.write_tree(data, entries, end, lambda body: bytes(20)) is None
    tree = r.snapshot(index, index)
    assert tree == git(root, "rev-parse", "HEAD^{tree}").strip()
    _check(r, tree, index, tmp_path)


def test_specflows_commit_writes_its_tree_without_git_and_it_is_the_tree_git_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``GitRepo.commit_all`` (specflow's commits of a change's worktree and records): the tree of
    what ``add`` staged comes from the index's cache tree, byte for byte what ``git write-tree``
    writes from the same index, with no ``write-tree`` process."""
    repo = init_repo(tmp_path / "repo")
    for rel in ("docs/a.md", "docs/deep/b.md", "src/c.py", "top.txt"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(f"{rel}\n", encoding="utf-8")
    commit_all(repo, "start")
    git(repo, "write-tree")  # the index now holds a whole cache tree, as after any commit
    (repo / "docs" / "deep" / "b.md").write_text("changed\n", encoding="utf-8")
    (repo / "new" / "inner").mkdir(parents=True)
    (repo / "new" / "inner" / "d.md").write_text("new\n", encoding="utf-8")
    (repo / "top.txt").unlink()
    ran = git_commands_run(monkeypatch)
    sha = GitRepo.open(repo).commit_all("specflow: a commit")
    assert sha is not None and "write-tree" not in ran
    theirs = git(repo, "write-tree", "--ignore-cache-tree").strip()  # git writing every folder afresh
    assert git(repo, "rev-parse", f"{sha}^{{tree}}").strip() == theirs
    assert git(repo, "ls-tree", "-r", "--name-only", sha).split() == [
        "docs/a.md",
        "docs/deep/b.md",
        "new/inner/d.md",
        "src/c.py",
    ]
    git(repo, "fsck", "--strict")  # every object specflow wrote is sound
    assert git(repo, "status", "--porcelain") == ""  # the checkout, its index and HEAD agree


def test_a_small_index_gets_its_cache_tree_back_after_a_few_folders_so_later_snapshots_write_only_theirs(
    tmp_path: Path,
) -> None:
    """A generation's edits leave folders invalid; in an index of a few hundred entries, writing it
    again with its whole cache tree costs less than writing those folders at every snapshot."""
    root = init_repo(tmp_path / "r")
    past = time.time() - 100  # no entry racily clean: git would look at all of them again

    def write(rel: str, text: str) -> None:
        (root / rel).write_text(text)
        os.utime(root / rel, (past, past))

    for i in range(300):
        (root / f"d{i % 30}").mkdir(exist_ok=True)
        write(f"d{i % 30}/f{i}", str(i))
    commit_all(root, "many")
    r = GitRepo.open(root)
    index = tmp_path / "i"
    shutil.copy2(r.real_index(), index)
    assert r.snapshot(index, index) == git(root, "rev-parse", "HEAD^{tree}").strip()
    for i in range(3):  # three folders of thirty: 30 entries afresh, more than one in KEEP_SHARE
        write(f"d{i}/f{i}", "edited\n")
    tree = r.snapshot(index, index)
    _check(r, tree, index, tmp_path)
    cache = _extension(index.read_bytes(), b"TREE")
    assert cache is not None and cache.startswith(b"\x00300 30\n")  # the root is valid again: 300 entries, 30 folders
    write("d5/f5", "edited\n")
    stored: list[bytes] = []
    subprocess.run(["git", "add", "-A"], cwd=root, env={**os.environ, "GIT_INDEX_FILE": str(index)}, check=True)
    data = index.read_bytes()
    entries, end = parse_index(data)

    def store(body: bytes) -> bytes:
        stored.append(body)
        return _store(r, body)

    written = indextrees.write_tree(data, entries, end, store)
    assert written is not None and len(stored) == 2  # d5 and the root: every other folder is still valid


def test_the_folders_of_racily_clean_entries_stay_invalid_so_the_next_add_rewrites_nothing(tmp_path: Path) -> None:
    """git adds a racily clean entry again (changed in the second its index was written) and
    invalidates its folders: written back invalid, they leave that ``add`` nothing to rewrite."""
    root = init_repo(tmp_path / "r")
    past = time.time() - 100
    for i in range(300):
        (root / f"d{i % 30}").mkdir(exist_ok=True)
        (root / f"d{i % 30}" / f"f{i}").write_text(str(i))
        os.utime(root / f"d{i % 30}" / f"f{i}", (past, past))
    commit_all(root, "many")
    r = GitRepo.open(root)
    index = tmp_path / "i"
    shutil.copy2(r.real_index(), index)
    r.snapshot(index, index)
    for i in range(3):
        (root / f"d{i}" / f"f{i}").write_text("edited\n")
        os.utime(root / f"d{i}" / f"f{i}", (past, past))
    soon = time.time() + 1000  # changed in the index's own second, or after it: racily clean
    os.utime(root / "d1" / "f1", (soon, soon))
    tree = r.snapshot(index, index)
    assert tree == _as_git_writes_it(root, index, tmp_path)[0]
    cache = _extension(index.read_bytes(), b"TREE")
    assert cache is not None and cache.startswith(b"\x00-1 30\n")  # the top folder, above d1
    assert b"d1\x00-1 0\n" in cache and b"d0\x0010 0\n" in cache and b"d2\x0010 0\n" in cache
    before = index.read_bytes()
    subprocess.run(["git", "add", "-A"], cwd=root, env={**os.environ, "GIT_INDEX_FILE": str(index)}, check=True)
    assert index.read_bytes() == before


def _shape(node: indextrees._Node, raw: bytes) -> tuple[bytes | None, int, bytes | None, dict[bytes, Any]]:
    """A parsed cache tree as plain data: each folder's tree (None: invalid), entries, bytes if kept whole."""
    kept = raw[node.span[0] : node.span[1]] if node.span[1] else None
    children = {name: _shape(child, raw) for name, child in sorted(node.children.items())}
    return (node.sha, node.count, kept, children)


def test_a_valid_folder_met_again_is_skipped_whole_and_read_the_same(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = tmp_path / "snap.index"
    shutil.copy2(GitRepo.open(repo).real_index(), index)
    env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    an_hour_ago = time.time() - 3600  # written in the second of an add, a file is added again (racily clean)
    for path in repo.rglob("*"):
        if ".git" not in path.relative_to(repo).parts and not path.is_symlink():
            os.utime(path, (an_hour_ago, an_hour_ago))
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo, env=env, check=True)  # every folder valid
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=repo, env=env, check=True)
    (repo / "a0").write_text("the top folder only\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, env=env, check=True)
    raw = _extension(index.read_bytes(), b"TREE")
    assert raw is not None
    indextrees._SEEN.clear()
    walked: list[int] = []
    real_past = indextrees._past

    def past(raw: bytes, pos: int, pending: int) -> int:
        walked.append(pos)
        return real_past(raw, pos, pending)

    monkeypatch.setattr(indextrees, "_past", past)

    first = _shape(indextrees._parse_tree(raw), raw)
    assert walked  # each valid folder below the invalid top one walked line by line
    assert first[0] is None and all(child[2] for child in first[3].values())  # kept whole, by where they lie
    walked.clear()
    assert _shape(indextrees._parse_tree(raw), raw) == first
    assert walked == []  # met again: one comparison each

    for key in list(indextrees._SEEN):  # what was seen no longer lies there: its lines are read
        indextrees._SEEN[key] = indextrees._SEEN[key] + b"x"
    assert _shape(indextrees._parse_tree(raw), raw) == first
    assert walked


def _nest(top: Path, depth: int) -> Path:
    """A folder ``depth`` levels below ``top``, made one level at a time (``os.makedirs`` recurses)."""
    for _ in range(depth):
        top = top / "d"
        top.mkdir()
    return top


def test_folders_nested_deeper_than_the_walks_go_are_left_to_git(repo: Path, tmp_path: Path) -> None:
    """A path 1,200 folders deep (an agent can make one) is more than Python's stack holds calls:
    its tree is written by git, not by a walk that would fail half way."""
    r = GitRepo.open(repo)
    first, second = tmp_path / "i1", tmp_path / "i2"
    r.snapshot(first, None)
    (repo / "deep").mkdir()
    try:
        (_nest(repo / "deep", 1_200) / "f.txt").write_text("deep\n")
        tree = r.snapshot(second, first)
        _check(r, tree, second, tmp_path)
        assert r.snapshot(second, second) == tree  # from the cache tree git wrote, read back
    finally:
        remove_tree(repo / "deep")  # pytest's own clean-up of old temporary folders would recurse
