"""specflow.workspace.looseobjects: commits and refs written as git's files; git itself must read them."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from specflow.errors import GitError
from specflow.workspace import looseobjects
from specflow.workspace.checkpointstore import current_umask
from specflow.workspace.git import GitRepo, TreeChange
from tests.conftest import commit_all, git, init_repo


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    root = init_repo(tmp_path / "r")
    (root / "a.txt").write_text("a\n")
    commit_all(root, "init")
    return GitRepo.open(root)


def test_a_commit_written_without_git_is_the_commit_git_would_write(repo: GitRepo) -> None:
    head = git(repo.root, "rev-parse", "HEAD").strip()
    tree = git(repo.root, "rev-parse", "HEAD^{tree}").strip()
    now = time.time()
    message = 'specflow checkpoint #1\n\n{"json": true}\n'
    sha = looseobjects.commit(repo.common_dir, tree, [head], message, ("specflow", "specflow@localhost"), now)
    # the same commit through git, at the same second: the same object name
    date = f"@{int(now)} {time.strftime('%z', time.localtime(now))}"
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    env |= {"GIT_AUTHOR_NAME": "specflow", "GIT_AUTHOR_EMAIL": "specflow@localhost"}
    env |= {"GIT_COMMITTER_NAME": "specflow", "GIT_COMMITTER_EMAIL": "specflow@localhost"}
    by_git = subprocess.run(
        ["git", "commit-tree", "--no-gpg-sign", "-p", head, tree],
        cwd=repo.root,
        env=env,
        input=message,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert git(repo.root, "cat-file", "-p", sha) == git(repo.root, "cat-file", "-p", by_git)
    assert sha == by_git
    assert git(repo.root, "fsck", "--strict", "--no-dangling").strip() == ""
    assert looseobjects.has_object(repo.common_dir, sha)


def test_refs_are_created_all_or_none_and_an_existing_one_is_refused(repo: GitRepo) -> None:
    head = git(repo.root, "rev-parse", "HEAD").strip()
    looseobjects.create_refs(repo.common_dir, {"refs/specflow/checkpoints/x/1/hub": head})
    assert git(repo.root, "rev-parse", "refs/specflow/checkpoints/x/1/hub").strip() == head
    with pytest.raises(GitError, match="exists already"):
        looseobjects.create_refs(
            repo.common_dir,
            {"refs/specflow/checkpoints/x/2/hub": head, "refs/specflow/checkpoints/x/1/hub": head},
        )
    assert git(repo.root, "for-each-ref", "--format=%(refname)", "refs/specflow/") == (
        "refs/specflow/checkpoints/x/1/hub\n"
    )
    git(repo.root, "pack-refs", "--all")  # a packed ref is found too
    with pytest.raises(GitError, match="exists already"):
        looseobjects.create_refs(repo.common_dir, {"refs/specflow/checkpoints/x/1/hub": head})
    assert not list(repo.common_dir.rglob("*.lock"))


def test_a_repo_git_would_write_differently_is_left_to_git(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    assert looseobjects.plain(repo.common_dir)
    git(repo.root, "config", "core.logAllRefUpdates", "always")  # every ref gets a reflog: git writes it
    assert not looseobjects.plain(repo.common_dir)
    git(repo.root, "config", "--unset", "core.logAllRefUpdates")
    monkeypatch.setattr("specflow.workspace.git.process._BASE_ENV", None)  # git's environment is read once
    monkeypatch.setenv("GIT_COMMITTER_DATE", "@0 +0000")
    assert not looseobjects.plain(repo.common_dir)
    # through the git door the commit and the refs are made by git then, with the same outcome
    tree = git(repo.root, "rev-parse", "HEAD^{tree}").strip()
    sha = repo.commit_tree(tree, [], "forced date\n")
    assert git(repo.root, "log", "-1", "--format=%ct", sha).strip() == "0"
    repo.create_refs({"refs/specflow/t": sha})
    assert git(repo.root, "rev-parse", "refs/specflow/t").strip() == sha


def test_objects_in_packs_are_found_by_their_index_and_a_missing_one_is_still_asked_of_git(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from specflow.workspace.git import process as gitdoor

    for i in range(1500):  # several objects to each first byte: the search within one is exercised
        (repo.root / f"f{i}.txt").write_text(f"{i}\n")
    commit_all(repo.root, "second")
    objects = git(repo.root, "rev-list", "--objects", "--all").split()
    shas = [o for o in objects if len(o) == 40]
    git(repo.root, "gc", "-q", "--prune=now")  # every object packed, none loose
    assert not any(looseobjects.has_object(repo.common_dir, sha) for sha in shas)
    assert looseobjects.in_packs(repo.common_dir, shas) == set(shas)
    gone = "0123456789abcdef0123456789abcdef01234567"
    assert looseobjects.in_packs(repo.common_dir, [*shas, gone]) == set(shas)
    ran: list[str] = []
    real = gitdoor.run_git

    def counted(args: list[str], cwd: Path, **kwargs: object) -> object:
        ran.append(args[0])
        return real(args, cwd, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gitdoor, "run_git", counted)
    assert repo.missing_objects(shas) == [] and ran == []
    assert repo.missing_objects([shas[0], gone]) == [gone] and ran == ["cat-file"]
    (repo.common_dir / "objects" / "info" / "alternates").write_text("/nowhere\n")
    assert looseobjects.in_packs(repo.common_dir, shas) is None  # objects may lie elsewhere: git decides


def test_two_trees_compared_from_their_loose_objects_as_git_diff_tree_compares_them(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "d")
    files = {"a.txt": "a", "a-b": "x", "dir/one": "1", "dir/sub/two": "2", "gone/x": "x", "f": "file", "mode": "m"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "link").symlink_to("a.txt")
    commit_all(root, "before")
    (root / "dir" / "sub" / "two").write_text("changed")
    (root / "dir" / "new").write_text("new")
    for rel in ("gone/x", "f", "link"):
        (root / rel).unlink()
    (root / "f").mkdir()
    (root / "f" / "inside").write_text("now a folder")
    (root / "link").write_text("now a file")  # a symlink become a file: a type change
    (root / "mode").chmod(0o755)
    (root / "gone").rmdir()
    (root / "gone").write_text("a folder become a file")
    commit_all(root, "after")
    repo = GitRepo.open(root)
    old, new = (git(root, "rev-parse", f"{rev}^{{tree}}").strip() for rev in ("HEAD~1", "HEAD"))
    by_git = repo.diff_trees(old, new)
    assert {c.status for c in by_git} == {"A", "D", "M", "T"}
    read = looseobjects.diff_trees(repo.common_dir, old, new)
    assert read is not None
    assert [TreeChange(*change) for change in read] == by_git
    assert repo.diff_to_tree(git(root, "rev-parse", "HEAD~1").strip(), new) == by_git
    assert looseobjects.diff_trees(repo.common_dir, old, new, limit=2) is None  # too many trees to read: git's job
    git(root, "gc", "-q")  # packed: git is asked, with the same answer
    assert looseobjects.diff_trees(repo.common_dir, old, new) is None
    assert repo.diff_to_tree(git(root, "rev-parse", "HEAD~1").strip(), new) == by_git


def test_an_object_is_written_as_git_writes_one_even_in_a_folder_not_made_yet(repo: GitRepo) -> None:
    # an object whose folder the repository does not have yet (the repo's own objects, named by
    # their commit time, take 3 of the 256 folders): its first object makes the folder
    for n in range(256):
        body = f"an object no test wrote before, #{n}\n".encode()
        hashed = subprocess.run(["git", "hash-object", "--stdin"], cwd=repo.root, input=body, capture_output=True)
        by_git = hashed.stdout.decode().strip()
        folder = repo.common_dir / "objects" / by_git[:2]
        if not folder.exists():
            break
    assert not folder.exists()
    sha = looseobjects.write_object(repo.common_dir, b"blob", body)
    assert sha == by_git
    assert git(repo.root, "cat-file", "-p", sha) == body.decode()
    assert stat.S_IMODE((folder / sha[2:]).stat().st_mode) == 0o444 & ~current_umask()
    assert [p.name for p in folder.iterdir()] == [sha[2:]]  # no temporary file left
    assert looseobjects.write_object(repo.common_dir, b"blob", body) == sha  # there already: left as it is
    assert git(repo.root, "fsck", "--strict", "--no-dangling").strip() == ""
