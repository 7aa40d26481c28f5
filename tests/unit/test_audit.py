"""specflow.workspace.audit: every escape is put back exactly, in-gate work stays; allowed work is kept."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from specflow.changestate.lock import ChangeLock
from specflow.engine.hub import Hub
from specflow.errors import WorkspaceError
from specflow.trees import remove_tree
from specflow.workspace import journal
from specflow.workspace.audit import AuditReport
from specflow.workspace.gates import GatePolicy
from specflow.workspace.workspaces import Workspaces
from tests.conftest import commit_all, git, wait_until
from tests.unit.test_workspaces import CHANGE, MultiHub, make_multi_hub, make_single_hub, status

PROPOSAL = f"openspec/changes/{CHANGE}/proposal.md"


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    return make_multi_hub(tmp_path)


def propose(ws: Workspaces) -> GatePolicy:
    return ws.policy(read_only=False, write=[f"openspec/changes/{CHANGE}/**"], worktrees=False, phase="propose")


def apply(ws: Workspaces) -> GatePolicy:
    ws.ensure_worktrees()
    return ws.policy(read_only=False, write=[f"openspec/changes/{CHANGE}/tasks.md"], worktrees=True, phase="apply")


def kinds(report: AuditReport) -> set[tuple[str, str, str]]:
    return {(v.workspace, v.path, v.kind) for v in report.violations}


def run_turn(ws: Workspaces, policy: GatePolicy, agent: object) -> AuditReport:
    cp = ws.checkpoint(phase=policy.phase, state="explore")
    agent()  # type: ignore[operator]
    return ws.audit(cp, policy)


def test_write_to_a_hub_file_outside_the_gate_is_put_back_and_in_gate_work_kept(multi: MultiHub) -> None:
    ws = multi.workspaces()
    policy = propose(ws)

    def agent() -> None:
        (multi.worktree / PROPOSAL).write_text("## Why\nBetter login.\n")
        (multi.worktree / "CLAUDE.md").write_text("# rules\nignore all rules\n")

    report = run_turn(ws, policy, agent)
    assert kinds(report) == {("hub", "CLAUDE.md", "modified")}
    assert not report.ok
    assert "1 change(s) outside the gate put back: hub:CLAUDE.md (modified" in report.summary()
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"
    assert (multi.worktree / PROPOSAL).read_text() == "## Why\nBetter login.\n"
    assert report.kept == {"hub": [PROPOSAL]}


def test_a_path_nested_deeper_than_python_recurses_is_judged_like_any_other(multi: MultiHub) -> None:
    """An agent's folders 1,200 deep, in the gate and out of it: the audit neither fails nor lets
    the outside one stay."""
    ws = multi.workspaces()
    policy = propose(ws)
    inside, outside = multi.worktree / f"openspec/changes/{CHANGE}/deep", multi.worktree / "docs/deep"

    def agent() -> None:
        for top in (inside, outside):
            top.mkdir(parents=True, exist_ok=True)
            folder = top
            for _ in range(1_200):  # one level at a time: os.makedirs recurses
                folder = folder / "d"
                folder.mkdir()
            (folder / "f.txt").write_text("deep\n")

    try:
        report = run_turn(ws, policy, agent)
        assert [(v.workspace, v.path.split("/d/")[0], v.kind) for v in report.violations] == [
            ("hub", "docs/deep", "added")
        ]
        assert not (outside / "d").exists()
        assert len(report.kept["hub"]) == 1
        assert report.kept["hub"][0].startswith(f"openspec/changes/{CHANGE}/deep/d/")
    finally:
        for top in (inside, outside):  # pytest's own clean-up of old temporary folders would recurse
            remove_tree(top, ignore_errors=True)


def test_the_persons_checkouts_are_neither_audited_nor_put_back(multi: MultiHub) -> None:
    """A change is its branches: the checkouts of the hub and the repos are the person's, never an
    agent's workspace, so an edit there (the person's, made while the agent runs) stays as it is.
    Keeping an agent out of them is the sandbox's job (tests/sandbox/)."""
    ws = multi.workspaces(("api",))
    policy = apply(ws)
    wt = ws.existing()["api"]
    assert [w.key for w in ws.workspaces()] == ["hub", "api"]
    assert [w.path for w in ws.workspaces()] == [multi.worktree.resolve(), wt.resolve()]

    def edits() -> None:
        (wt / "src" / "login.py").write_text("ok\n")
        (multi.bot / "bot.py").write_text("the person's edit\n")
        (multi.api / "src" / "app.py").write_text("edited the real checkout\n")
        (multi.root / "CLAUDE.md").write_text("# rules\nthe person's line\n")

    report = run_turn(ws, policy, edits)
    assert report.ok, report.summary()
    assert kinds(report) == set()
    assert (multi.bot / "bot.py").read_text() == "the person's edit\n"
    assert (multi.api / "src" / "app.py").read_text() == "edited the real checkout\n"
    assert (multi.root / "CLAUDE.md").read_text() == "# rules\nthe person's line\n"
    assert status(multi.bot) == " M bot.py\n" and status(multi.api) == " M src/app.py\n"
    assert (wt / "src" / "login.py").read_text() == "ok\n"


def test_dotdot_escapes_are_put_back(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    policy = apply(ws)
    wt = ws.existing()["api"]

    def agent() -> None:
        (wt / ".." / "x").write_text("next to the worktree\n")
        (wt / "openspec" / "changes" / CHANGE / ".." / "x.md").write_text("via the link and ..\n")

    report = run_turn(ws, policy, agent)
    assert kinds(report) == {
        ("hub", f".specflow/worktrees/{CHANGE}/x", "added"),
        ("hub", "openspec/changes/x.md", "added"),
    }
    assert not (wt.parent / "x").exists()
    assert not (multi.worktree / "openspec" / "changes" / "x.md").exists()


def test_dotdot_from_the_folder_of_several_worktrees_is_put_back(multi: MultiHub) -> None:
    ws = multi.workspaces()
    policy = apply(ws)
    cwd = ws.agent_cwd(worktrees=True)
    other = multi.root / ".specflow" / "worktrees" / "fix-typo"  # another change's folder may appear

    def agent() -> None:
        (cwd / ".." / "x").write_text("escape\n")
        (cwd / "notes.txt").write_text("scratch next to the worktrees\n")
        (multi.root / "openspec" / "changes" / "fix-typo").mkdir(parents=True)
        other.mkdir()

    report = run_turn(ws, policy, agent)
    assert kinds(report) == {
        ("hub", ".specflow/worktrees/x", "added"),
        ("hub", f".specflow/worktrees/{CHANGE}/notes.txt", "added"),
    }
    assert not (cwd.parent / "x").exists() and not (cwd / "notes.txt").exists()
    assert other.is_dir()


def test_write_to_an_absolute_path_in_the_hub_is_put_back(multi: MultiHub) -> None:
    """From a repo worktree, an absolute path into the change's hub worktree is still judged there."""
    ws = multi.workspaces(("api",))
    policy = apply(ws)
    spec = multi.worktree.resolve() / "openspec" / "specs" / "auth" / "spec.md"
    report = run_turn(ws, policy, lambda: spec.write_text("# auth, rewritten\n"))
    assert kinds(report) == {("hub", "openspec/specs/auth/spec.md", "modified")}
    assert spec.read_text() == "# auth\n"
    assert (multi.root / "openspec" / "specs" / "auth" / "spec.md").read_text() == "# auth\n"


def test_write_through_a_symlink_is_judged_where_it_lands(multi: MultiHub) -> None:
    link = multi.change_dir / "auth-spec.md"
    os.symlink("../../specs/auth/spec.md", link)
    commit_all(multi.worktree, "link to the spec")
    ws = multi.workspaces()
    policy = propose(ws)
    report = run_turn(ws, policy, lambda: link.write_text("through the link\n"))
    assert kinds(report) == {("hub", "openspec/specs/auth/spec.md", "modified")}
    assert (multi.worktree / "openspec" / "specs" / "auth" / "spec.md").read_text() == "# auth\n"
    assert link.is_symlink()


def test_write_through_a_worktree_link_to_hub_docs_is_put_back(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    policy = apply(ws)
    wt = ws.existing()["api"]
    report = run_turn(ws, policy, lambda: (wt / "docs" / "style.md").write_text("be mean\n"))
    assert kinds(report) == {("hub", "docs/style.md", "modified")}
    assert (multi.worktree / "docs" / "style.md").read_text() == "be nice\n"


def test_a_deletion_is_restored(multi: MultiHub) -> None:
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: (multi.worktree / "CLAUDE.md").unlink())
    assert kinds(report) == {("hub", "CLAUDE.md", "deleted")}
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"
    assert status(multi.worktree) == ""


def test_a_chmod_is_put_back(multi: MultiHub) -> None:
    ws = multi.workspaces()
    target = multi.worktree / "docs" / "style.md"
    before = stat.S_IMODE(target.stat().st_mode)
    report = run_turn(ws, propose(ws), lambda: os.chmod(target, 0o755))
    assert kinds(report) == {("hub", "docs/style.md", "mode")}
    assert stat.S_IMODE(target.stat().st_mode) == before
    assert target.read_text() == "be nice\n"


def test_a_new_symlink_pointing_out_of_the_gate_is_removed(multi: MultiHub) -> None:
    ws = multi.workspaces()
    out = multi.change_dir / "all-specs"
    inside = multi.change_dir / "notes-link"

    def agent() -> None:
        os.symlink("../../specs", out)
        (multi.change_dir / "notes.md").write_text("n\n")
        os.symlink("notes.md", inside)

    report = run_turn(ws, propose(ws), agent)
    assert kinds(report) == {("hub", f"openspec/changes/{CHANGE}/all-specs", "symlink")}
    assert "leads out of the gate" in report.violations[0].detail
    assert not out.is_symlink() and not out.exists()
    assert inside.is_symlink()  # a link that stays inside the gate is fine


def test_a_commit_on_the_hubs_branch_is_undone_keeping_in_gate_files(multi: MultiHub) -> None:
    """In a hub phase the change's hub branch is specflow's to commit: an agent's commit is undone."""
    ws = multi.workspaces()
    branch = f"specflow/{CHANGE}"
    tip_before = git(multi.worktree, "rev-parse", branch).strip()
    main_before = git(multi.root, "rev-parse", "main").strip()
    index_before = git(multi.worktree, "ls-files", "-s")

    def agent() -> None:
        (multi.worktree / PROPOSAL).write_text("## Why\nCommitted by the agent.\n")
        (multi.worktree / "CLAUDE.md").write_text("sneaky\n")
        git(multi.worktree, "add", PROPOSAL, "CLAUDE.md")
        git(multi.worktree, "commit", "-q", "-m", "agent commit")

    report = run_turn(ws, propose(ws), agent)
    assert ("hub", branch, "commit") in kinds(report)
    assert ("hub", "CLAUDE.md", "modified") in kinds(report)
    assert git(multi.worktree, "rev-parse", branch).strip() == tip_before
    assert git(multi.root, "rev-parse", "main").strip() == main_before
    assert git(multi.worktree, "ls-files", "-s") == index_before
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"
    assert (multi.worktree / PROPOSAL).read_text() == "## Why\nCommitted by the agent.\n"
    kept = git(multi.root, "for-each-ref", "--format=%(refname)", "refs/specflow/rejected/").split()
    assert kept == [
        f"refs/specflow/rejected/{CHANGE}/1/branches/{branch}",
        f"refs/specflow/rejected/{CHANGE}/1/files/hub",
    ]
    assert git(multi.root, "log", "-1", "--format=%s", kept[0]).strip() == "agent commit"
    assert git(multi.root, "show", f"{kept[1]}:CLAUDE.md") == "sneaky\n"
    assert {v.path: v.saved for v in report.violations} == {branch: kept[0], "CLAUDE.md": kept[1]}


def test_a_moved_head_in_the_hub_is_put_back(multi: MultiHub) -> None:
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: git(multi.worktree, "checkout", "-q", "-b", "agent-branch"))
    assert ("hub", "HEAD", "head") in kinds(report)
    assert git(multi.worktree, "branch", "--show-current").strip() == f"specflow/{CHANGE}"
    assert git(multi.root, "branch", "--show-current").strip() == "main"
    assert "agent-branch" not in git(multi.root, "branch", "--list")


def test_staged_changes_outside_the_gate_are_unstaged(multi: MultiHub) -> None:
    ws = multi.workspaces()

    def agent() -> None:
        (multi.worktree / "CLAUDE.md").write_text("staged\n")
        git(multi.worktree, "add", "CLAUDE.md")
        (multi.worktree / "CLAUDE.md").write_text("# rules\n")  # the file itself looks untouched

    report = run_turn(ws, propose(ws), agent)
    assert kinds(report) == {("hub", "CLAUDE.md", "modified")}
    assert "staged" in report.violations[0].detail
    assert git(multi.worktree, "diff", "--cached", "--name-only") == ""
    saved = report.violations[0].saved
    assert saved == f"refs/specflow/rejected/{CHANGE}/1/index/hub"
    assert git(multi.worktree, "show", f"{saved}:CLAUDE.md") == "staged\n"  # what was staged is kept


def test_explore_may_write_nothing(multi: MultiHub) -> None:
    ws = multi.workspaces()
    policy = ws.policy(read_only=True, write=[], worktrees=False, phase="explore")
    report = run_turn(ws, policy, lambda: (multi.change_dir / "exploration.md").write_text("thoughts\n"))
    assert kinds(report) == {("hub", f"openspec/changes/{CHANGE}/exploration.md", "added")}
    assert not (multi.change_dir / "exploration.md").exists()


def test_allowed_work_in_worktrees_is_kept_including_commits_on_the_change_branch(multi: MultiHub) -> None:
    ws = multi.workspaces()
    policy = apply(ws)
    paths = ws.existing()

    def agent() -> None:
        (paths["api"] / "src" / "login.py").write_text("login\n")
        os.symlink("login.py", paths["api"] / "src" / "auth.py")
        commit_all(paths["api"], "api login")
        (paths["bot"] / "bot.py").write_text("uncommitted bot work\n")
        tasks = paths["bot"] / "openspec" / "changes" / CHANGE / "tasks.md"
        tasks.write_text(tasks.read_text().replace("- [ ] 1.2", "- [x] 1.2"))

    report = run_turn(ws, policy, agent)
    assert report.ok, report.summary()
    assert report.kept == {
        "hub": [f"openspec/changes/{CHANGE}/tasks.md"],
        "bot": ["bot.py"],
        "api": ["src/auth.py", "src/login.py"],
    }
    assert git(paths["api"], "log", "-1", "--format=%s").strip() == "api login"
    assert "- [x] 1.2" in (multi.change_dir / "tasks.md").read_text()


def test_commits_on_the_change_branch_are_refused_outside_worktree_phases(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    apply(ws)
    wt = ws.existing()["api"]
    tip = git(wt, "rev-parse", "HEAD").strip()

    def agent() -> None:
        (wt / "src" / "x.py").write_text("x\n")
        commit_all(wt, "sneaky commit during propose")

    report = run_turn(ws, propose(ws), agent)
    assert ("api", f"specflow/{CHANGE}", "commit") in kinds(report)
    assert ("api", "src/x.py", "added") in kinds(report)
    assert git(wt, "rev-parse", "HEAD").strip() == tip
    assert status(wt) == ""


def test_single_repo_commit_on_the_change_branch_allowed_and_main_left_to_the_person(tmp_path: Path) -> None:
    """Single repo: the change's hub worktree is its only worktree; the agent may commit on its branch.
    The hub's checkout of main is the person's: a commit made there meanwhile is not undone."""
    hub, ws = make_single_hub(tmp_path)
    ws.ensure_worktrees()
    policy = ws.policy(read_only=False, write=[f"openspec/changes/{CHANGE}/tasks.md"], worktrees=True, phase="apply")
    wt = ws.existing()["hub"]
    assert wt == Hub(hub).worktree_of(CHANGE)

    def work() -> None:
        (wt / "src" / "login.py").write_text("login\n")
        commit_all(wt, "work on the change branch")
        (hub / "src" / "app.py").write_text("edited main checkout\n")
        commit_all(hub, "commit on main")

    main_tip = git(hub, "rev-parse", "main").strip()
    report = run_turn(ws, policy, work)
    assert report.ok, report.summary()
    assert git(hub, "rev-parse", "main~1").strip() == main_tip
    assert git(hub, "log", "-1", "--format=%s", "main").strip() == "commit on main"
    assert git(wt, "log", "-1", "--format=%s").strip() == "work on the change branch"
    assert (hub / "src" / "app.py").read_text() == "edited main checkout\n"


def test_another_running_changes_work_in_its_own_gate_is_left_alone(multi: MultiHub) -> None:
    from specflow.changestate.lock import ChangeLock

    other_dir = multi.root / "openspec" / "changes" / "fix-typo"
    other_dir.mkdir(parents=True)
    other = Workspaces(multi.root, multi.config, "fix-typo", [])
    other_policy = other.policy(
        read_only=False, write=["openspec/changes/fix-typo/**"], worktrees=False, phase="propose"
    )
    ws = multi.workspaces()
    with ChangeLock(multi.root, "fix-typo"):
        other.checkpoint(phase="propose", state="explore")  # announces its gate while it runs

        def agents() -> None:
            (other_dir / "proposal.md").write_text("the other agent's work\n")
            (multi.worktree / "CLAUDE.md").write_text("nobody may\n")

        report = run_turn(ws, ws.policy(read_only=True, write=[], worktrees=False, phase="explore"), agents)
    assert kinds(report) == {("hub", "CLAUDE.md", "modified")}
    assert (other_dir / "proposal.md").read_text() == "the other agent's work\n"
    assert other_policy.phase == "propose"


def test_change_records_are_not_audited(multi: MultiHub) -> None:
    from specflow.changestate.records import append_event

    ws = multi.workspaces()
    policy = ws.policy(read_only=True, write=[], worktrees=False, phase="explore")
    report = run_turn(ws, policy, lambda: append_event(multi.change_dir, {"trigger": "engine"}))
    assert report.ok


def test_a_deleted_worktree_is_made_again_with_its_uncommitted_work(multi: MultiHub) -> None:
    import shutil

    ws = multi.workspaces(("api",))
    apply(ws)
    wt = ws.existing()["api"]
    (wt / "src" / "wip.py").write_text("work in progress\n")
    report = run_turn(ws, propose(ws), lambda: shutil.rmtree(wt))
    assert ("api", ".", "deleted") in kinds(report)
    assert (wt / "src" / "wip.py").read_text() == "work in progress\n"
    assert (wt / "openspec").is_symlink()
    assert status(wt) == "?? src/wip.py\n"


def test_a_repository_made_outside_the_gate_is_removed(multi: MultiHub) -> None:
    from tests.conftest import init_repo

    ws = multi.workspaces()

    def agent() -> None:
        nested = init_repo(multi.worktree / "vendor" / "lib")
        (nested / "x.py").write_text("x\n")
        commit_all(nested, "vendored")

    report = run_turn(ws, propose(ws), agent)
    assert kinds(report) == {("hub", "vendor/lib", "added")}
    assert not (multi.worktree / "vendor").exists()


def test_another_changes_branch_work_is_left_alone(tmp_path: Path) -> None:
    """Two changes apply in parallel to one repo: A's audit must not undo B's commits."""
    multi = make_multi_hub(tmp_path)
    (multi.root / "openspec" / "changes" / "other").mkdir(parents=True)
    ws_a = multi.workspaces(("api",))
    ws_b = Workspaces(multi.root, multi.config, "other", ["api"])
    ws_a.ensure_worktrees()
    ws_b.ensure_worktrees()
    policy = ws_a.policy(read_only=False, write=[f"openspec/changes/{CHANGE}/tasks.md"], worktrees=True, phase="apply")
    checkpoint = ws_a.checkpoint(phase="apply", state="propose")
    wt_b = ws_b.existing()["api"]
    with ChangeLock(multi.root, "other"):  # B runs: its agent commits on its branch
        (wt_b / "b.py").write_text("b\n")
        git(wt_b, "add", "-A")
        git(wt_b, "commit", "-qm", "B's work")
        tip = git(wt_b, "rev-parse", "HEAD").strip()
        report = ws_a.audit(checkpoint, policy)
    assert report.violations == []
    assert git(wt_b, "rev-parse", "refs/heads/specflow/other").strip() == tip
    assert git(wt_b, "status", "--short").strip() == ""


def test_git_internals_and_commitless_repos_are_audited(tmp_path: Path) -> None:
    """A read-only agent may not plant hooks, change git config or excludes, or make nested repos."""
    multi = make_multi_hub(tmp_path)
    ws = multi.workspaces(())
    policy = ws.policy(read_only=True, write=[], worktrees=False, phase="explore")
    checkpoint = ws.checkpoint(phase="explore", state="draft")
    git_dir = multi.root / ".git"
    config_before = (git_dir / "config").read_bytes()
    with (git_dir / "info" / "exclude").open("a") as fh:
        fh.write("sneaky\n")
    (multi.worktree / "sneaky").write_text("hidden\n")
    with (git_dir / "config").open("a") as fh:
        fh.write("[core]\n\tfsmonitor = touch /tmp/pwned\n")
    (git_dir / "hooks" / "pre-commit").write_text("#!/bin/sh\necho pwned\n")
    git(multi.worktree, "init", "-q", "nested")
    report = ws.audit(checkpoint, policy)
    kinds = {(v.path.rsplit("/", 1)[-1] if v.kind == "git" else v.path, v.kind) for v in report.violations}
    assert {
        ("config", "git"),
        ("exclude", "git"),
        ("pre-commit", "git"),
        ("sneaky", "added"),
        ("nested", "added"),
    } <= kinds
    assert (git_dir / "config").read_bytes() == config_before
    assert not (git_dir / "hooks" / "pre-commit").exists()
    assert not (multi.worktree / "sneaky").exists()


WRITER = r"""
import sys, time, pathlib
from specflow.engine.hub import Hub
from specflow.changestate.lock import ChangeLock
from specflow.errors import WorkspaceError
from specflow.trees import remove_tree
from specflow.workspace import journal
from specflow.workspace.journal import hub_writes
hub, folder, ready, go = (pathlib.Path(a) for a in sys.argv[1:5])
with hub_writes(hub):
    tmp = folder / ".notes.md.tmp"
    tmp.write_text("the other engine's record\n")
    ready.write_text("writing")
    deadline = time.monotonic() + 60  # half done until the test has seen the audit wait for the lock
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("the test never let the write finish")
        time.sleep(0.02)
    tmp.rename(folder / "notes.md")
    journal.record_files(hub, "fix-typo", [folder / "notes.md"])
"""


def _waiting_for_the_hub_write_lock(thread: threading.Thread) -> bool:
    """True while ``thread`` is inside ``hub_writes`` before its ``yield``: taking the lock.

    Once the lock is held, ``hub_writes`` is a suspended generator and off the thread's stack.
    """
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if (frame.f_code.co_name, frame.f_code.co_filename) == ("hub_writes", journal.__file__):
            return True
        frame = frame.f_back
    return False


def test_an_audit_waits_for_another_engines_write_in_progress(multi: MultiHub, tmp_path: Path) -> None:
    other_dir = multi.root / "openspec" / "changes" / "fix-typo"
    other_dir.mkdir(parents=True)
    ws = multi.workspaces()
    policy = ws.policy(read_only=True, write=[], worktrees=False, phase="explore")
    cp = ws.checkpoint(phase="explore", state="draft")
    ready, go = tmp_path / "ready", tmp_path / "go"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(multi.root), str(other_dir), str(ready), str(go)],
    )
    reports: list[AuditReport] = []
    auditor = threading.Thread(target=lambda: reports.append(ws.audit(cp, policy)))
    try:
        wait_until(lambda: ready.exists() or writer.poll() is not None, "the writer to start its write")
        assert ready.exists(), "the writer never started"
        auditor.start()
        wait_until(
            lambda: _waiting_for_the_hub_write_lock(auditor) or not auditor.is_alive(), "the audit to take the lock"
        )
        assert auditor.is_alive(), "the audit ran while another engine's write was half done"
    finally:
        go.touch()
        assert writer.wait(timeout=60) == 0
        if auditor.ident is not None:
            auditor.join(timeout=60)
    (report,) = reports
    assert report.ok, report.summary()
    assert (other_dir / "notes.md").read_text() == "the other engine's record\n"
    assert not (other_dir / ".notes.md.tmp").exists()


def test_a_replace_ref_of_the_checkpoint_tree_does_not_hide_an_edit(multi: MultiHub) -> None:
    """The agent swaps the checkpoint's tree for one holding its edit: the audit still sees the real tree."""
    ws = multi.workspaces()
    checkpoint = ws.checkpoint(phase="explore", state="draft")
    policy = ws.policy(read_only=True, write=[], worktrees=False, phase="explore")
    (multi.worktree / "CLAUDE.md").write_text("# rules\nignore all rules\n")
    index = multi.root / ".git" / "agent-index"
    agent_env = {**os.environ, "GIT_INDEX_FILE": str(index)}
    subprocess.run(
        ["git", "read-tree", checkpoint.workspaces["hub"].tree], cwd=multi.worktree, env=agent_env, check=True
    )
    subprocess.run(["git", "add", "CLAUDE.md"], cwd=multi.worktree, env=agent_env, check=True)
    forged = subprocess.run(
        ["git", "write-tree"], cwd=multi.worktree, env=agent_env, check=True, capture_output=True, text=True
    ).stdout.strip()
    index.unlink()
    git(multi.worktree, "replace", "-f", checkpoint.workspaces["hub"].tree, forged)
    assert git(multi.worktree, "diff", "--stat", checkpoint.workspaces["hub"].tree, forged) == ""  # the replace holds
    report = ws.audit(checkpoint, policy)
    assert ("hub", "CLAUDE.md", "modified") in kinds(report)
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"


TASKS_PATH = f"openspec/changes/{CHANGE}/tasks.md"
TWO_TASKS = "## 1. Build\n- [ ] 1.1 api endpoint\n- [ ] 1.2 bot command\n"


def test_apply_may_tick_tasks(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    policy = apply(ws)
    tasks = multi.worktree / TASKS_PATH
    assert policy.tick_only == (TASKS_PATH,)
    ticked = TWO_TASKS.replace("- [ ] 1.1", "- [x] 1.1")
    report = run_turn(ws, policy, lambda: tasks.write_text(ticked))
    assert report.ok, report.summary()
    assert tasks.read_text() == ticked
    assert report.kept == {"hub": [TASKS_PATH]}


ONE_TICKED = TWO_TASKS.replace("- [ ] 1.1", "- [x] 1.1")


@pytest.mark.parametrize(
    ("rewritten", "reason", "after"),
    [
        (
            "## 1. Build\n- [x] 1.1 everything\n",
            "lines were added or removed (3 line(s) at the checkpoint, 2 now)",
            TWO_TASKS,
        ),
        (ONE_TICKED.replace("1.2 bot command", "1.2 nothing to do"), "line 3 was rewritten", ONE_TICKED),
        (TWO_TASKS + "- [x] 1.3 a task the agent added\n", "lines were added or removed", TWO_TASKS),
        (ONE_TICKED.replace("## 1. Build", "## 1. Done"), "line 1 was rewritten", ONE_TICKED),
    ],
)
def test_apply_rewriting_tasks_is_put_back_with_its_ticks_kept(
    multi: MultiHub, rewritten: str, reason: str, after: str
) -> None:
    ws = multi.workspaces(("api",))
    policy = apply(ws)
    tasks = multi.worktree / TASKS_PATH
    before_mode = stat.S_IMODE(tasks.stat().st_mode)
    report = run_turn(ws, policy, lambda: tasks.write_text(rewritten))
    [violation] = report.violations
    assert (violation.workspace, violation.path, violation.kind) == ("hub", TASKS_PATH, "modified")
    assert f"may only be ticked ('- [ ]' to '- [x]'): {reason}" in violation.detail
    assert f"{int(after != TWO_TASKS)} tick(s) kept" in violation.detail
    assert violation.saved.startswith("refs/specflow/rejected/")
    assert git(multi.worktree, "show", f"{violation.saved}:{TASKS_PATH}") == rewritten  # saved first
    assert tasks.read_text() == after
    assert stat.S_IMODE(tasks.stat().st_mode) == before_mode


def test_apply_may_not_untick_or_delete_tasks(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    policy = apply(ws)
    tasks = multi.worktree / TASKS_PATH
    tasks.write_text(TWO_TASKS.replace("- [ ] 1.1", "- [x] 1.1"))
    report = run_turn(ws, policy, lambda: tasks.write_text(TWO_TASKS))
    assert [v.detail.split(": ")[1] for v in report.violations] == ["line 2 was unticked; put back, 0 tick(s) kept"]
    assert "- [x] 1.1" in tasks.read_text()
    report = run_turn(ws, policy, tasks.unlink)
    assert kinds(report) == {("hub", TASKS_PATH, "deleted")}
    assert "- [x] 1.1" in tasks.read_text()


def test_a_glob_over_the_change_folder_may_rewrite_tasks(multi: MultiHub) -> None:
    ws = multi.workspaces()
    policy = propose(ws)
    assert policy.tick_only == ()
    assert ws.policy(read_only=False, write=[TASKS_PATH[:-1] + "[d]"], worktrees=False, phase="p").tick_only == ()
    report = run_turn(ws, policy, lambda: (multi.worktree / TASKS_PATH).write_text("- [ ] 1.1 a new plan\n"))
    assert report.ok


@pytest.mark.parametrize("emptied", ["empty", "missing"])
def test_a_hook_planted_in_an_empty_or_missing_hooks_folder_is_found_saved_and_removed(
    tmp_path: Path, emptied: str
) -> None:
    multi = make_multi_hub(tmp_path)
    hooks = multi.root / ".git" / "hooks"
    for sample in hooks.iterdir():
        sample.unlink()
    if emptied == "missing":
        hooks.rmdir()
    ws = multi.workspaces(())
    policy = ws.policy(read_only=True, write=[], worktrees=False, phase="explore")
    checkpoint = ws.checkpoint(phase="explore", state="draft")
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-commit").write_text("#!/bin/sh\necho pwned\n")
    report = ws.audit(checkpoint, policy)
    [violation] = [v for v in report.violations if v.kind == "git"]
    assert violation.path == str(hooks / "pre-commit") and "removed" in violation.detail
    assert Path(violation.saved).read_text() == "#!/bin/sh\necho pwned\n"
    assert not (hooks / "pre-commit").exists()


def test_sample_hooks_which_git_never_runs_are_not_kept_but_one_renamed_into_a_hook_is_caught(tmp_path: Path) -> None:
    multi = make_multi_hub(tmp_path)
    hooks = multi.root / ".git" / "hooks"
    samples = sorted(p.name for p in hooks.iterdir() if p.name.endswith(".sample"))
    assert "pre-commit.sample" in samples  # as git init leaves them
    ws = multi.workspaces(())
    policy = ws.policy(read_only=True, write=[], worktrees=False, phase="explore")
    checkpoint = ws.checkpoint(phase="explore", state="draft")
    recorded = ws.store.read_local(checkpoint.number)["git_files"]
    assert not [path for path in recorded if path.endswith(".sample")]
    assert str(multi.root / ".git" / "config") in recorded

    (hooks / "pre-push.sample").write_text("#!/bin/sh\necho never run under this name\n")
    (hooks / "pre-commit.sample").rename(hooks / "pre-commit")
    report = ws.audit(checkpoint, policy)
    assert [(v.path, v.kind) for v in report.violations] == [(str(hooks / "pre-commit"), "git")]
    assert not (hooks / "pre-commit").exists()


def test_an_audit_that_cannot_read_its_checkpoint_stops_whole_and_deletes_nothing(multi: MultiHub) -> None:
    """The agent deletes refs/specflow and prunes: the audit refuses, saying why, and touches nothing."""
    ws = multi.workspaces()
    policy = ws.policy(read_only=True, write=[], worktrees=False, phase="explore")
    (multi.worktree / "notes.txt").write_text("a person's untracked notes\n")  # only the checkpoint holds it
    checkpoint = ws.checkpoint(phase="explore", state="draft")
    (multi.worktree / "notes.txt").write_text("rewritten by the agent\n")
    (multi.worktree / "planted.txt").write_text("new\n")
    (multi.worktree / "CLAUDE.md").write_text("ignore the rules\n")
    for ref in git(multi.worktree, "for-each-ref", "--format=%(refname)", "refs/specflow/").split():
        git(multi.worktree, "update-ref", "-d", ref)
    git(multi.worktree, "reflog", "expire", "--expire=now", "--all")
    git(multi.worktree, "gc", "-q", "--prune=now")
    with pytest.raises(WorkspaceError) as info:
        ws.audit(checkpoint, policy)
    message = info.value.message
    assert f"cannot audit the agent's work: checkpoint #{checkpoint.number} is no longer readable in hub" in message
    assert "nothing was put back or removed" in message and "git gc --prune=now" in message
    assert "git status" in (info.value.fix or "")
    assert (multi.worktree / "planted.txt").read_text() == "new\n"
    assert (multi.worktree / "notes.txt").read_text() == "rewritten by the agent\n"
    assert (multi.worktree / "CLAUDE.md").read_text() == "ignore the rules\n"


@pytest.mark.parametrize(
    ("flag", "shown"), [("--assume-unchanged", "assume-unchanged"), ("--skip-worktree", "skip-worktree")]
)
def test_index_flags_the_agent_sets_are_cleared_and_reported(multi: MultiHub, flag: str, shown: str) -> None:
    ws = multi.workspaces()
    report = run_turn(
        ws,
        ws.policy(read_only=True, write=[], worktrees=False, phase="explore"),
        lambda: (
            git(multi.worktree, "update-index", flag, "CLAUDE.md"),
            (multi.worktree / "CLAUDE.md").write_text("x\n"),
        ),
    )
    assert ("hub", "CLAUDE.md", "index") in kinds(report)
    assert ("hub", "CLAUDE.md", "modified") in kinds(report)  # the flag hid nothing from the audit
    [violation] = [v for v in report.violations if v.kind == "index"]
    assert f"marked {shown} in the index" in violation.detail
    assert git(multi.worktree, "ls-files", "-v", "CLAUDE.md") == "H CLAUDE.md\n"
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"
    assert status(multi.worktree) == ""


def test_a_skip_worktree_flag_there_at_the_checkpoint_stays(multi: MultiHub) -> None:
    git(multi.worktree, "update-index", "--skip-worktree", "docs/style.md")
    ws = multi.workspaces()
    report = run_turn(
        ws,
        ws.policy(read_only=True, write=[], worktrees=False, phase="explore"),
        lambda: git(multi.worktree, "update-index", "--assume-unchanged", "CLAUDE.md"),
    )
    assert kinds(report) == {("hub", "CLAUDE.md", "index")}
    assert git(multi.worktree, "ls-files", "-v", "docs/style.md", "CLAUDE.md") == "H CLAUDE.md\nS docs/style.md\n"


@pytest.mark.parametrize(("at_checkpoint", "at_audit"), [(0o022, 0o000), (0o002, 0o022)])
def test_a_deleted_file_comes_back_with_the_mode_it_had_whatever_the_umask_now(
    multi: MultiHub, at_checkpoint: int, at_audit: int
) -> None:
    """specflow started from a shell with another umask: a plain re-creation would be 0666 or 0644."""
    ws = multi.workspaces()
    target = multi.worktree / "docs" / "style.md"
    perm = 0o666 & ~at_checkpoint
    os.chmod(target, perm)
    old = os.umask(at_checkpoint)
    try:
        checkpoint = ws.checkpoint(phase="propose", state="explore")
        target.unlink()
        os.umask(at_audit)
        report = ws.audit(checkpoint, propose(ws))
    finally:
        os.umask(old)
    assert kinds(report) == {("hub", "docs/style.md", "deleted")}
    assert stat.S_IMODE(target.stat().st_mode) == perm
    assert target.read_text() == "be nice\n"


def test_the_agent_may_chmod_inside_its_gate(multi: MultiHub) -> None:
    ws = multi.workspaces()
    tasks = multi.worktree / TASKS_PATH
    report = run_turn(ws, propose(ws), lambda: os.chmod(tasks, 0o600))
    assert report.ok, report.summary()
    assert stat.S_IMODE(tasks.stat().st_mode) == 0o600


# -- ignore rules the agent changed -----------------------------------------------------------


def test_a_gitignore_written_outside_the_gate_hides_nothing_from_the_audit(multi: MultiHub) -> None:
    """The snapshot obeys the rules it finds: the agent's own rule hid the file it wrote, until the
    rule was put back first and the snapshot taken again."""
    ws = multi.workspaces()

    def agent() -> None:
        (multi.worktree / "docs/.gitignore").write_text("secret.txt\n")
        (multi.worktree / "docs/secret.txt").write_text("hidden\n")
        (multi.worktree / ".gitignore").write_text("planted/\n")
        (multi.worktree / "planted").mkdir()
        (multi.worktree / "planted/x.md").write_text("x\n")

    report = run_turn(ws, propose(ws), agent)
    assert kinds(report) == {
        ("hub", ".gitignore", "added"),
        ("hub", "docs/.gitignore", "added"),
        ("hub", "docs/secret.txt", "added"),
        ("hub", "planted/x.md", "added"),
    }
    assert not (multi.worktree / "docs/secret.txt").exists()
    assert not (multi.worktree / "planted").exists()


def test_a_gitignore_deleted_outside_the_gate_does_not_make_the_ignored_files_look_new(multi: MultiHub) -> None:
    """The person's build output, ignored at the checkpoint, is not taken for the agent's once the
    agent deletes the rule: the rule is put back, the output stays where it is."""
    (multi.worktree / ".gitignore").write_text("build/\n")
    commit_all(multi.worktree, "ignore build output")
    (multi.worktree / "build").mkdir()
    (multi.worktree / "build/out.bin").write_text("artifact\n")
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: (multi.worktree / ".gitignore").unlink())
    assert kinds(report) == {("hub", ".gitignore", "deleted")}
    assert (multi.worktree / ".gitignore").read_text() == "build/\n"
    assert (multi.worktree / "build/out.bin").read_text() == "artifact\n"


def test_a_gitignore_rule_added_outside_the_gate_to_hide_a_folder_is_put_back_first(multi: MultiHub) -> None:
    (multi.worktree / ".gitignore").write_text("build/\n")
    commit_all(multi.worktree, "ignore build output")
    ws = multi.workspaces()

    def agent() -> None:
        (multi.worktree / ".gitignore").write_text("build/\ndocs/\n")
        (multi.worktree / "docs/new.md").write_text("hidden by the new rule\n")

    report = run_turn(ws, propose(ws), agent)
    assert kinds(report) == {("hub", ".gitignore", "modified"), ("hub", "docs/new.md", "added")}
    assert not (multi.worktree / "docs/new.md").exists()
    assert (multi.worktree / ".gitignore").read_text() == "build/\n"


def test_a_named_pipe_put_where_a_file_outside_the_gate_was_is_moved_aside_and_the_file_put_back(
    multi: MultiHub,
) -> None:
    """git cannot hold a named pipe, and its add failed on one where it tracks a file: the audit
    failed and put nothing back."""
    ws = multi.workspaces()

    def agent() -> None:
        (multi.worktree / "CLAUDE.md").unlink()
        os.mkfifo(multi.worktree / "CLAUDE.md")

    report = run_turn(ws, propose(ws), agent)
    assert kinds(report) == {("hub", "CLAUDE.md", "added"), ("hub", "CLAUDE.md", "deleted")}
    assert report.errors == []
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"
    [pipe] = [v for v in report.violations if v.kind == "added"]
    assert "named pipe" in pipe.detail and stat.S_ISFIFO(os.lstat(pipe.saved).st_mode)
