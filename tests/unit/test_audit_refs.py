"""The audit puts back refs in every namespace: tags, notes, replace, stash, remotes, other changes' branches.

Each test is a hostile agent's git commands in a real repository; what a created or moved ref
pointed at is kept under ``refs/specflow/rejected/<id>/<n>/refs/``, and each is reported.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from specflow.changestate.lock import ChangeLock
from specflow.workspace.audit import AuditReport
from specflow.workspace.workspaces import Workspaces
from tests.conftest import git
from tests.unit.test_audit import apply, propose, run_turn
from tests.unit.test_workspaces import CHANGE, MultiHub, make_multi_hub, make_single_hub

REJECTED = f"refs/specflow/rejected/{CHANGE}/1/refs"


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    return make_multi_hub(tmp_path)


def refs(repo: Path) -> dict[str, str]:
    """Every ref but specflow's own, as git lists them."""
    out = git(repo, "for-each-ref", "--format=%(objectname) %(refname)")
    pairs = (line.split(" ", 1) for line in out.splitlines())
    return {name: sha for sha, name in pairs if not name.startswith("refs/specflow/")}


def ref_violations(report: AuditReport) -> dict[str, str]:
    return {v.path: v.detail for v in report.violations if v.kind == "ref"}


def a_commit(repo: Path, message: str) -> str:
    tree = git(repo, "write-tree").strip()
    return git(repo, "commit-tree", tree, "-p", "HEAD", "-m", message).strip()


def _stash(repo: Path) -> None:
    (repo / "README.md").write_text("stashed\n")
    git(repo, "stash", "push", "-q")


CREATIONS: dict[str, Callable[[Path], object]] = {
    "refs/tags/v9": lambda r: git(r, "tag", "v9", a_commit(r, "forged")),
    "refs/tags/signed": lambda r: git(r, "tag", "-a", "-m", "annotated", "signed"),
    "refs/notes/commits": lambda r: git(r, "notes", "add", "-m", "approved by nobody", "HEAD"),
    "refs/replace/": lambda r: git(r, "replace", "--graft", "HEAD", a_commit(r, "a fake parent")),
    "refs/stash": lambda r: _stash(r),
    "refs/remotes/origin/main": lambda r: git(r, "update-ref", "refs/remotes/origin/main", a_commit(r, "fake")),
    "refs/anything/else": lambda r: git(r, "update-ref", "refs/anything/else", "HEAD"),
}


@pytest.mark.parametrize("name", list(CREATIONS))
def test_a_ref_created_in_any_namespace_is_deleted_and_kept(tmp_path: Path, name: str) -> None:
    hub, ws = make_single_hub(tmp_path)
    before = refs(hub)
    report = run_turn(ws, propose(ws), lambda: CREATIONS[name](hub))
    (created,) = [n for n in ref_violations(report) if n.startswith(name)]
    assert "created at" in ref_violations(report)[created]
    assert refs(hub) == before
    kept = f"{REJECTED}/{created.removeprefix('refs/')}"
    assert git(hub, "rev-parse", kept).strip(), kept
    (violation,) = [v for v in report.violations if v.path == created]
    assert violation.saved == kept


def test_a_moved_or_deleted_tag_is_put_back(tmp_path: Path) -> None:
    hub, ws = make_single_hub(tmp_path)
    git(hub, "tag", "v1")
    git(hub, "tag", "-a", "-m", "release", "v2")
    git(hub, "update-ref", "refs/notes/commits", git(hub, "rev-parse", "HEAD").strip())
    before = refs(hub)

    def agent() -> None:
        git(hub, "tag", "-f", "v1", a_commit(hub, "elsewhere"))
        git(hub, "tag", "-d", "v2")
        git(hub, "update-ref", "-d", "refs/notes/commits")

    report = run_turn(ws, propose(ws), agent)
    found = ref_violations(report)
    assert set(found) == {"refs/tags/v1", "refs/tags/v2", "refs/notes/commits"}
    assert "moved from" in found["refs/tags/v1"] and "deleted; restored" in found["refs/tags/v2"]
    assert refs(hub) == before
    assert git(hub, "cat-file", "-t", "v2").strip() == "tag", "the annotated tag object is back"
    assert git(hub, "rev-parse", f"{REJECTED}/tags/v1").strip() != before["refs/tags/v1"]


def test_a_replace_graft_cannot_fake_a_merge(tmp_path: Path) -> None:
    """``git replace --graft`` made a commit look merged; the audit deletes the replace ref."""
    hub, ws = make_single_hub(tmp_path)
    git(hub, "branch", "side")
    git(hub, "commit", "-q", "--allow-empty", "-m", "on main")
    side_tip = a_commit(hub, "side work")
    git(hub, "update-ref", "refs/heads/side", side_tip)
    head = git(hub, "rev-parse", "HEAD").strip()

    def agent() -> None:
        git(hub, "replace", "--graft", head, f"{head}^", side_tip)

    report = run_turn(ws, propose(ws), agent)
    assert [n for n in ref_violations(report) if n.startswith("refs/replace/")] == [f"refs/replace/{head}"]
    assert git(hub, "for-each-ref", "refs/replace/") == ""
    merged = subprocess.run(["git", "merge-base", "--is-ancestor", side_tip, "HEAD"], cwd=hub, check=False)
    assert merged.returncode == 1, "the side branch must not look merged any more"


def test_a_symbolic_ref_pointed_elsewhere_is_pointed_back(tmp_path: Path) -> None:
    hub, ws = make_single_hub(tmp_path)
    git(hub, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(hub, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")

    def agent() -> None:
        git(hub, "update-ref", "refs/remotes/origin/evil", "HEAD")
        git(hub, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/evil")

    report = run_turn(ws, propose(ws), agent)
    assert "refs/remotes/origin/HEAD" in ref_violations(report)
    assert git(hub, "symbolic-ref", "refs/remotes/origin/HEAD").strip() == "refs/remotes/origin/main"
    assert "refs/remotes/origin/evil" not in refs(hub)


def _idle_change(multi: MultiHub) -> Path:
    """Another change of the hub with a worktree of its own, not running."""
    (multi.worktree / "openspec" / "changes" / "idle").mkdir(parents=True)
    idle = Workspaces(multi.root, multi.config, "idle", ["api"])
    idle.ensure_worktrees()
    return idle.existing()["api"]


def test_an_idle_changes_branch_deleted_or_moved_by_an_agent_is_put_back(multi: MultiHub) -> None:
    wt_idle = _idle_change(multi)
    (wt_idle / "idle.py").write_text("idle work\n")
    git(wt_idle, "add", "-A")
    git(wt_idle, "commit", "-qm", "idle work")
    tip = git(wt_idle, "rev-parse", "HEAD").strip()
    ws = multi.workspaces(("api",))
    policy = apply(ws)
    wt = ws.existing()["api"]

    def agent() -> None:
        git(wt, "update-ref", "refs/heads/specflow/idle", f"{tip}^")

    report = run_turn(ws, policy, agent)
    assert [(v.path, v.kind) for v in report.violations] == [("specflow/idle", "commit")]
    assert git(wt, "rev-parse", "refs/heads/specflow/idle").strip() == tip

    def deleter() -> None:
        git(multi.api, "update-ref", "-d", "refs/heads/specflow/idle")

    report = run_turn(ws, policy, deleter)
    assert "branch specflow/idle deleted; restored" in report.violations[0].detail
    assert git(wt, "rev-parse", "refs/heads/specflow/idle").strip() == tip


def test_a_change_that_ran_meanwhile_keeps_its_branch_moves(multi: MultiHub) -> None:
    """Its engine (or its agent, inside its gate) moved it while it held its lock."""
    wt_idle = _idle_change(multi)
    ws = multi.workspaces(("api",))
    policy = apply(ws)

    def other_change_runs() -> None:
        with ChangeLock(multi.root, "idle"):
            (wt_idle / "idle.py").write_text("idle work\n")
            git(wt_idle, "add", "-A")
            git(wt_idle, "commit", "-qm", "its own work")

    report = run_turn(ws, policy, other_change_runs)
    assert report.violations == []
    assert git(wt_idle, "log", "-1", "--format=%s").strip() == "its own work"
