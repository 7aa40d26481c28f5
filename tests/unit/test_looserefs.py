"""specflow.workspace.looserefs: branches moved without git write the bytes ``git update-ref -m`` writes.

Each test makes two copies of one repository, moves a ref in one with git and in the other
in-process, at the second git used, and compares every ref, reflog and lock file byte for byte.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from specflow.errors import GitError
from specflow.workspace import looserefs
from specflow.workspace.git import GitRepo
from specflow.workspace.looserefs import ZERO_SHA, RefMove
from tests.conftest import commit_all, git, init_repo


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """Two identical repositories (main checked out, two commits), the commits' shas."""
    first = init_repo(tmp_path / "by-git")
    (first / "a.txt").write_text("a\n")
    commit_all(first, "one")
    (first / "a.txt").write_text("b\n")
    commit_all(first, "two")
    second = tmp_path / "in-process"
    shutil.copytree(first, second, symlinks=True)
    one, two = git(first, "rev-parse", "HEAD~1", "HEAD").split()
    return first, second, one, two


def ref_files(root: Path) -> dict[str, bytes]:
    """Every ref, reflog, pseudo-ref and lock of a repository (and of its linked worktrees)."""
    common = root / ".git"
    found = {}
    for path in sorted(common.rglob("*")):
        rel = path.relative_to(common).as_posix()
        if path.is_file() and not rel.startswith(("objects/", "hooks/")) and "index" not in rel:
            found[rel] = path.read_bytes()
    return found


def at_gits_second(monkeypatch: pytest.MonkeyPatch, by_git: Path, log: str) -> None:
    """Make the in-process move happen at the second git wrote in ``log``."""
    epoch = int((by_git / ".git" / log).read_text().splitlines()[-1].split("\t")[0].split()[-2])
    monkeypatch.setattr(time, "time", lambda: float(epoch))


def git_in_one_second(cwd: Path, *args: str) -> None:
    """Run a setup step of both copies at one fixed time, so their reflogs match whatever second it is."""
    env = {**os.environ, "GIT_COMMITTER_DATE": "1700000000 +0000"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def update_ref_stdin(cwd: Path, message: str, lines: list[str]) -> None:
    subprocess.run(
        ["git", "update-ref", "-m", message, "--stdin"],
        cwd=cwd,
        input="".join(f"{line}\n" for line in lines),
        text=True,
        check=True,
        capture_output=True,
    )


def test_moving_the_checked_out_branch_through_head_writes_what_git_writes(
    pair: tuple[Path, Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    by_git, in_process, one, two = pair
    git(by_git, "update-ref", "-m", "commit:  two   words \n", "HEAD", one, two)
    at_gits_second(monkeypatch, by_git, "logs/HEAD")
    repo = GitRepo.open(in_process)
    assert looserefs.move_refs(repo.git_dir, repo.common_dir, [RefMove("HEAD", one, two)], "commit:  two   words \n")
    assert ref_files(in_process) == ref_files(by_git)
    assert git(in_process, "rev-parse", "HEAD").strip() == one


def test_landing_a_branch_with_orig_head_writes_what_git_writes(
    pair: tuple[Path, Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    by_git, in_process, one, two = pair
    for root in (by_git, in_process):
        git(root, "update-ref", "ORIG_HEAD", one)  # ORIG_HEAD has no reflog: none is made for it
    update_ref_stdin(by_git, "merge x: land", [f"update refs/heads/main {one} {two}", f"update ORIG_HEAD {two}"])
    at_gits_second(monkeypatch, by_git, "logs/refs/heads/main")
    repo = GitRepo.open(in_process)
    repo.move_refs([RefMove("refs/heads/main", one, two), RefMove("ORIG_HEAD", two)], "merge x: land")
    assert ref_files(in_process) == ref_files(by_git)
    assert not (in_process / ".git" / "logs" / "ORIG_HEAD").exists()


def test_a_branch_in_a_linked_worktree_logs_in_that_worktrees_head_log(
    pair: tuple[Path, Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    by_git, in_process, one, two = pair
    for root in (by_git, in_process):
        git_in_one_second(root, "worktree", "add", "-q", "-b", "side", str(root.parent / f"{root.name}-w" / "wt"), one)
    git(by_git.parent / "by-git-w" / "wt", "update-ref", "-m", "commit: side", "HEAD", two, one)
    at_gits_second(monkeypatch, by_git, "logs/refs/heads/side")
    wt = GitRepo.open(in_process.parent / "in-process-w" / "wt")
    wt.move_refs([RefMove("HEAD", two, one)], "commit: side")
    files = {k: v for k, v in ref_files(in_process).items() if not k.endswith("gitdir")}
    assert files == {k: v for k, v in ref_files(by_git).items() if not k.endswith("gitdir")}
    assert (in_process / ".git" / "worktrees" / "wt" / "logs" / "HEAD").read_text().endswith("\tcommit: side\n")
    assert "commit: side" not in (in_process / ".git" / "logs" / "HEAD").read_text()  # main's HEAD did not move


def test_a_ref_only_packed_gets_a_loose_ref_over_it_as_git_writes(
    pair: tuple[Path, Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    by_git, in_process, one, two = pair
    for root in (by_git, in_process):
        git_in_one_second(root, "branch", "kept", one)
        git(root, "pack-refs", "--all")
        assert not (root / ".git" / "refs" / "heads" / "kept").exists()
    git(by_git, "update-ref", "-m", "move kept", "refs/heads/kept", two, one)
    at_gits_second(monkeypatch, by_git, "logs/refs/heads/kept")
    repo = GitRepo.open(in_process)
    repo.move_refs([RefMove("refs/heads/kept", two, one)], "move kept")
    assert ref_files(in_process) == ref_files(by_git)
    assert git(in_process, "rev-parse", "kept").strip() == two


def test_identity_from_the_repositorys_configuration_and_no_reflog_when_git_keeps_none(
    pair: tuple[Path, Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    by_git, in_process, one, two = pair
    monkeypatch.delenv("GIT_COMMITTER_NAME")
    monkeypatch.delenv("GIT_COMMITTER_EMAIL")
    monkeypatch.setattr("specflow.workspace.git.process._BASE_ENV", None)  # git's environment is read once
    for root in (by_git, in_process):
        git(root, "config", "committer.name", "Rev Iewer")
        git(root, "config", "core.logAllRefUpdates", "false")
    update_ref_stdin(by_git, "new branch", [f"update refs/heads/fresh {one} {ZERO_SHA}", f"update HEAD {one} {two}"])
    at_gits_second(monkeypatch, by_git, "logs/HEAD")
    repo = GitRepo.open(in_process)
    repo.move_refs([RefMove("refs/heads/fresh", one, ZERO_SHA), RefMove("HEAD", one, two)], "new branch")
    assert ref_files(in_process) == ref_files(by_git)
    assert "Rev Iewer <dev@example.com>" in (in_process / ".git" / "logs" / "HEAD").read_text()
    assert not (in_process / ".git" / "logs" / "refs" / "heads" / "fresh").exists()


def test_a_ref_not_at_its_expected_value_or_locked_is_refused_and_nothing_is_written(
    pair: tuple[Path, Path, str, str],
) -> None:
    _by_git, root, one, two = pair
    repo = GitRepo.open(root)
    before = ref_files(root)
    with pytest.raises(GitError, match=f"refs/heads/main': it is at {two} but expected {one}"):
        repo.move_refs([RefMove("refs/heads/side", one), RefMove("refs/heads/main", one, one)], "m")
    assert ref_files(root) == before
    (root / ".git" / "refs" / "heads" / "main.lock").write_text("")
    with pytest.raises(GitError, match="another git process seems to be running"):
        repo.move_refs([RefMove("HEAD", one, two)], "m")
    (root / ".git" / "refs" / "heads" / "main.lock").unlink()
    assert ref_files(root) == before


@pytest.mark.parametrize(
    "config",
    [
        ["user.name", '"Quoted"'],  # written quoted in the file: git's reading of quotes is not repeated
        ["core.logAllRefUpdates", "always"],
        ["core.bare", "true"],
    ],
)
def test_a_configuration_read_otherwise_by_git_is_left_to_git(
    pair: tuple[Path, Path, str, str], monkeypatch: pytest.MonkeyPatch, config: list[str]
) -> None:
    _by_git, root, one, two = pair
    monkeypatch.delenv("GIT_COMMITTER_NAME")
    with (root / ".git" / "config").open("a") as fh:
        fh.write(f"[{config[0].split('.')[0]}]\n\t{config[0].split('.')[1]} = {config[1]}\n")
    repo = GitRepo.open(root)
    assert not looserefs.move_refs(repo.git_dir, repo.common_dir, [RefMove("HEAD", one, two)], "m")
    assert git(root, "rev-parse", "HEAD").strip() == two


def test_a_detached_head_and_configuration_from_the_environment_are_left_to_git(
    pair: tuple[Path, Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _by_git, root, one, two = pair
    repo = GitRepo.open(root)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "0")
    assert not looserefs.move_refs(repo.git_dir, repo.common_dir, [RefMove("refs/heads/main", one, two)], "m")
    monkeypatch.delenv("GIT_CONFIG_COUNT")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "")  # set but empty: git works a name out of the system
    assert not looserefs.move_refs(repo.git_dir, repo.common_dir, [RefMove("refs/heads/main", one, two)], "m")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Dev Eloper")
    git(root, "checkout", "-q", "--detach")
    assert not looserefs.move_refs(repo.git_dir, repo.common_dir, [RefMove("HEAD", one, two)], "m")
    # through the git door, git moves it
    repo.move_refs([RefMove("HEAD", one, two)], "detached")
    assert git(root, "rev-parse", "HEAD").strip() == one
    assert os.path.exists(root / ".git" / "logs" / "HEAD")


def test_an_include_in_a_worktrees_own_configuration_is_left_to_git(
    pair: tuple[Path, Path, str, str], tmp_path: Path
) -> None:
    _by_git, root, one, two = pair
    (tmp_path / "who.cfg").write_text("[user]\n\temail = elsewhere@example.com\n")
    git(root, "config", "extensions.worktreeConfig", "true")
    repo = GitRepo.open(root)
    assert looserefs.user_identities(repo.git_dir, repo.common_dir) is not None
    (root / ".git" / "config.worktree").write_text(f"[include]\n\tpath = {tmp_path / 'who.cfg'}\n")
    assert looserefs.user_identities(repo.git_dir, repo.common_dir) is None
    assert not looserefs.move_refs(repo.git_dir, repo.common_dir, [RefMove("HEAD", one, two)], "m")
    assert git(root, "rev-parse", "HEAD").strip() == two


@pytest.mark.parametrize("source", ["environment", "configuration"])
def test_a_commit_made_as_the_person_is_the_commit_git_commit_tree_makes(
    pair: tuple[Path, Path, str, str], monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    _by_git, root, one, two = pair
    if source == "configuration":
        for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
            monkeypatch.delenv(name)
        monkeypatch.setattr("specflow.workspace.git.process._BASE_ENV", None)  # git's environment is read once
        git(root, "config", "author.name", "Au Thor")
        git(root, "config", "committer.email", "committer@example.com")
    tree = git(root, "rev-parse", f"{two}^{{tree}}").strip()
    message = "specflow: merge change x\n\nwith a body"
    by_git = subprocess.run(
        ["git", "commit-tree", "-p", two, "-p", one, tree], cwd=root, input=message, text=True, capture_output=True
    ).stdout.strip()
    epoch = int(git(root, "log", "-1", "--format=%ct", by_git))
    monkeypatch.setattr(time, "time", lambda: float(epoch))
    repo = GitRepo.open(root)
    assert looserefs.user_identities(repo.git_dir, repo.common_dir) is not None
    assert repo.commit_tree_as_user(tree, [two, one], message) == by_git
    # signing configured: git makes it
    git(root, "config", "commit.gpgsign", "true")
    assert looserefs.user_identities(repo.git_dir, repo.common_dir) is None


def test_a_ref_lock_let_go_while_waiting_is_taken_as_git_takes_it(pair: tuple[Path, Path, str, str]) -> None:
    _by_git, root, one, two = pair
    repo = GitRepo.open(root)
    lock = root / ".git" / "refs" / "heads" / "main.lock"
    git(root, "config", "core.filesRefLockTimeout", "5000")  # git tries again for 5 s
    lock.write_text("")
    threading.Timer(0.05, lock.unlink).start()  # the other process lets go
    repo.move_refs([RefMove("HEAD", one, two)], "after the wait")
    assert git(root, "rev-parse", "HEAD").strip() == one
    assert not list((root / ".git").rglob("*.lock"))
