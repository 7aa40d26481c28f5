"""specflow.workspace.worktrees (with .layout and .repocommands): creation, links, sparse paths, bases, setup
commands and their failures."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from specflow.agents.base import AgentEvent
from specflow.definitions.config import HubConfig, RepoConfig
from specflow.errors import WorkspaceError
from specflow.workspace import branches
from specflow.workspace.layout import self_repo_name
from specflow.workspace.repocommands import run_logged
from specflow.workspace.workspaces import Workspaces
from tests.conftest import commit_all, git
from tests.unit.test_workspaces import CHANGE, MultiHub, make_multi_hub, status


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    return make_multi_hub(tmp_path)


def with_repos(h: MultiHub, **repos: RepoConfig) -> Workspaces:
    config = HubConfig(repos={**h.config.repos, **repos}, shared=list(h.config.shared))
    return Workspaces(h.root, config, CHANGE, list(repos) or ["api", "bot"])


def test_a_tracked_openspec_link_in_a_component_repo_is_replaced_without_a_trace(multi: MultiHub) -> None:
    os.symlink("../hub/openspec", multi.api / "openspec")  # the hub pattern: repos see the hub via links
    commit_all(multi.api, "link to the hub")
    ws = multi.workspaces(("api",))
    wt = ws.ensure_worktrees()["api"]
    # linked to the change's own hub worktree, where its folder is
    assert os.path.realpath(wt / "openspec") == str(multi.worktree.resolve() / "openspec")
    assert status(wt) == ""
    (wt / "src" / "x.py").write_text("x\n")
    git(wt, "add", "-A")
    git(wt, "commit", "-q", "-m", "work")
    assert git(wt, "show", "--name-only", "--format=", "HEAD").split() == ["src/x.py"]
    assert git(wt, "show", "HEAD:openspec") == "../hub/openspec"
    assert [(r.repo, r.status) for r in branches.merge(ws)] == [("hub", "merged"), ("api", "merged")]
    assert os.readlink(multi.api / "openspec") == "../hub/openspec"


def test_links_can_be_chosen_per_repo_and_missing_hub_folders_are_skipped(multi: MultiHub) -> None:
    events: list[AgentEvent] = []
    ws = with_repos(multi, api=RepoConfig(path="../api", links=["openspec", "nope"]))
    wt = ws.ensure_worktrees(events.append)["api"]
    assert (wt / "openspec").is_symlink()
    assert not (wt / "docs").exists() and not (wt / "nope").exists()
    assert any(e.kind == "warning" and "hub folder nope does not exist" in e.message for e in events)


def test_a_missing_base_branch_is_refused_with_the_fix(multi: MultiHub) -> None:
    ws = with_repos(multi, api=RepoConfig(path="../api", base="develop"))
    with pytest.raises(WorkspaceError) as info:
        ws.ensure_worktrees()
    assert "base branch 'develop' of repo 'api' does not exist" in info.value.message
    assert "repos.api.base" in (info.value.fix or "")


def test_a_detached_repo_without_a_base_is_refused(multi: MultiHub) -> None:
    git(multi.api, "checkout", "-q", "--detach")
    with pytest.raises(WorkspaceError, match=r"detached HEAD.*no base branch configured"):
        multi.workspaces(("api",)).ensure_worktrees()


def test_the_base_is_the_checked_out_branch_and_is_remembered(multi: MultiHub) -> None:
    git(multi.api, "switch", "-q", "-c", "trunk")
    ws = multi.workspaces(("api",))
    wt = ws.ensure_worktrees()["api"]
    git(multi.api, "switch", "-q", "main")
    (wt / "f.txt").write_text("f\n")
    commit_all(wt, "work")
    assert {r.repo: r.base for r in branches.merge(ws)} == {"hub": "main", "api": "trunk"}


def test_a_non_repo_path_is_named(tmp_path: Path) -> None:
    h = make_multi_hub(tmp_path)
    shutil.rmtree(h.bot / ".git")
    with pytest.raises(WorkspaceError, match=r"repo 'bot' at .*bot is not usable"):
        h.workspaces().ensure_worktrees()


def test_something_else_at_the_worktree_path_is_refused(multi: MultiHub) -> None:
    blocker = multi.root / ".specflow" / "worktrees" / CHANGE / "api"
    blocker.mkdir(parents=True)
    (blocker / "stuff.txt").write_text("mine\n")
    with pytest.raises(WorkspaceError, match="exists but is not a git worktree of 'api'"):
        multi.workspaces(("api",)).ensure_worktrees()
    assert (blocker / "stuff.txt").read_text() == "mine\n"


def test_a_removed_worktree_comes_back_on_the_same_branch(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    wt = ws.ensure_worktrees()["api"]
    (wt / "kept.txt").write_text("kept\n")
    commit_all(wt, "work to keep")
    ws.remove_worktrees()
    assert not wt.exists()
    again = ws.ensure_worktrees()["api"]
    assert (again / "kept.txt").read_text() == "kept\n"
    # a worktree deleted by hand is still registered in git: it is pruned and made again
    shutil.rmtree(again)
    assert (ws.ensure_worktrees()["api"] / "kept.txt").exists()


def test_run_logged_streams_and_kills_the_whole_group_on_timeout(tmp_path: Path) -> None:
    events: list[AgentEvent] = []
    ok = run_logged("echo one; echo two >&2", tmp_path, tmp_path / "ok.log", timeout=10, on_event=events.append)
    assert ok.ok and ok.tail == "one\ntwo"
    assert [e.message for e in events] == ["one", "two"]
    start = time.monotonic()
    slow = run_logged("sleep 30 & sleep 30; echo never", tmp_path, tmp_path / "slow.log", timeout=0.5)
    assert time.monotonic() - start < 10
    assert slow.timed_out and not slow.ok and slow.exit_code is None
    assert "killed after 0.5s" in (tmp_path / "slow.log").read_text()


def test_single_repo_worktree_is_named_after_the_hub(tmp_path: Path) -> None:
    assert self_repo_name(tmp_path / "my project") == "my-project"
    assert self_repo_name(tmp_path / "hub") == "repo"
