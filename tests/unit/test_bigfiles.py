"""Big tracked files in snapshots: read once, stored by specflow uncompressed, and still audited.

The threshold is lowered to 64 KiB here so the files stay small; the code paths are those of a
256 MiB file (benchmarks/bigfile_bench.py times that one).
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from specflow.workspace import bigfiles, indexfile
from specflow.workspace.git import process
from tests.conftest import commit_all, git
from tests.unit.test_audit import kinds, propose, run_turn
from tests.unit.test_workspaces import CHANGE, MultiHub, make_multi_hub

BIG = 64 * 1024


@pytest.fixture
def multi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MultiHub:
    monkeypatch.setattr(bigfiles, "BIG_FILE", BIG)
    h = make_multi_hub(tmp_path)
    (h.worktree / "assets").mkdir()
    (h.worktree / "assets" / "big.bin").write_bytes(os.urandom(2 * BIG))
    (h.change_dir / "data.bin").write_bytes(os.urandom(2 * BIG))  # inside the propose gate
    commit_all(h.worktree, "big files")
    return h


def _raw(root: Path, tree: str, path: str) -> bytes:
    return subprocess.run(
        ["git", "cat-file", "blob", f"{tree}:{path}"], cwd=root, capture_output=True, check=True
    ).stdout


def show_index(idx: Path) -> list[str]:
    """The object names a pack's index lists, as git reads it."""
    out = subprocess.run(["git", "show-index"], input=idx.read_bytes(), capture_output=True, check=True).stdout
    return [line.split()[1].decode() for line in out.splitlines()]


def test_a_changed_big_file_is_stored_uncompressed_as_git_names_it_and_read_once(
    multi: MultiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = multi.workspaces()
    data = multi.change_dir / "data.bin"
    ws.checkpoint(phase="propose", state="explore")
    with data.open("r+b") as fh:
        fh.seek(1000)
        fh.write(b"changed by the agent")
    read: list[str] = []
    real_store = bigfiles._store

    def counted(loc: Path, *args: object) -> object:
        read.append(loc.name)
        return real_store(loc, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(bigfiles, "_store", counted)
    cp = ws.checkpoint(phase="propose", state="explore")
    tree = cp.workspaces["hub"].tree
    rel = f"openspec/changes/{CHANGE}/data.bin"
    assert _raw(multi.worktree, tree, rel) == data.read_bytes()
    sha = git(multi.worktree, "rev-parse", f"{tree}:{rel}").strip()
    assert sha == git(multi.worktree, "hash-object", rel).strip()
    # a pack of that one blob, stored (not compressed); fsck checks its checksums and CRC
    common = (multi.worktree / git(multi.worktree, "rev-parse", "--git-common-dir").strip()).resolve()
    packs = [idx for idx in (common / "objects" / "pack").glob("pack-*.idx") if sha in show_index(idx)]
    assert len(packs) == 1 and show_index(packs[0]) == [sha]
    assert packs[0].with_suffix(".pack").stat().st_size >= data.stat().st_size
    assert git(multi.worktree, "fsck", "--no-dangling", "--strict").strip() == ""
    assert "data.bin" in read
    # a file changed moments before it was read is read again (a later write in the same clock
    # tick would not move its ctime) when it could not be read once settled; once settled, a
    # snapshot that finds it as it was reads nothing
    monkeypatch.setattr(bigfiles, "SETTLE_WAIT_NS", 0)
    with data.open("r+b") as fh:
        fh.write(b"changed again")
    ws.checkpoint(phase="propose", state="explore")
    read.clear()
    packs = sorted((common / "objects" / "pack").glob("pack-*.pack"))
    ws.checkpoint(phase="propose", state="explore")
    assert "data.bin" in read
    assert sorted((common / "objects" / "pack").glob("pack-*.pack")) == packs  # the same bytes: stored once
    monkeypatch.setattr(bigfiles, "SETTLED_NS", 0)
    ws.checkpoint(phase="propose", state="explore")
    read.clear()
    again = ws.checkpoint(phase="propose", state="explore")
    assert read == [] and again.workspaces["hub"].tree != ""


def test_a_big_file_changed_outside_the_gate_is_put_back_and_a_chmod_of_one_is_seen(multi: MultiHub) -> None:
    ws = multi.workspaces()
    big = multi.worktree / "assets" / "big.bin"
    before = big.read_bytes()
    ws.checkpoint(phase="propose", state="explore")  # the big files are stored from here on

    def agent() -> None:
        with big.open("r+b") as fh:
            fh.write(b"overwritten")

    report = run_turn(ws, propose(ws), agent)
    assert kinds(report) == {("hub", "assets/big.bin", "modified")}
    assert big.read_bytes() == before
    mode = stat.S_IMODE(big.lstat().st_mode)
    report = run_turn(ws, propose(ws), lambda: os.chmod(big, 0o600))
    assert kinds(report) == {("hub", "assets/big.bin", "mode")}
    assert stat.S_IMODE(big.lstat().st_mode) == mode


@pytest.mark.parametrize("threshold", [bigfiles.BIG_FILE, 0x01800000, BIG])
def test_the_entries_recording_a_big_size_are_found_among_many(monkeypatch: pytest.MonkeyPatch, threshold: int) -> None:
    """``recorded_big`` reads the first byte of every size field in one slice: each size at and
    around the threshold is judged as a comparison of the whole field would judge it."""
    monkeypatch.setattr(bigfiles, "BIG_FILE", threshold)
    near = [0, 1, 0xFFFF, threshold - 1, threshold, threshold + 1, 0x01FFFFFF, 0x02000000, 0x0200FFFF, 0xFFFFFFFF]
    sizes = [i % 5000 for i in range(3000)] + near + [threshold - 1] * 10
    stats = {
        f"f{i:05d}".encode(): bytes(range(36)) + size.to_bytes(4, "big") + bytes(22) for i, size in enumerate(sizes)
    }
    expected = [path for path, size in zip(stats, sizes, strict=True) if size >= threshold]
    assert bigfiles.recorded_big(stats) == expected
    assert expected  # the threshold itself, and the sizes above it


def _staged(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The git commands of the commit that stage files (``update-index``, ``add``), as run."""
    ran: list[list[str]] = []
    real = process.run_git

    def spy(args: list[str], *rest: object, **kwargs: object) -> object:
        if args and args[0] in ("update-index", "add"):
            ran.append(list(args))
        return real(args, *rest, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(process, "run_git", spy)
    return ran


def _committed(root: Path, commit: str, rel: str) -> str:
    return git(root, "rev-parse", f"{commit}:{rel}").strip()


def test_the_commit_after_an_audit_stages_the_big_file_it_stored_without_hashing_it_again(
    multi: MultiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git's ``add`` would read and hash the whole file again (0.6 s for 256 MiB here): the commit
    stages the blob the audit stored, the file as it is, and leaves it out of ``add``."""
    monkeypatch.setattr(bigfiles, "SETTLED_NS", 0)  # the agent's write is settled by the audit
    ws = multi.workspaces()
    data = multi.change_dir / "data.bin"
    rel = f"openspec/changes/{CHANGE}/data.bin"

    def agent() -> None:
        with data.open("r+b") as fh:
            fh.seek(500)
            fh.write(b"the agent's change")

    assert run_turn(ws, propose(ws), agent).ok
    ran = _staged(monkeypatch)
    made = ws.commit("the agent's work\n")
    sha = git(multi.worktree, "hash-object", rel).strip()
    assert _committed(multi.worktree, made["hub"], rel) == sha
    adds = [args for args in ran if args[0] == "add"]
    assert any(f":(exclude,literal){rel}" in args for args in adds), adds
    assert any(args[:3] == ["update-index", "-z", "--index-info"] for args in ran), ran
    # the index agrees with HEAD and the files, as after git's own commit, and records the file's
    # stat data as git's add would: a later git status (Claude Code runs one as it starts, without
    # writing the index) takes it for unchanged without reading it
    index = multi.worktree / git(multi.worktree, "rev-parse", "--git-path", "index").strip()
    entry = indexfile.parse_index_ctimes(index.read_bytes())[rel.encode()]
    assert indexfile.same_stat(entry, data.lstat())
    assert git(multi.worktree, "status", "--porcelain", "--untracked-files=no").strip() == ""
    assert git(multi.worktree, "fsck", "--no-dangling", "--strict").strip() == ""


def test_a_big_file_the_agent_wrote_as_it_ended_is_read_once_settled_and_its_commit_reads_nothing(
    multi: MultiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read at once, a file written moments before would be read again by the commit and by the
    next checkpoint (a later write in the same clock tick could leave its stat data as it was):
    the audit waits the moment out (at most ``SETTLE_WAIT_NS``) and reads it once."""
    ws = multi.workspaces()
    data = multi.change_dir / "data.bin"
    rel = f"openspec/changes/{CHANGE}/data.bin"
    read: list[str] = []
    real_store = bigfiles._store

    def counted(loc: Path, *args: object) -> object:
        read.append(loc.name)
        return real_store(loc, *args)  # type: ignore[arg-type]

    def agent() -> None:
        with data.open("r+b") as fh:
            fh.write(b"the agent's last act")
        monkeypatch.setattr(bigfiles, "_store", counted)

    assert run_turn(ws, propose(ws), agent).ok
    assert read == ["data.bin"]
    ran = _staged(monkeypatch)
    made = ws.commit("the work\n")
    assert _committed(multi.worktree, made["hub"], rel) == git(multi.worktree, "hash-object", rel).strip()
    assert any(f":(exclude,literal){rel}" in args for args in ran if args[0] == "add"), ran
    ws.checkpoint(phase="propose", state="explore")
    assert read == ["data.bin"]  # not read again


@pytest.mark.parametrize("how", ["rewritten since the audit", "written moments before it"])
def test_a_big_file_the_audit_cannot_vouch_for_is_hashed_by_git_and_committed_as_it_is(
    multi: MultiHub, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Never a stale blob: a file changed after the audit read it, or changed so shortly before
    that a later write might not show in its stat data (and too long to wait for, as on a
    filesystem of whole seconds), is left to git's ``add``."""
    if how == "rewritten since the audit":
        monkeypatch.setattr(bigfiles, "SETTLED_NS", 0)
    else:
        monkeypatch.setattr(bigfiles, "SETTLE_WAIT_NS", 0)
    ws = multi.workspaces()
    data = multi.change_dir / "data.bin"
    rel = f"openspec/changes/{CHANGE}/data.bin"
    size = data.stat().st_size

    def agent() -> None:
        with data.open("r+b") as fh:
            fh.write(b"first")

    assert run_turn(ws, propose(ws), agent).ok
    if how == "rewritten since the audit":
        with data.open("r+b") as fh:  # the same size: only the stat data's times show it
            fh.write(b"again")
    assert data.stat().st_size == size
    ran = _staged(monkeypatch)
    made = ws.commit("the work\n")
    assert _committed(multi.worktree, made["hub"], rel) == git(multi.worktree, "hash-object", rel).strip()
    assert not any(f":(exclude,literal){rel}" in args for args in ran), ran


def test_a_ctime_of_whole_seconds_is_settled_only_seconds_later() -> None:
    """A filesystem that keeps whole seconds gives a later write in that second the same ctime."""
    second = 1_700_000_000 * 1_000_000_000
    assert bigfiles.settled(second + 5, second + 5 + bigfiles.SETTLED_NS + 1)
    assert not bigfiles.settled(second + 5, second + 5 + bigfiles.SETTLED_NS)
    assert not bigfiles.settled(second, second + 1_500_000_000)
    assert bigfiles.settled(second, second + bigfiles.WHOLE_SECONDS_NS + 1)


def test_a_big_file_replaced_by_a_symlink_while_it_settles_is_left_to_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait for a file to settle gives a process time to swap it: what is read after the wait
    must still be the regular file, never what a symlink put in its place points to."""
    monkeypatch.setattr(bigfiles, "BIG_FILE", BIG)
    repo = tmp_path / "r"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "big.bin").write_bytes(os.urandom(2 * BIG))
    git(repo, "add", "big.bin")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(os.urandom(len(os.fsencode(outside))))  # as long as the link: every size agrees
    stats = indexfile.parse_index_ctimes((repo / ".git" / "index").read_bytes())
    waited: list[float] = []

    def swap(seconds: float) -> None:  # the file was written just now: it is waited for
        waited.append(seconds)
        (repo / "big.bin").unlink()
        (repo / "big.bin").symlink_to(outside)

    monkeypatch.setattr(time, "sleep", swap)  # bigfiles waits with time.sleep
    found = bigfiles.big_entries(repo, repo / ".git", stats, {}, lambda sha: False)
    assert waited and found == []
