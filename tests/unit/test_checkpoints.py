"""Checkpoints and revert: snapshots that touch nothing, round trips, refusals that protect work."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from specflow.changestate.history import read_history
from specflow.changestate.records import read_state, write_state
from specflow.errors import WorkspaceError
from specflow.workspace import indexdelta
from specflow.workspace.gates import GatePolicy
from specflow.workspace.git import GitRepo
from specflow.workspace.indexfile import forget_parsed_indexes, kept_parse_path
from specflow.workspace.workspaces import Workspaces
from tests.conftest import commit_all, git, git_commands_run
from tests.unit.test_workspaces import CHANGE, MultiHub, make_multi_hub, state_of, status


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    return make_multi_hub(tmp_path)


def set_state(h: MultiHub, state: str) -> None:
    record = read_state(h.change_dir)
    assert record is not None
    write_state(h.change_dir, {**record, "state": state})


def work_status(root: Path) -> list[str]:
    """git status without specflow's own records (the revert appends to history)."""
    return [line for line in status(root).splitlines() if "/.specflow/" not in line]


def apply_turn(ws: Workspaces) -> tuple[GatePolicy, dict[str, Path]]:
    paths = ws.ensure_worktrees()
    policy = ws.policy(read_only=False, write=[f"openspec/changes/{CHANGE}/tasks.md"], worktrees=True, phase="apply")
    return policy, paths


def test_checkpoint_never_touches_head_index_stash_or_working_tree(multi: MultiHub) -> None:
    root = multi.worktree
    git_dir = Path(git(root, "rev-parse", "--absolute-git-dir").strip())
    (root / "CLAUDE.md").write_text("stashed edit\n")
    git(root, "stash", "-q")
    set_state(multi, "explore")  # the engine's record, not yet committed
    (root / "docs" / "style.md").write_text("staged\n")
    git(root, "add", "docs/style.md")
    (root / "CLAUDE.md").write_text("unstaged\n")
    (root / "scratch.txt").write_text("untracked\n")
    watched = [git_dir / "index", git_dir / "HEAD", root / "CLAUDE.md", root / "scratch.txt"]
    stash = git(root, "stash", "list")
    st = status(root)
    refs = git(root, "for-each-ref", "refs/heads", "refs/stash")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched}

    cp = multi.workspaces().checkpoint(phase="propose", state="explore")

    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in watched} == before
    assert git(root, "stash", "list") == stash and status(root) == st
    assert git(root, "for-each-ref", "refs/heads", "refs/stash") == refs
    tree = cp.workspaces["hub"].tree
    assert git(root, "show", f"{tree}:scratch.txt") == "untracked\n"
    assert git(root, "show", f"{tree}:CLAUDE.md") == "unstaged\n"
    assert git(root, "show", f"{tree}:docs/style.md") == "staged\n"
    # the change's records are committed on its branch by the engine: a snapshot never takes
    # their uncommitted state, it keeps what the branch holds
    records = f"openspec/changes/{CHANGE}/.specflow"
    assert git(root, "ls-tree", "-r", tree, "--", records) == git(root, "ls-tree", "-r", "HEAD", "--", records) != ""


def test_checkpoints_are_numbered_refs_in_every_workspace_repo(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    apply_turn(ws)
    first = ws.checkpoint(phase="apply", state="propose")
    second = ws.checkpoint(phase="apply", state="propose", reason="second try")
    assert (first.number, second.number) == (1, 2)
    # the change's own worktrees only: the person's checkouts of api and bot are never snapshot
    assert set(second.refs) == {"hub", "api"}
    hub_refs = git(
        multi.worktree, "for-each-ref", "--format=%(refname)", f"refs/specflow/checkpoints/{CHANGE}/"
    ).split()
    assert hub_refs == [f"refs/specflow/checkpoints/{CHANGE}/1/hub", f"refs/specflow/checkpoints/{CHANGE}/2/hub"]
    api_refs = git(
        multi.api, "for-each-ref", "--format=%(refname) %(objectname)", f"refs/specflow/checkpoints/{CHANGE}/2/"
    )
    assert api_refs.split("\n")[:1] == [f"refs/specflow/checkpoints/{CHANGE}/2/api {second.refs['api']}"]
    assert "@checkout" not in api_refs
    listed = ws.checkpoints()
    assert [c.to_dict() for c in listed] == [first.to_dict(), second.to_dict()]
    assert listed[1].reason == "second try" and listed[1].phase == "apply" and listed[1].state == "propose"
    # the checkpoint's commit has HEAD as parent
    assert (
        git(multi.worktree, "rev-parse", f"{first.refs['hub']}^").strip()
        == git(multi.worktree, "rev-parse", "HEAD").strip()
    )


def test_revert_round_trip_with_untracked_files_and_revert_of_the_revert(multi: MultiHub) -> None:
    ws = multi.workspaces()
    root = multi.worktree
    (root / "draft.txt").write_text("untracked at the checkpoint\n")
    cp = ws.checkpoint(phase="propose", state="explore")
    set_state(multi, "propose")
    # the turn: modify, delete, add (tracked and untracked)
    (root / "CLAUDE.md").write_text("changed\n")
    (root / "docs" / "style.md").unlink()
    (root / "draft.txt").unlink()
    (root / "new-dir").mkdir()
    (root / "new-dir" / "new.txt").write_text("added\n")
    after = work_status(root)

    result = multi.change_api().revert(cp.number)
    assert (result.to, result.from_state, result.to_state) == (1, "propose", "explore")
    assert (root / "CLAUDE.md").read_text() == "# rules\n"
    assert (root / "docs" / "style.md").read_text() == "be nice\n"
    assert (root / "draft.txt").read_text() == "untracked at the checkpoint\n"
    assert not (root / "new-dir").exists()
    assert state_of(multi.change_dir)["state"] == "explore"

    undo = multi.change_api().revert(result.undo)  # the revert of the revert
    assert (root / "CLAUDE.md").read_text() == "changed\n"
    assert not (root / "docs" / "style.md").exists() and not (root / "draft.txt").exists()
    assert (root / "new-dir" / "new.txt").read_text() == "added\n"
    assert work_status(root) == after
    assert state_of(multi.change_dir)["state"] == "propose"
    events = [e for e in read_history(multi.change_dir) if e.get("trigger") == "revert"]
    assert [(e["checkpoint"], e["undo_checkpoint"], e["from"], e["to"]) for e in events] == [
        (1, 2, "propose", "explore"),
        (2, 3, "explore", "propose"),
    ]
    assert undo.undo == 3


def test_revert_takes_the_agents_commits_off_the_change_branch_and_back(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    policy, paths = apply_turn(ws)
    wt = paths["api"]
    tip = git(wt, "rev-parse", "HEAD").strip()
    cp = ws.checkpoint(phase="apply", state="propose")
    (wt / "src" / "login.py").write_text("login\n")
    commit_all(wt, "agent commit")
    (wt / "src" / "wip.py").write_text("wip\n")
    assert ws.audit(cp, policy).ok
    agent_tip = git(wt, "rev-parse", "HEAD").strip()

    result = multi.change_api().revert()
    assert git(wt, "rev-parse", "HEAD").strip() == tip
    assert status(wt) == "" and not (wt / "src" / "login.py").exists()
    assert set(result.restored["api"]) == {"src/login.py", "src/wip.py"}

    multi.change_api().revert(result.undo)
    assert git(wt, "rev-parse", "HEAD").strip() == agent_tip
    assert (wt / "src" / "wip.py").read_text() == "wip\n"
    assert status(wt) == "?? src/wip.py\n"


def test_revert_refuses_to_discard_commits_the_user_made(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    _, paths = apply_turn(ws)
    wt = paths["api"]
    ws.checkpoint(phase="apply", state="propose")
    (wt / "mine.txt").write_text("the user's own work\n")
    commit_all(wt, "my careful fix")
    with pytest.raises(WorkspaceError) as info:
        multi.change_api().revert()
    assert "would discard 1 commit(s) on specflow/add-login that specflow did not make" in info.value.message
    assert "'my careful fix'" in info.value.message
    assert f"branch keep-{CHANGE}" in (info.value.fix or "")
    assert (wt / "mine.txt").exists()
    assert len(ws.checkpoints()) == 1, "a refused revert takes no checkpoint"


def test_revert_refuses_a_merge_commit(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    _, paths = apply_turn(ws)
    wt = paths["api"]
    (wt / "src" / "login.py").write_text("login\n")
    commit_all(wt, "work before the checkpoint")
    ws.checkpoint(phase="apply", state="propose")
    (multi.api / "hotfix.txt").write_text("fix\n")
    commit_all(multi.api, "hotfix on main")
    git(wt, "merge", "-q", "--no-edit", "main")
    assert len(git(wt, "log", "-1", "--format=%P").split()) == 2
    with pytest.raises(WorkspaceError, match="would discard the merge commit"):
        multi.change_api().revert()


def test_revert_refuses_when_head_moved_to_another_branch(multi: MultiHub) -> None:
    ws = multi.workspaces()
    ws.checkpoint(phase="propose", state="explore")
    git(multi.worktree, "switch", "-q", "-c", "elsewhere")
    with pytest.raises(WorkspaceError) as info:
        multi.change_api().revert()
    assert "HEAD of hub" in info.value.message and "is on elsewhere" in info.value.message
    assert f"it was on specflow/{CHANGE}" in info.value.message
    assert info.value.fix is not None and f"switch specflow/{CHANGE}" in info.value.fix


def test_revert_refuses_during_a_merge_in_progress(multi: MultiHub) -> None:
    ws = multi.workspaces()
    ws.checkpoint(phase="propose", state="explore")
    git_dir = Path(git(multi.worktree, "rev-parse", "--absolute-git-dir").strip())
    (git_dir / "MERGE_HEAD").write_text(git(multi.worktree, "rev-parse", "HEAD"))
    with pytest.raises(WorkspaceError, match="a merge is in progress in hub"):
        multi.change_api().revert()


def test_revert_keeps_hub_commits_and_says_so(multi: MultiHub) -> None:
    ws = multi.workspaces()
    ws.checkpoint(phase="propose", state="explore")
    (multi.worktree / "CLAUDE.md").write_text("committed by the user\n")
    commit_all(multi.worktree, "user commit")
    head = git(multi.worktree, "rev-parse", "HEAD")
    result = multi.change_api().revert()
    assert git(multi.worktree, "rev-parse", "HEAD") == head
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"
    assert any("commits made since checkpoint #1" in n for n in result.notes)


def test_revert_leaves_other_changes_folders_alone(multi: MultiHub) -> None:
    ws = multi.workspaces()
    ws.checkpoint(phase="propose", state="explore")
    other = multi.root / "openspec" / "changes" / "other-change"
    other.mkdir(parents=True)
    (other / "proposal.md").write_text("someone else's\n")
    multi.change_api().revert()
    assert (other / "proposal.md").read_text() == "someone else's\n"


def test_revert_without_checkpoints_or_with_an_unknown_number(multi: MultiHub) -> None:
    ws = multi.workspaces()
    with pytest.raises(WorkspaceError, match="has no checkpoint to revert to"):
        multi.change_api().revert()
    ws.checkpoint(phase="propose", state="explore")
    with pytest.raises(WorkspaceError, match=r"has no checkpoint #7 \(it has: 1\)"):
        multi.change_api().revert(7)


def test_changed_since_counts_files_per_checkpoint(multi: MultiHub) -> None:
    ws = multi.workspaces()
    first = ws.checkpoint(phase="explore", state="draft")
    (multi.worktree / "a.txt").write_text("a\n")
    second = ws.checkpoint(phase="propose", state="explore")
    (multi.worktree / "b.txt").write_text("b\n")
    (multi.worktree / "CLAUDE.md").write_text("x\n")
    assert ws.changed_since([first, second]) == {1: 3, 2: 2}


def test_only_the_last_index_copies_are_kept(multi: MultiHub) -> None:
    ws = multi.workspaces()
    for _ in range(5):
        ws.checkpoint(phase="propose", state="explore")
    copies = sorted(
        p.name
        for p in (multi.root / ".git" / "specflow" / "workspaces" / CHANGE / "checkpoints").iterdir()
        if p.is_dir()
    )
    assert copies == ["3", "4", "5"]
    assert not os.path.exists(multi.root / ".gitignore")


def test_revert_tells_this_changes_archive_from_anothers() -> None:
    from types import SimpleNamespace

    from specflow.workspace.revert import _other_change

    owner = SimpleNamespace(change_id="api")
    hub = SimpleNamespace(kind="hub")
    assert _other_change(owner, hub, "openspec/changes/archive/2024-01-01-new-api/proposal.md")  # type: ignore[arg-type]
    assert not _other_change(owner, hub, "openspec/changes/archive/2024-01-01-api/proposal.md")  # type: ignore[arg-type]
    assert _other_change(owner, hub, "openspec/changes/new-api/proposal.md")  # type: ignore[arg-type]
    assert not _other_change(owner, hub, "openspec/changes/api/proposal.md")  # type: ignore[arg-type]


def test_numbering_reads_packed_and_loose_refs_and_counts_past_nine(multi: MultiHub) -> None:
    ws = multi.workspaces()
    for _ in range(10):
        ws.checkpoint(phase="propose", state="explore")
    git(multi.root, "pack-refs", "--all")  # checkpoints 1-10 now live only in packed-refs
    assert not (multi.root / ".git" / "refs" / "specflow" / "checkpoints" / CHANGE).exists()
    assert ws.checkpoint(phase="propose", state="explore").number == 11  # loose, next to the packed ones
    assert ws.checkpoint(phase="propose", state="explore").number == 12
    # with every checkpoint ref gone (loose and packed), numbering starts again
    ws.store.delete_all([ws.store.hub_repo, *(w.repo for w in ws.workspaces()[1:])])
    assert ws.checkpoint(phase="propose", state="explore").number == 1
    assert [cp.number for cp in ws.checkpoints()] == [1]


def test_a_snapshot_that_finds_nothing_changed_reuses_its_tree_and_a_same_second_same_size_edit_is_still_caught(
    multi: MultiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git's own 'add' decides whether anything changed (its racy-clean check included); only
    when it leaves the seed index as it was is the tree written from that index reused."""
    ws = multi.workspaces()
    # files written seconds before the seed index: not racily clean, so git's 'add' has nothing to refresh
    past = time.time() - 10
    for path in multi.worktree.rglob("*"):
        if ".git" not in path.parts and not path.is_symlink():
            os.utime(path, (past, past))
    ws.checkpoint(phase="propose", state="explore")  # the first snapshot: the seed and its tree
    ran = git_commands_run(monkeypatch)
    workspace = next(w for w in ws.workspaces() if w.key == "hub")
    first = ws.store.snapshot(workspace)
    assert ws.store.snapshot(workspace) == first
    assert "write-tree" not in ran and ran.count("add") == 2
    # an edit of the same size given the very mtime the seed recorded: its ctime moved (no process
    # can set that back), and a file as new as the seed index is compared by content anyway
    style = multi.worktree / "docs" / "style.md"
    st = style.stat()
    style.write_bytes(b"x" * st.st_size)
    os.utime(style, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert style.stat().st_size == st.st_size and style.stat().st_mtime_ns == st.st_mtime_ns
    second = ws.store.snapshot(workspace)
    assert second != first and ran.count("add") == 3
    assert "write-tree" not in ran  # the changed folders' trees are written without git (indextrees)
    assert (
        git(multi.worktree, "ls-tree", second, "docs/style.md").split()[2]
        == git(multi.worktree, "hash-object", "docs/style.md").strip()
    )
    # the same again with the mtime of the seed index itself: racily clean, so git compares the bytes
    seed_mtime = ws.store.seed_path("hub").stat().st_mtime_ns
    style.write_bytes(b"y" * st.st_size)
    os.utime(style, ns=(seed_mtime, seed_mtime))
    third = ws.store.snapshot(workspace)
    assert third not in (first, second)
    assert (
        git(multi.worktree, "ls-tree", third, "docs/style.md").split()[2]
        == git(multi.worktree, "hash-object", "docs/style.md").strip()
    )


def test_the_next_process_finds_the_audits_parse_kept_beside_the_seed_not_the_checkpoints(multi: MultiHub) -> None:
    # a checkpoint and its audit run in one process; the next one starts from the audit's snapshot,
    # so only that one's parse is written out (the checkpoint's would be overwritten unread)
    ws = multi.workspaces()
    policy = ws.policy(read_only=False, write=["docs/**"], worktrees=False, phase="propose")
    seed = ws.store.seed_path("hub")
    kept = kept_parse_path(seed)
    checkpoint = ws.checkpoint(phase="propose", state="explore")
    repo = GitRepo.open(multi.worktree)
    assert indexdelta.kept_checksum(kept) != repo.index_checksum(seed)  # the checkpoint's seed: not kept
    (multi.worktree / "docs" / "new.md").write_text("the agent's\n")
    assert ws.audit(checkpoint, policy).ok
    assert indexdelta.kept_checksum(kept) == repo.index_checksum(seed)  # the audit's: kept
    forget_parsed_indexes()  # as the next process starts
    assert b"docs/new.md" in repo.index_ctimes(seed)
