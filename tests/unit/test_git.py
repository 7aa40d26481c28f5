"""specflow.workspace.git: the one module that runs git, tested on real repos in tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from specflow.errors import GitError
from specflow.workspace import indexfile
from specflow.workspace.git import GitRepo, IndexEntry
from specflow.workspace.indexfile import forget_parsed_indexes, parse_index_ctimes, smudge_entries, stamp_ns
from tests.conftest import commit_all, committed, git, git_commands_run, init_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "r")
    (root / "a.txt").write_text("a\n")
    (root / "dir").mkdir()
    (root / "dir" / "b.txt").write_text("b\n")
    commit_all(root, "init")
    return root


def test_open_main_checkout_worktree_and_subfolder(repo: Path, tmp_path: Path) -> None:
    main = GitRepo.open(repo)
    assert main.root == repo.resolve()
    assert main.git_dir == (repo / ".git").resolve() == main.common_dir
    assert not main.is_linked_worktree

    wt_path = tmp_path / "wt"
    main.worktree_add(wt_path, "feature", "main")
    wt = GitRepo.open(wt_path)
    assert wt.is_linked_worktree
    assert wt.common_dir == main.common_dir
    assert wt.head_file() == ("refs/heads/feature", None)

    sub = GitRepo.open(repo / "dir")
    assert sub.root == repo.resolve()


def test_open_refuses_a_folder_outside_git(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError, match="not inside a git repository") as info:
        GitRepo.open(plain)
    assert "git init" in (info.value.fix or "")


def test_snapshot_writes_tracked_and_untracked_without_touching_anything(repo: Path, tmp_path: Path) -> None:
    r = GitRepo.open(repo)
    (repo / "a.txt").write_text("changed\n")
    (repo / "new.txt").write_text("untracked\n")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "skip.log").write_text("ignored\n")
    git(repo, "add", ".gitignore")
    index_before = (repo / ".git" / "index").read_bytes()
    head_before = git(repo, "rev-parse", "HEAD")
    status_before = git(repo, "status", "--porcelain")

    tree = r.snapshot(tmp_path / "tmp.index", r.real_index())

    names = git(repo, "ls-tree", "-r", "--name-only", tree).split()
    assert set(names) == {".gitignore", "a.txt", "dir/b.txt", "new.txt"}
    assert git(repo, "cat-file", "-p", f"{tree}:a.txt") == "changed\n"
    assert (repo / ".git" / "index").read_bytes() == index_before
    assert git(repo, "rev-parse", "HEAD") == head_before
    assert git(repo, "status", "--porcelain") == status_before


def test_diff_trees_reports_every_kind_of_change(repo: Path, tmp_path: Path) -> None:
    r = GitRepo.open(repo)
    before = r.snapshot(tmp_path / "i", None)
    (repo / "a.txt").write_text("content\n")
    os.chmod(repo / "dir" / "b.txt", 0o755)
    (repo / "c.txt").write_text("new\n")
    os.symlink("a.txt", repo / "link")
    after = r.snapshot(tmp_path / "i", tmp_path / "i")
    (repo / "c.txt").unlink()
    gone = r.snapshot(tmp_path / "i", tmp_path / "i")

    changes = {c.path: c for c in r.diff_trees(before, after)}
    assert changes["a.txt"].status == "M"
    assert changes["dir/b.txt"].old_mode == "100644" and changes["dir/b.txt"].new_mode == "100755"
    assert changes["dir/b.txt"].old_sha == changes["dir/b.txt"].new_sha
    assert changes["c.txt"].status == "A" and not changes["c.txt"].old_exists
    assert changes["link"].new_mode == "120000"
    assert [c.path for c in r.diff_trees(after, gone)] == ["c.txt"]
    assert r.diff_trees(after, gone)[0].status == "D"
    assert r.diff_trees(after, after) == []


def test_diff_trees_batch_aligns_results_with_pairs(repo: Path, tmp_path: Path) -> None:
    r = GitRepo.open(repo)
    t1 = r.snapshot(tmp_path / "i", None)
    (repo / "x.txt").write_text("x\n")
    t2 = r.snapshot(tmp_path / "i", tmp_path / "i")
    assert r.diff_trees_batch([(t1, t2), (t2, t2), (t2, t1), (t1, t2)]) == [["x.txt"], [], ["x.txt"], ["x.txt"]]


def test_a_snapshot_stores_a_big_file_uncompressed_and_small_ones_compressed(repo: Path, tmp_path: Path) -> None:
    # zeros compress to almost nothing: a stored copy shows as its full size on disk
    big = b"\0" * (33 << 20)
    (repo / "big.bin").write_bytes(big)
    (repo / "small.txt").write_text("small " * 20_000)
    objects = repo / ".git" / "objects"
    r = GitRepo.open(repo)

    tree = r.snapshot(tmp_path / "i", r.real_index())

    packs = list((objects / "pack").glob("*.pack"))
    assert len(packs) == 1 and packs[0].stat().st_size >= len(big)
    assert git(repo, "rev-parse", f"{tree}:big.bin").strip() == git(repo, "hash-object", "big.bin").strip()
    small = git(repo, "rev-parse", f"{tree}:small.txt").strip()
    assert (objects / small[:2] / small[2:]).stat().st_size < 10_000  # loose and compressed, as git does


def test_read_blobs_returns_exact_bytes(repo: Path) -> None:
    r = GitRepo.open(repo)
    sha_a = git(repo, "rev-parse", "HEAD:a.txt").strip()
    sha_b = git(repo, "rev-parse", "HEAD:dir/b.txt").strip()
    assert r.read_blobs([sha_a, sha_b, sha_a]) == {sha_a: b"a\n", sha_b: b"b\n"}


def test_index_entries_round_trip(repo: Path) -> None:
    r = GitRepo.open(repo)
    entries = r.index_entries()
    assert set(entries) == {"a.txt", "dir/b.txt"}
    sha = entries["a.txt"].sha
    r.set_index_entries({"copy.txt": IndexEntry("100644", sha, 0), "dir/b.txt": None})
    assert set(r.index_entries()) == {"a.txt", "copy.txt"}


def test_merge_preview_clean_and_conflicting(repo: Path) -> None:
    r = GitRepo.open(repo)
    git(repo, "switch", "-q", "-c", "side")
    (repo / "a.txt").write_text("side\n")
    commit_all(repo, "side")
    git(repo, "switch", "-q", "main")
    (repo / "other.txt").write_text("o\n")
    commit_all(repo, "main work")
    assert r.merge_preview("main", "side").clean
    (repo / "a.txt").write_text("main\n")
    commit_all(repo, "main conflicting")
    preview = r.merge_preview("main", "side")
    assert not preview.clean
    assert preview.conflicts == ("a.txt",)
    assert git(repo, "status", "--porcelain") == ""


def test_add_excludes_is_idempotent_and_never_touches_gitignore(repo: Path) -> None:
    r = GitRepo.open(repo)
    r.add_excludes(["/.specflow/"], "specflow")
    r.add_excludes(["/.specflow/"], "specflow")
    text = (repo / ".git" / "info" / "exclude").read_text()
    assert text.count("/.specflow/") == 1
    assert not (repo / ".gitignore").exists()


def test_worktrees_lists_branches(repo: Path, tmp_path: Path) -> None:
    r = GitRepo.open(repo)
    r.worktree_add(tmp_path / "w1", "one", "main")
    listed = {w.branch: w.path for w in r.worktrees()}
    assert listed["main"] == repo.resolve()
    assert listed["one"] == (tmp_path / "w1").resolve()


def test_failure_names_the_command_and_gits_message(repo: Path) -> None:
    r = GitRepo.open(repo)
    with pytest.raises(GitError, match=r"git rev-parse --verify nope failed in .*exit 128"):
        r.run("rev-parse", "--verify", "nope")


@pytest.mark.parametrize("version", ["2", "3", "4"])
def test_index_ctimes_are_read_to_the_nanosecond_in_every_index_version(tmp_path: Path, version: str) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    names = ["a.txt", "dir/b.txt", "dir/sub/c with space.txt", "dir/sub/d.txt", "é.txt"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "update-index", "--index-version", version], cwd=tmp_path, check=True)
    if version == "3":
        subprocess.run(["git", "update-index", "--skip-worktree", "a.txt"], cwd=tmp_path, check=True)
    data = (tmp_path / ".git" / "index").read_bytes()
    found = parse_index_ctimes(data)
    assert sorted(found) == sorted(os.fsencode(n) for n in names)
    for name in names:
        assert stamp_ns(found[os.fsencode(name)]) == (tmp_path / name).lstat().st_ctime_ns, name
    repo = GitRepo.open(tmp_path)
    assert repo.index_ctimes(tmp_path / ".git" / "index") == found


def test_a_commit_by_specflow_reports_the_new_sha_on_a_branch_a_worktree_and_a_packed_ref(tmp_path: Path) -> None:
    repo_dir = init_repo(tmp_path / "repo")
    (repo_dir / "a.txt").write_text("one\n")
    commit_all(repo_dir)
    repo = GitRepo.open(repo_dir)
    (repo_dir / "a.txt").write_text("two\n")
    assert repo.commit_all("specflow: two\n") == git(repo_dir, "rev-parse", "HEAD").strip()
    assert repo.commit_all("nothing\n") is None
    # in a linked worktree the branch's ref lives in the common folder
    git(repo_dir, "worktree", "add", "-q", "-b", "specflow/x", str(tmp_path / "wt"))
    worktree = GitRepo.open(tmp_path / "wt")
    (tmp_path / "wt" / "b.txt").write_text("b\n")
    assert worktree.commit_all("specflow: b\n") == git(tmp_path / "wt", "rev-parse", "HEAD").strip()
    # a packed ref is not read from a file: git is asked
    git(repo_dir, "pack-refs", "--all")
    assert repo.head_sha_from_files() is None
    (repo_dir / "a.txt").write_text("three\n")
    assert repo.commit_all("specflow: three\n") == git(repo_dir, "rev-parse", "HEAD").strip()


def test_a_commit_by_specflow_moves_the_branch_like_git_commit_and_leaves_a_clean_tree_alone(tmp_path: Path) -> None:
    repo_dir = init_repo(tmp_path / "repo")
    (repo_dir / "a.txt").write_text("one\n")
    commit_all(repo_dir)
    repo = GitRepo.open(repo_dir)
    before = git(repo_dir, "rev-parse", "HEAD").strip()
    git(repo_dir, "gc", "-q")  # HEAD's commit packed: its tree is asked of git, not read from a loose file
    assert repo.commit_all("nothing\n") is None
    assert git(repo_dir, "rev-parse", "HEAD").strip() == before
    (repo_dir / "new.txt").write_text("new\n")
    sha = repo.commit_all("specflow: new file\n\nSpecflow-Change: x\n")
    assert sha == git(repo_dir, "rev-parse", "HEAD").strip()
    assert git(repo_dir, "rev-parse", "HEAD^").strip() == before
    assert git(repo_dir, "log", "-1", "--format=%an <%ae>|%B").strip() == (
        "specflow <specflow@localhost>|specflow: new file\n\nSpecflow-Change: x"
    )
    # the branch's reflog and HEAD's say what git commit says
    assert git(repo_dir, "reflog", "-1", "--format=%gs", "main").strip() == "commit: specflow: new file"
    assert git(repo_dir, "reflog", "-1", "--format=%gs", "HEAD").strip() == "commit: specflow: new file"
    assert git(repo_dir, "status", "--porcelain") == ""
    assert repo.commit_all("again\n") is None  # the new commit is a loose object: read in-process


def test_a_commit_by_specflow_in_a_repo_without_commits_starts_the_branch(tmp_path: Path) -> None:
    repo_dir = init_repo(tmp_path / "empty")
    (repo_dir / "a.txt").write_text("a\n")
    sha = GitRepo.open(repo_dir).commit_all("first\n")
    assert sha == git(repo_dir, "rev-parse", "main").strip()
    assert git(repo_dir, "rev-list", "--count", "HEAD").strip() == "1"


def test_move_checkout_writes_only_the_changed_paths_and_refuses_a_local_edit_in_the_way(repo: Path) -> None:
    r = GitRepo.open(repo)
    old = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "side")
    (repo / "a.txt").write_text("a from side\n")
    commit_all(repo, "side")
    new = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "main")
    (repo / "dir" / "b.txt").write_text("my own edit\n")  # a local edit the move leaves alone
    r.move_checkout("main", old, new, "merge side: test")
    assert (repo / "a.txt").read_text() == "a from side\n"
    assert (repo / "dir" / "b.txt").read_text() == "my own edit\n"
    assert git(repo, "rev-parse", "main", "ORIG_HEAD").split() == [new, old]
    assert git(repo, "reflog", "-1", "--format=%gs", "main").strip() == "merge side: test"
    assert git(repo, "status", "--porcelain") == " M dir/b.txt\n"
    # back: a local edit of a file the move would change stops it, and nothing moves
    (repo / "a.txt").write_text("edited\n")
    with pytest.raises(GitError):
        r.move_checkout("main", new, old, "back")
    assert git(repo, "rev-parse", "main").strip() == new
    assert (repo / "a.txt").read_text() == "edited\n"


def test_move_checkout_puts_the_files_back_when_the_branch_moved_meanwhile(repo: Path) -> None:
    r = GitRepo.open(repo)
    old = git(repo, "rev-parse", "HEAD").strip()
    (repo / "a.txt").write_text("a two\n")
    commit_all(repo, "two")
    new = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "reset", "-q", "--hard", old)
    elsewhere = git(repo, "commit-tree", "-p", old, "-m", "elsewhere", f"{old}^{{tree}}").strip()
    git(repo, "update-ref", "refs/heads/main", elsewhere)  # the branch moved, the files did not
    with pytest.raises(GitError):
        r.move_checkout("main", old, new, "too late")
    assert git(repo, "rev-parse", "main").strip() == elsewhere
    assert (repo / "a.txt").read_text() == "a\n"


def test_the_folders_of_an_index_are_the_same_worked_out_afresh_or_from_an_earlier_index(
    repo: Path, tmp_path: Path
) -> None:
    r = GitRepo.open(repo)
    first, second, third = tmp_path / "i1", tmp_path / "i2", tmp_path / "i3"
    r.snapshot(first, None)
    (repo / "new" / "deep" / "er").mkdir(parents=True)
    (repo / "new" / "deep" / "er" / "f.txt").write_text("f\n")
    r.snapshot(second, first)  # only adds paths
    (repo / "dir" / "b.txt").unlink()
    r.snapshot(third, second)  # removes one: its folder goes
    expected = {
        first: {b"dir"},
        second: {b"dir", b"new", b"new/deep", b"new/deep/er"},
        third: {b"new", b"new/deep", b"new/deep/er"},
    }
    indexfile._FOLDERS.clear()
    assert [r.index_folders(i) for i in (first, second, third)] == [expected[i] for i in (first, second, third)]
    indexfile._FOLDERS.clear()
    assert [r.index_folders(i) for i in (third, second)] == [expected[third], expected[second]]


def test_two_snapshot_indexes_differ_exactly_as_the_trees_written_from_them(repo: Path, tmp_path: Path) -> None:
    r = GitRepo.open(repo)
    first, second = tmp_path / "i1", tmp_path / "i2"
    (repo / "dir" / "gone.txt").write_text("gone\n")
    (repo / "was-file").write_text("becomes a folder\n")
    (repo / "was-link").symlink_to("a.txt")
    before = r.snapshot(first, None)
    (repo / "a.txt").write_text("content\n")  # modified
    os.chmod(repo / "dir" / "b.txt", 0o755)  # mode only
    (repo / "dir" / "gone.txt").unlink()  # deleted
    (repo / "a-b.txt").write_text("new\n")  # added, sorts between a.txt and a/ folders
    (repo / "was-file").unlink()
    (repo / "was-file").mkdir()
    (repo / "was-file" / "inner.txt").write_text("inner\n")  # a file turned into a folder
    (repo / "was-link").unlink()
    (repo / "was-link").write_text("now a file\n")  # a link turned into a file: type change
    after = r.snapshot(second, first)

    found = r.diff_indexes(first, second)
    assert found is not None
    assert found == r.diff_trees(before, after)
    assert {c.path: c.status for c in found} == {
        "a-b.txt": "A",
        "a.txt": "M",
        "dir/b.txt": "M",
        "dir/gone.txt": "D",
        "was-file": "D",
        "was-file/inner.txt": "A",
        "was-link": "T",
    }
    assert r.diff_indexes(second, second) == []
    assert r.diff_indexes(tmp_path / "missing", second) is None


def test_a_snapshot_whose_index_only_changed_stat_data_gives_the_tree_it_was_written_from(
    repo: Path, tmp_path: Path
) -> None:
    r = GitRepo.open(repo)
    index = tmp_path / "i"
    tree = r.snapshot(index, None)
    known = (r.index_checksum(index), tree)
    os.utime(repo / "a.txt", (1_000_000_000, 1_000_000_000))  # stat data moves, the bytes stay
    assert r.snapshot(index, index, known=known) == tree
    (repo / "a.txt").write_text("other\n")
    changed = r.snapshot(index, index, known=known)
    assert changed != tree
    assert [c.path for c in r.diff_trees(tree, changed)] == ["a.txt"]


@pytest.mark.parametrize("version", ["2", "3", "4"])
def test_a_smudged_entry_is_hashed_again_by_add_and_the_index_stays_valid(tmp_path: Path, version: str) -> None:
    repo = init_repo(tmp_path / "r")
    for name in ("a.txt", "dir/b.txt", "dir/sub/c.txt"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(name)
    git(repo, "add", "-A")
    git(repo, "update-index", "--index-version", version)
    index = repo / ".git" / "index"
    before, mtime = parse_index_ctimes(index.read_bytes()), index.stat().st_mtime_ns
    # a same-size edit with its stat data put back: git alone takes it for unchanged
    st = (repo / "dir/b.txt").stat()
    (repo / "dir/b.txt").write_text("dir/B.txt")
    os.utime(repo / "dir/b.txt", ns=(st.st_atime_ns, st.st_mtime_ns))

    assert smudge_entries(index, ["dir/b.txt"])
    after = parse_index_ctimes(index.read_bytes())
    assert index.stat().st_mtime_ns == mtime
    assert {rel for rel in after if after[rel] != before[rel]} == {b"dir/b.txt"}
    assert after[b"dir/b.txt"][36:40] == bytes(4) and after[b"dir/b.txt"][40:] == before[b"dir/b.txt"][40:]
    git(repo, "add", "-A")  # git reads the rewritten index (its checksum holds) and hashes the file again
    staged = subprocess.run(["git", "ls-files", "-s", "dir/b.txt"], cwd=repo, capture_output=True, check=True)
    blob = subprocess.run(["git", "hash-object", "dir/b.txt"], cwd=repo, capture_output=True, check=True)
    assert staged.stdout.split()[1] == blob.stdout.strip()
    assert not smudge_entries(tmp_path / "r" / "a.txt", ["a.txt"])  # not an index: git is asked instead


@pytest.mark.parametrize("version", ["2", "3", "4"])
def test_stat_data_filled_in_for_entries_set_by_object_is_what_git_records_for_the_file(
    tmp_path: Path, version: str
) -> None:
    repo = init_repo(tmp_path / "r")
    past = time.time() - 10  # written seconds before the index: no entry is racily clean
    for name in ("a.txt", "dir/big.bin", "dir/sub/c.txt"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(name * 50)
        os.utime(repo / name, (past, past))
    commit_all(repo, "files")
    git(repo, "update-index", "--index-version", version)
    index = repo / ".git" / "index"
    blob = git(repo, "hash-object", "-w", "dir/big.bin").strip()
    # set by its object alone, as a commit stages a big file a snapshot stored: no stat data
    payload = f"100644 {blob} 0\tdir/big.bin\n".encode()
    subprocess.run(["git", "update-index", "--index-info"], cwd=repo, input=payload, check=True)
    before = parse_index_ctimes(index.read_bytes())
    assert before[b"dir/big.bin"][36:40] == bytes(4)
    shutil.copy2(index, tmp_path / "refreshed.index")
    subprocess.run(  # git's own answer: the stat data its refresh (which reads the file) records
        ["git", "update-index", "-q", "--refresh"],
        cwd=repo,
        env={**os.environ, "GIT_INDEX_FILE": str(tmp_path / "refreshed.index")},
        check=True,
    )
    refreshed = parse_index_ctimes((tmp_path / "refreshed.index").read_bytes())

    big_st = (repo / "dir/big.bin").lstat()
    assert indexfile.fill_stat(index, {"dir/big.bin": (big_st, blob), "not/there": (index.stat(), blob)})
    after = parse_index_ctimes(index.read_bytes())
    assert after[b"dir/big.bin"] == refreshed[b"dir/big.bin"]
    assert {rel for rel in after if after[rel] != before[rel]} == {b"dir/big.bin"}
    assert not (repo / ".git" / "index.lock").exists()
    assert git(repo, "status", "--porcelain").strip() == ""  # git reads the index (its checksum holds)
    # while git holds the index's lock, nothing is written and the lock stays git's
    (repo / ".git" / "index.lock").write_bytes(b"git's")
    written = index.read_bytes()
    assert not indexfile.fill_stat(index, {"a.txt": ((repo / "a.txt").lstat(), blob)})
    assert index.read_bytes() == written and (repo / ".git" / "index.lock").read_bytes() == b"git's"


def test_stat_data_is_never_filled_in_for_an_entry_that_holds_another_object_than_its_file(tmp_path: Path) -> None:
    """A person who staged another version meanwhile (here HEAD's, after the file changed) keeps an
    entry git compares with the file: it must not be made to look like the file's content."""
    repo = init_repo(tmp_path / "r")
    (repo / "big.bin").write_text("committed\n")
    commit_all(repo, "files")
    (repo / "big.bin").write_text("the agent's version\n")
    stored = git(repo, "hash-object", "-w", "big.bin").strip()
    index = repo / ".git" / "index"
    # staged meanwhile: the entry holds HEAD's object, with no stat data of the file's
    git(repo, "update-index", "--cacheinfo", f"100644,{git(repo, 'rev-parse', 'HEAD:big.bin').strip()},big.bin")
    before = parse_index_ctimes(index.read_bytes())

    assert indexfile.fill_stat(index, {"big.bin": ((repo / "big.bin").lstat(), stored)})
    assert parse_index_ctimes(index.read_bytes()) == before
    assert git(repo, "diff", "--name-only").strip() == "big.bin"  # git still sees the file differ from its entry


def test_filling_in_stat_data_never_hides_a_change_made_in_the_second_of_the_last_add(tmp_path: Path) -> None:
    """Racy git: an entry whose file changed in the very second ``add`` recorded it, its size the
    same, is told apart only because the index's own time is that second too.  The fill rewrites
    the index later: such an entry is smudged, so git reads its file rather than trust it."""
    repo = init_repo(tmp_path / "r")
    (repo / "big.bin").write_text("stored content\n")
    commit_all(repo, "files")
    blob = git(repo, "rev-parse", "HEAD:big.bin").strip()
    payload = f"100644 {blob} 0\tbig.bin\n".encode()
    for _ in range(20):  # 'add', then a write of the same size, in one second of the clock
        second = time.time_ns() // 1_000_000_000
        (repo / "racy.txt").write_text("first\n")
        git(repo, "add", "racy.txt")
        subprocess.run(["git", "update-index", "--index-info"], cwd=repo, input=payload, check=True)
        (repo / "racy.txt").write_text("later\n")
        if (repo / "racy.txt").stat().st_mtime_ns // 1_000_000_000 == second == time.time_ns() // 1_000_000_000:
            break
    else:
        pytest.fail("no add and write within one second in 20 tries")
    index = repo / ".git" / "index"
    while time.time_ns() // 1_000_000_000 == second:  # the fill comes in a later second (< 1 s)
        time.sleep(0.01)

    assert indexfile.fill_stat(index, {"big.bin": ((repo / "big.bin").lstat(), blob)})
    assert git(repo, "status", "--porcelain").splitlines() == ["AM racy.txt"]
    assert parse_index_ctimes(index.read_bytes())[b"big.bin"][36:40] != bytes(4)  # still filled in


def test_smudging_an_index_parsed_in_this_process_finds_its_entries_by_its_kept_layout(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    names = [f"d{i % 7}/f{i:03d}.txt" for i in range(300)] + ["a.txt", "z/last.txt"]
    for name in names:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(name)
    git(repo, "add", "-A")
    git(repo, "update-index", "--index-version", "4")
    index = repo / ".git" / "index"
    walked, laid_out = tmp_path / "walked.index", tmp_path / "laid-out.index"
    shutil.copy2(index, walked)
    shutil.copy2(index, laid_out)
    wanted = ["z/last.txt", "d3/f010.txt", "a.txt", "not/there.txt"]
    forget_parsed_indexes()
    assert smudge_entries(walked, wanted)  # no layout kept: every entry walked
    GitRepo.open(repo).index_ctimes(laid_out)  # parsed here: its layout is kept
    calls: list[int] = []
    real_walk = indexfile._entry_offsets

    def walk(data: bytes, hash_len: int) -> Iterable[tuple[bytes, int]]:
        calls.append(len(data))
        return real_walk(data, hash_len)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(indexfile, "_entry_offsets", walk)
        assert smudge_entries(laid_out, wanted)
    assert calls == []  # found by the layout, not by a walk
    assert laid_out.read_bytes() == walked.read_bytes()
    after = parse_index_ctimes(laid_out.read_bytes())
    assert {rel for rel, data in after.items() if data[36:40] == bytes(4)} == {b"z/last.txt", b"d3/f010.txt", b"a.txt"}


def test_edited_paths_are_answered_from_the_index_when_git_would_surely_call_them_unedited(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = GitRepo.open(repo)
    index = repo / ".git" / "index"
    for rel in ("a.txt", "dir/b.txt"):  # written long before the index: nothing racily clean
        os.utime(repo / rel, (1_000_000_000, 1_000_000_000))
    git(repo, "update-index", "--refresh")
    ran = git_commands_run(monkeypatch)
    assert r.edited_paths(["a.txt", "dir/b.txt", "not/tracked.txt"]) == []
    assert ran == []  # answered without a process
    # a file rewritten: its stat data moved, git looks at it
    (repo / "a.txt").write_text("edited\n")
    assert r.edited_paths(["a.txt", "dir/b.txt"]) == ["a.txt"]
    assert ran == ["diff"]
    # a tracked folder named as a path, a deleted file: git is asked, and answers as ever
    assert r.edited_paths(["dir"]) == [] and ran == ["diff", "diff"]
    (repo / "dir" / "b.txt").unlink()
    assert r.edited_paths(["dir/b.txt"]) == ["dir/b.txt"]
    git(repo, "checkout", "--", ".")
    # an index written in the second its files were: racily clean, git is asked
    os.utime(index, (os.stat(repo / "a.txt").st_mtime,) * 2)
    ran.clear()
    assert r.edited_paths(["a.txt"]) == [] and ran == ["diff"]


def test_branch_exists_answers_as_git_does_and_runs_no_process_for_a_plain_ref(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = GitRepo.open(repo)
    for branch in ("specflow/add-login", "loose", "to-pack", "v1.2"):
        git(repo, "branch", branch)
    git(repo, "pack-refs", "--all")  # every branch packed ...
    (repo / "a.txt").write_text("two\n")
    commit_all(repo, "two")
    git(repo, "update-ref", "refs/heads/loose", "HEAD")  # ... but one, moved: a loose file again
    assert (repo / ".git" / "refs" / "heads" / "loose").is_file()
    assert not (repo / ".git" / "refs" / "heads" / "to-pack").exists()
    git(repo, "symbolic-ref", "refs/heads/alias", "refs/heads/loose")

    def by_git(branch: str) -> bool:
        done = subprocess.run(["git", "show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=repo, check=False)
        return done.returncode == 0

    plain = ["main", "loose", "to-pack", "v1.2", "specflow/add-login", "specflow", "specflow/add-login/x", "gone"]
    ran = git_commands_run(monkeypatch)
    for where in ("loose objects", "packed objects"):
        answers = {branch: r.branch_exists(branch) for branch in plain}
        assert ran == [], where  # ref files, packed-refs and the objects read, no process
        assert answers == {branch: by_git(branch) for branch in plain}, where
        assert [b for b, found in answers.items() if found] == [
            "main",
            "loose",
            "to-pack",
            "v1.2",
            "specflow/add-login",
        ]
        git(repo, "repack", "-adq")  # every object in a pack: found in the pack's index
        assert not any((repo / ".git" / "objects").glob("??/*"))
    # a symbolic ref, a damaged ref file, a ref to an object the repository lacks, a name git would
    # refuse: git is asked, and answers as ever
    (repo / ".git" / "refs" / "heads" / "damaged").write_text("not an object id\n")
    (repo / ".git" / "refs" / "heads" / "dangling").write_text("12" * 20 + "\n")
    odd = ("alias", "damaged", "dangling", "a..b", "x.lock", ".hidden")
    assert {branch: r.branch_exists(branch) for branch in odd} == {branch: by_git(branch) for branch in odd}
    assert ran == ["show-ref"] * len(odd)
    assert r.branch_exists("alias") and not r.branch_exists("damaged") and not r.branch_exists("dangling")


def test_staged_paths_are_none_without_a_process_when_the_index_holds_heads_tree(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = GitRepo.open(repo)
    old = git(repo, "rev-parse", "HEAD").strip()
    (repo / "dir" / "c.txt").write_text("c\n")
    commit_all(repo, "two")
    new = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "reset", "-q", "--hard", old)
    git(repo, "read-tree", "-m", "-u", old, new)  # as a landing moves a checkout: the cache tree partly invalid
    git(repo, "update-ref", "refs/heads/main", new)
    (repo / "a.txt").write_text("an edit, not staged\n")
    ran = git_commands_run(monkeypatch)
    assert r.staged_paths() == []
    assert ran == []

    def by_git() -> list[str]:
        return [p for p in git(repo, "diff-index", "--cached", "--name-only", "-z", "HEAD").split("\0") if p]

    # anything staged: git lists it, as it always did
    for stage in (["add", "a.txt"], ["rm", "-q", "--cached", "dir/b.txt"], ["add", "-N", "new.txt"]):
        (repo / "new.txt").write_text("new\n")
        git(repo, *stage)
        assert r.staged_paths() == by_git() != []
        git(repo, "reset", "-q")
    assert r.staged_paths() == []


def _merge_tree(root: Path, base: str, branch: str) -> str:
    return git(root, "merge-tree", "--write-tree", base, branch).splitlines()[0].strip()


def test_surely_descends_reads_loose_history_and_agrees_with_git(repo: Path) -> None:
    r = GitRepo.open(repo)
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "side")
    for i in range(3):
        (repo / f"s{i}.txt").write_text(f"{i}\n")
        tip = committed(repo, f"side {i}")
    git(repo, "checkout", "-q", "main")
    (repo / "m.txt").write_text("moved\n")
    moved = committed(repo, "main moves")
    assert r.surely_descends(tip, base) is True and r.surely_descends(tip, tip) is True
    assert r.surely_descends(tip, moved) is False and r.surely_descends(base, tip) is False
    # where it says so, the merge's tree is the branch's own, as git's merge-tree computes it
    assert _merge_tree(repo, base, tip) == r.tree_of(tip)
    # a longer history than it reads, or a merge with two parents
    assert r.surely_descends(tip, base, limit=2) is False
    git(repo, "merge", "-q", "--no-ff", "-m", "merge side", "side")
    merged = git(repo, "rev-parse", "HEAD").strip()
    assert r.surely_descends(merged, tip) is True and r.surely_descends(merged, moved) is True


def test_surely_descends_leaves_packed_replaced_or_shallow_history_to_git(repo: Path) -> None:
    r = GitRepo.open(repo)
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "x.txt").write_text("x\n")
    tip = committed(repo, "x")
    assert r.surely_descends(tip, base) is True
    git(repo, "replace", "--graft", tip)  # git now sees tip without its parent
    assert r.surely_descends(tip, base) is False
    git(repo, "replace", "-d", tip)
    assert r.surely_descends(tip, base) is True
    git(repo, "gc", "-q")  # every commit packed: nothing to read loose
    assert r.surely_descends(tip, base) is False
