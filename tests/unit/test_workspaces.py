"""specflow.workspace.workspaces: a hub with two component repos, one change across both, end to end.

Also home of the small builders the other workspace tests share (``make_multi_hub``,
``make_single_hub``): real git repos in ``tmp_path``, no mocks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from specflow.agents.base import AgentEvent
from specflow.changestate.history import read_history
from specflow.changestate.records import read_state, write_state
from specflow.changestate.recordtypes import StateRecord
from specflow.definitions.config import HubConfig, RepoConfig
from specflow.engine.change import Change
from specflow.engine.hub import Hub
from specflow.errors import WorkspaceError
from specflow.localdir import records_dir
from specflow.steps.registry import StepContext, StepResult
from specflow.workspace import branchdiff, branches
from specflow.workspace.workspaces import Workspaces
from tests.conftest import HubFixture, commit_all, git, git_commands_run, init_repo

CHANGE = "add-login"
TASKS = "## 1. Build\n- [ ] 1.1 api endpoint\n- [ ] 1.2 bot command\n"


@dataclass
class MultiHub:
    """A hub (openspec/, docs/) with component repos ``api`` and ``bot`` next to it."""

    root: Path
    api: Path
    bot: Path
    config: HubConfig
    change: str = CHANGE

    @property
    def worktree(self) -> Path:
        """The change's own worktree of the hub, on ``specflow/<id>``."""
        return Hub(self.root).worktree_of(self.change)

    @property
    def change_dir(self) -> Path:
        """The change's folder, on its branch in its hub worktree."""
        return self.worktree / "openspec" / "changes" / self.change

    def workspaces(self, repos: tuple[str, ...] = ("api", "bot")) -> Workspaces:
        return Workspaces(self.root, self.config, self.change, list(repos))

    def change_api(self) -> Change:
        """The change through the Python API (what the CLI calls)."""
        return Hub.open(self.root).change(self.change)


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


def make_multi_hub(
    tmp_path: Path,
    *,
    api_setup: str | None = None,
    api_test: str | None = None,
    bot_test: str | None = None,
    state: str = "propose",
) -> MultiHub:
    hub = init_repo(tmp_path / "hub")
    write_files(
        hub,
        {
            "openspec/specs/auth/spec.md": "# auth\n",
            "docs/style.md": "be nice\n",
            "CLAUDE.md": "# rules\n",
        },
    )
    api = init_repo(tmp_path / "api")
    write_files(api, {"src/app.py": "print('api')\n", "README.md": "api\n", ".gitignore": ".setup-ran\n"})
    bot = init_repo(tmp_path / "bot")
    write_files(bot, {"bot.py": "print('bot')\n"})
    repos = {
        "api": RepoConfig(path="../api", setup=api_setup, test=api_test),
        "bot": RepoConfig(path="../bot", test=bot_test),
    }
    config = HubConfig(repos=repos, shared=["docs"], command_timeout=30)
    yaml = (
        "repos:\n"
        + "".join(
            f"  {name}:\n    path: {rc.path}\n"
            + (f"    setup: {json.dumps(rc.setup)}\n" if rc.setup else "")
            + (f"    test: {json.dumps(rc.test)}\n" if rc.test else "")
            for name, rc in repos.items()
        )
        + "shared: [docs]\ncommand_timeout: 30\n"
    )
    (hub / "specflow.yaml").write_text(yaml, encoding="utf-8")
    for root in (hub, api, bot):
        commit_all(root, "init")
    new_change_on_branch(hub, state, ["api", "bot"])
    return MultiHub(hub, api, bot, config)


def new_change_on_branch(hub: Path, state: str, repos: list[str]) -> Path:
    """Create change ``add-login`` as ``specflow new`` does (its own branch and hub worktree),
    give it a proposal and tasks in ``state``, and commit them there; return its folder."""
    change = Hub.open(hub).new_change(CHANGE, workflow="openspec", repos=repos)
    write_files(change.dir, {"proposal.md": "## Why\nLogin.\n", "tasks.md": TASKS})
    write_state(change.dir, StateRecord(workflow="openspec", state=state, repos=repos))
    commit_all(change.root, "proposal and tasks")
    return change.dir


def make_single_hub(tmp_path: Path, state: str = "propose") -> tuple[Path, Workspaces]:
    """A single-repo project: the hub is the repo the change is applied to."""
    hub = init_repo(tmp_path / "proj")
    write_files(
        hub,
        {
            "openspec/specs/auth/spec.md": "# auth\n",
            "src/app.py": "print('app')\n",
            "README.md": "readme\n",
        },
    )
    commit_all(hub, "init")
    new_change_on_branch(hub, state, [])
    return hub, Workspaces(hub, HubConfig(), CHANGE, [])


def state_of(change_dir: Path) -> StateRecord:
    """The change's state record (it must exist)."""
    record = read_state(change_dir)
    assert record is not None
    return record


def status(path: Path) -> str:
    return git(path, "status", "--porcelain", "--untracked-files=all")


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    return make_multi_hub(tmp_path, api_setup="echo installing; echo done > .setup-ran")


# -- worktrees, links, setup ------------------------------------------------------------------------


def test_one_change_across_two_repos_gets_a_worktree_each_with_the_hub_linked(multi: MultiHub) -> None:
    events: list[AgentEvent] = []
    ws = multi.workspaces()
    paths = ws.ensure_worktrees(events.append)

    wt_root = multi.root / ".specflow" / "worktrees" / CHANGE
    assert paths == {"api": wt_root / "api", "bot": wt_root / "bot"}
    for name, path in paths.items():
        assert git(path, "branch", "--show-current").strip() == f"specflow/{CHANGE}"
        assert (path / "openspec").is_symlink()
        assert os.path.realpath(path / "openspec") == str((multi.worktree / "openspec").resolve())
        assert (path / "docs" / "style.md").read_text() == "be nice\n"
        assert status(path) == "", f"links must not show in {name}'s git status"
    assert git(multi.worktree, "branch", "--show-current").strip() == f"specflow/{CHANGE}"
    assert status(multi.worktree) == "" and status(multi.root) == ""  # the person's checkout stays clean
    assert not (multi.root / ".gitignore").exists()
    assert "/.specflow/" in (multi.root / ".git" / "info" / "exclude").read_text()
    assert (paths["api"] / ".setup-ran").exists() is True
    assert any(e.kind == "output" and e.message == "installing" for e in events)
    log = multi.root / ".git" / "specflow" / "logs" / CHANGE / "setup-api.log"
    assert "installing" in log.read_text()
    assert ws.existing() == {"hub": multi.worktree, **paths}


def test_ensure_worktrees_is_idempotent_and_setup_runs_once(multi: MultiHub) -> None:
    ws = multi.workspaces()
    first = ws.ensure_worktrees()
    (first["api"] / ".setup-ran").unlink()
    (first["api"] / "openspec").unlink()  # a lost link is made again
    assert ws.ensure_worktrees() == first
    assert not (first["api"] / ".setup-ran").exists()
    assert (first["api"] / "openspec").is_symlink()


def test_failed_setup_names_repo_exit_code_and_log_and_runs_again_next_time(tmp_path: Path) -> None:
    h = make_multi_hub(tmp_path, api_setup="echo 'npm ERR! missing thing'; exit 3")
    ws = h.workspaces()
    with pytest.raises(WorkspaceError) as info:
        ws.ensure_worktrees()
    msg = str(info.value)
    log = h.root / ".git" / "specflow" / "logs" / CHANGE / "setup-api.log"
    assert "setup of repo 'api'" in msg and "exit code 3" in msg and str(log) in msg
    assert "npm ERR! missing thing" in msg
    assert "npm ERR! missing thing" in log.read_text()
    assert state_of(h.change_dir)["state"] == "propose"
    # once the command is fixed, the next run sets it up
    fixed = HubConfig(repos={"api": RepoConfig(path="../api", setup="true"), "bot": RepoConfig(path="../bot")})
    Workspaces(h.root, fixed, CHANGE, ["api", "bot"]).ensure_worktrees()


def test_unknown_repo_and_no_repo_are_refused_with_the_fix(multi: MultiHub) -> None:
    with pytest.raises(WorkspaceError, match=r"unknown repo.*nope.*configured: api, bot") as info:
        multi.workspaces(("api", "nope")).ensure_worktrees()
    assert "specflow repos add-login remove" in (info.value.fix or "")
    with pytest.raises(WorkspaceError, match="affects no repo") as info:
        multi.workspaces(()).ensure_worktrees()
    assert info.value.fix == "add the repos it changes: specflow repos add-login add NAME"


def test_tasks_ticked_through_the_link_land_in_the_changes_hub_worktree_only(multi: MultiHub) -> None:
    ws = multi.workspaces()
    paths = ws.ensure_worktrees()
    tasks = paths["api"] / "openspec" / "changes" / CHANGE / "tasks.md"
    tasks.write_text(TASKS.replace("- [ ] 1.1", "- [x] 1.1"))
    assert "- [x] 1.1" in (multi.change_dir / "tasks.md").read_text()
    assert status(paths["api"]) == ""
    assert status(multi.worktree) == f" M openspec/changes/{CHANGE}/tasks.md\n"
    assert not (multi.root / "openspec" / "changes" / CHANGE).exists()  # nothing on the person's checkout


def test_policy_and_agent_cwd(multi: MultiHub) -> None:
    ws = multi.workspaces()
    paths = ws.ensure_worktrees()
    hub_policy = ws.policy(read_only=False, write=[f"openspec/changes/{CHANGE}/**"], worktrees=False, phase="propose")
    assert hub_policy.worktrees == ()
    assert hub_policy.hub == multi.worktree.resolve()  # gates are rooted at the change's hub worktree
    assert ws.agent_cwd(worktrees=False) == multi.worktree
    wt_policy = ws.policy(read_only=False, write=[f"openspec/changes/{CHANGE}/tasks.md"], worktrees=True, phase="apply")
    assert set(wt_policy.worktrees) == {p.resolve() for p in paths.values()}
    assert ws.agent_cwd(worktrees=True) == multi.root.resolve() / ".specflow" / "worktrees" / CHANGE
    assert multi.workspaces(("api",)).agent_cwd(worktrees=True) == paths["api"]
    ro = ws.policy(read_only=True, write=["ignored/**"], worktrees=True, phase="explore")
    assert ro.read_only and not ro.write_globs


# -- diff, merge, clean -----------------------------------------------------------------------------


def _work(ws: Workspaces, multi: MultiHub) -> dict[str, Path]:
    paths = ws.ensure_worktrees()
    (paths["api"] / "src" / "login.py").write_text("def login(): ...\n")
    (paths["bot"] / "bot.py").write_text("print('bot login')\n")
    for p in paths.values():
        commit_all(p, "login work")
    return paths


def test_diff_shows_each_repo_against_its_base_including_uncommitted_work(multi: MultiHub) -> None:
    ws = multi.workspaces()
    paths = _work(ws, multi)
    (paths["api"] / "src" / "draft.py").write_text("x = 1\n")
    text = branchdiff.diff(ws)
    hub_part, api_part, bot_part = text.split("\n== ")
    # the hub's branch is one of the change's branches: its diff is the change's folder
    assert hub_part.startswith(f"== hub: specflow/add-login against main ({multi.worktree})")
    assert f"+++ b/openspec/changes/{CHANGE}/tasks.md" in hub_part and "+- [ ] 1.1 api endpoint" in hub_part
    assert api_part.startswith("api: specflow/add-login against main")
    assert "+def login(): ..." in api_part and "+x = 1" in api_part
    assert bot_part.startswith("bot: specflow/add-login against main") and "+print('bot login')" in bot_part
    assert "openspec" not in api_part + bot_part
    stat = branchdiff.diff(ws, "bot", stat=True)
    assert "bot.py | 2 +-" in stat and "api" not in stat
    with pytest.raises(WorkspaceError, match="repo 'web' is not affected"):
        branchdiff.diff(ws, "web")


def test_merge_makes_a_merge_commit_naming_the_change_in_each_repo(multi: MultiHub) -> None:
    ws = multi.workspaces()
    _work(ws, multi)
    results = branches.merge(ws)
    assert [(r.repo, r.status, r.base) for r in results] == [
        ("hub", "merged", "main"),  # the hub's own branch lands too
        ("api", "merged", "main"),
        ("bot", "merged", "main"),
    ]
    assert (multi.root / "openspec" / "changes" / CHANGE / "tasks.md").read_text() == TASKS
    for repo in (multi.root, multi.api, multi.bot):
        log = git(repo, "log", "-1", "--format=%s%n%P")
        subject, parents = log.splitlines()
        assert subject == "specflow: merge change add-login"
        assert len(parents.split()) == 2
        assert status(repo) == ""
    assert (multi.api / "src" / "login.py").exists()
    assert branches.merged(ws) == {"api": None, "bot": None}
    assert [r.status for r in branches.merge(ws)] == ["already merged"] * 3


def test_landing_what_was_just_committed_skips_the_scan_of_the_worktree_not_the_checks_of_the_base(
    multi: MultiHub,
) -> None:
    ws = multi.workspaces()
    _work(ws, multi)
    (multi.worktree / "scratch.txt").write_text("not committed\n")
    with pytest.raises(WorkspaceError, match=r"its worktree .* has 1 uncommitted change\(s\): scratch.txt"):
        branches.land(ws)
    # an attempt lands right after committing everything: the worktree is not scanned again, but
    # the checkout of the base is still looked at (its staged changes asked while the merge runs)
    (multi.root / "notes.txt").write_text("notes\n")
    git(multi.root, "add", "notes.txt")
    main = git(multi.root, "rev-parse", "main")
    with pytest.raises(WorkspaceError, match=r"staged changes, which the merge commit would take in: notes\.txt"):
        branches.land(ws, committed=True)
    assert git(multi.root, "rev-parse", "main") == main
    git(multi.root, "reset", "-q", "notes.txt")
    landed = branches.land(ws, committed=True)
    assert (landed.status, landed.base) == ("merged", "main")
    assert (multi.root / "openspec" / "changes" / CHANGE / "tasks.md").read_text() == TASKS
    assert not (multi.root / "scratch.txt").exists()  # only what was committed lands
    assert branches.land(ws, committed=True).status == "already merged"
    git(multi.worktree, "commit", "-q", "--allow-empty", "-m", "nothing new")  # the same tree, not merged yet
    assert branches.land(ws, committed=True).status == "merged"


def test_landing_moves_the_checkout_of_the_base_wherever_it_is(multi: MultiHub) -> None:
    ws = multi.workspaces()
    _work(ws, multi)
    git(multi.root, "checkout", "-q", "-b", "elsewhere")
    checkout = multi.root.parent / "main-checkout"
    git(multi.root, "worktree", "add", "-q", str(checkout), "main")
    landed = branches.land(ws, committed=True)
    assert (landed.status, landed.base) == ("merged", "main")
    assert (checkout / "openspec" / "changes" / CHANGE / "tasks.md").read_text() == TASKS
    assert status(checkout) == "" and git(checkout, "rev-parse", "HEAD").strip() == landed.commit
    assert not (multi.root / "openspec" / "changes" / CHANGE).exists()  # the hub's checkout is on another branch


def test_landing_on_a_base_checked_out_nowhere_moves_only_the_branch_with_its_reflog_line(
    multi: MultiHub,
) -> None:
    ws = multi.workspaces()
    _work(ws, multi)
    git(multi.root, "checkout", "-q", "-b", "elsewhere")
    main = git(multi.root, "rev-parse", "main").strip()
    landed = branches.land(ws, committed=True)
    assert (landed.status, landed.base) == ("merged", "main")
    assert git(multi.root, "rev-parse", "main", "main^1").split() == [landed.commit, main]
    assert git(multi.root, "reflog", "-1", "--format=%gs", "main").strip() == (
        f"merge {landed.branch}: specflow: publish change {CHANGE}"
    )
    assert git(multi.root, "rev-parse", "--abbrev-ref", "HEAD").strip() == "elsewhere"
    assert not (multi.root / "openspec" / "changes" / CHANGE).exists()  # no checkout of main to move
    assert git(multi.root, "fsck", "--no-dangling").strip() == ""


def test_merge_refuses_a_dirty_base_checkout_and_merges_nothing(multi: MultiHub) -> None:
    ws = multi.workspaces()
    _work(ws, multi)
    (multi.bot / "bot.py").write_text("local edit\n")
    heads = {r: git(r, "rev-parse", "main") for r in (multi.api, multi.bot)}
    with pytest.raises(WorkspaceError) as info:
        branches.merge(ws)
    assert "bot: the checkout of main" in info.value.message and "bot.py" in info.value.message
    assert "commit or stash them" in info.value.message
    assert "specflow merge add-login" in (info.value.fix or "")
    assert {r: git(r, "rev-parse", "main") for r in (multi.api, multi.bot)} == heads


def test_merge_refuses_a_conflict_and_leaves_nothing_half_merged(multi: MultiHub) -> None:
    ws = multi.workspaces()
    _work(ws, multi)
    (multi.bot / "bot.py").write_text("print('conflicting')\n")
    commit_all(multi.bot, "conflicting change on main")
    heads = {r: git(r, "rev-parse", "main") for r in (multi.api, multi.bot)}
    with pytest.raises(WorkspaceError) as info:
        branches.merge(ws)
    assert "would conflict in: bot.py" in info.value.message
    assert "merge main into the branch" in info.value.message
    assert {r: git(r, "rev-parse", "main") for r in (multi.api, multi.bot)} == heads
    assert status(multi.api) == "" and status(multi.bot) == ""
    assert not (multi.bot / ".git" / "MERGE_HEAD").exists()


def test_merge_refuses_uncommitted_work_in_a_worktree(multi: MultiHub) -> None:
    ws = multi.workspaces()
    paths = _work(ws, multi)
    (paths["api"] / "src" / "wip.py").write_text("wip\n")
    with pytest.raises(WorkspaceError, match=r"its worktree .* has 1 uncommitted change"):
        branches.merge(ws)


def test_merge_lists_every_problem_of_every_repo_at_once(multi: MultiHub) -> None:
    ws = multi.workspaces()
    paths = _work(ws, multi)
    (paths["api"] / "src" / "wip.py").write_text("wip\n")  # uncommitted in api's worktree
    (multi.api / "src" / "login.py").write_text("mine\n")  # untracked where the merge adds a file
    (multi.bot / "bot.py").write_text("local edit\n")  # edited where the merge changes it
    (multi.bot / "notes.txt").write_text("notes\n")
    git(multi.bot, "add", "notes.txt")  # staged: git would take it into the merge commit
    heads = {r: git(r, "rev-parse", "main") for r in (multi.api, multi.bot)}
    with pytest.raises(WorkspaceError) as info:
        branches.merge(ws)
    text = info.value.message
    assert "4 problem(s) in 2 repo(s) (api, bot)" in text
    assert "api: its worktree" in text and "uncommitted change(s): src/wip.py" in text
    assert "api: the merge would overwrite untracked files" in text and "src/login.py" in text
    assert "bot: the checkout of main" in text and "local changes in files the merge would change: bot.py" in text
    assert "staged changes, which the merge commit would take in: notes.txt" in text
    assert text.count("fix: ") == 4
    assert {r: git(r, "rev-parse", "main") for r in (multi.api, multi.bot)} == heads
    assert (multi.bot / "bot.py").read_text() == "local edit\n"


def test_change_merge_commits_what_a_worktree_holds_and_lands_it_with_its_tip_journaled(multi: MultiHub) -> None:
    ws = multi.workspaces()
    paths = _work(ws, multi)
    (paths["api"] / "src" / "left.py").write_text("left = 1\n")  # the agent's last words, uncommitted
    tip_before = git(paths["api"], "rev-parse", "HEAD").strip()
    results = multi.change_api().merge()
    assert [r.status for r in results] == ["merged", "merged", "merged"]
    tip = git(paths["api"], "rev-parse", "HEAD").strip()
    assert tip != tip_before and git(paths["api"], "rev-parse", "HEAD^").strip() == tip_before
    assert git(paths["api"], "log", "-1", "--format=%s").strip() == f"specflow({CHANGE}): records before merging"
    assert status(paths["api"]) == ""
    assert (multi.api / "src" / "left.py").read_text() == "left = 1\n"  # landed on main with the rest
    assert git(multi.api, "rev-parse", "main^2").strip() == tip
    journaled = (records_dir(multi.root) / "journal" / f"{CHANGE}.jsonl").read_text()
    entries = [json.loads(line) for line in journaled.splitlines()]
    assert any(e["path"].endswith(":refs/heads/specflow/add-login") and e["sha256"] == tip for e in entries)


def test_merge_leaves_local_edits_in_files_it_does_not_touch(multi: MultiHub) -> None:
    ws = multi.workspaces()
    _work(ws, multi)
    (multi.api / "README.md").write_text("my own notes\n")
    results = branches.merge(ws)
    assert [r.status for r in results] == ["merged", "merged", "merged"]
    assert (multi.api / "README.md").read_text() == "my own notes\n"
    assert (multi.api / "src" / "login.py").exists()


def test_single_repo_branch_holds_the_work_and_the_ticks_and_merges_beside_the_persons_commits(
    tmp_path: Path,
) -> None:
    """Single repo: the change's one worktree is its hub worktree, holding its own change folder."""
    hub, ws = make_single_hub(tmp_path)
    wt = ws.ensure_worktrees()[hub.name]
    assert wt == Hub(hub).worktree_of(CHANGE) and ws.root == wt
    assert not (wt / "openspec").is_symlink() and status(wt) == ""
    (wt / "src" / "login.py").write_text("login\n")
    (wt / "openspec" / "changes" / CHANGE / "tasks.md").write_text("- [x] done\n")
    commit_all(wt, "work")
    assert sorted(git(wt, "show", "--name-only", "--format=", "HEAD").split()) == [
        f"openspec/changes/{CHANGE}/tasks.md",
        "src/login.py",
    ]
    (hub / "README.md").write_text("the person's readme\n")
    commit_all(hub, "a person's commit on main meanwhile")
    results = branches.merge(ws)
    assert results[0].status == "merged"
    assert (hub / "src" / "login.py").read_text() == "login\n"
    assert (hub / "openspec" / "changes" / CHANGE / "tasks.md").read_text() == "- [x] done\n"
    assert (hub / "README.md").read_text() == "the person's readme\n"


def test_remove_worktrees_keeps_branches_and_refuses_uncommitted_work(multi: MultiHub) -> None:
    ws = multi.workspaces()
    paths = _work(ws, multi)
    (paths["bot"] / "wip.txt").write_text("wip\n")
    with pytest.raises(WorkspaceError, match=r"worktree of 'bot'.*1 uncommitted"):
        ws.remove_worktrees(strict=True)
    removed = ws.remove_worktrees(force=True, strict=True)
    assert set(removed) == {*paths.values(), multi.worktree}
    assert not (multi.root / ".specflow" / "worktrees" / CHANGE).exists()
    for repo in (multi.root, multi.api):
        assert git(repo, "branch", "--list", "specflow/*").strip() == "specflow/add-login"
    # the change's folder lives on in its branch
    assert git(multi.root, "show", f"specflow/add-login:openspec/changes/{CHANGE}/tasks.md") == TASKS


# -- steps ------------------------------------------------------------------------------------------


def _ctx(h: MultiHub) -> StepContext:
    return StepContext(h.root, CHANGE, h.change_dir, "apply", h.config)


def _step(name: str) -> Callable[[StepContext], StepResult]:
    from specflow.steps.workspace import STEPS

    func = next(d.func for d in STEPS if d.pattern == name)
    return lambda ctx: cast(StepResult, func(ctx))


def test_step_tests_pass_runs_each_repos_test_command_in_its_worktree(tmp_path: Path) -> None:
    h = make_multi_hub(tmp_path, api_test="test -f src/login.py && echo ok", bot_test="echo 'FAIL: 2 tests'; exit 1")
    ws = h.workspaces()
    _work(ws, h)
    result = _step("the tests pass in every affected repo")(_ctx(h))
    assert not result.ok
    reason = result.reason
    assert "tests of bot (echo 'FAIL: 2 tests'; exit 1) failed with exit code 1" in reason
    assert "FAIL: 2 tests" in reason and "api" not in reason.split("\n")[0]
    assert (h.root / ".git" / "specflow" / "logs" / CHANGE / "test-api.log").read_text().endswith("\nok\n")


def test_step_branches_are_merged_and_workspace_is_clean(multi: MultiHub) -> None:
    ws = multi.workspaces()
    paths = _work(ws, multi)
    merged = _step("the branches are merged")
    clean = _step("the workspace is clean")
    r = merged(_ctx(multi))
    assert not r.ok and "specflow/add-login is not merged into main in api (1 commit(s) ahead)" in r.reason
    assert "specflow merge add-login" in r.reason
    assert clean(_ctx(multi)).ok
    (paths["bot"] / "notes.txt").write_text("x\n")
    r = clean(_ctx(multi))
    assert not r.ok and "bot has 1 uncommitted change(s): notes.txt" in r.reason
    (paths["bot"] / "notes.txt").unlink()
    branches.merge(ws)
    assert merged(_ctx(multi)).ok


# -- CLI --------------------------------------------------------------------------------------------


def _cli_hub(multi: MultiHub) -> None:
    """Turn the fixture hub into one the CLI opens (openspec/ exists; state and config written)."""
    (multi.root / "openspec" / "project.md").write_text("# project\n")


def test_cli_repos_add_remove_validates_names(multi: MultiHub, cli: Callable[..., tuple[int, str, str]]) -> None:
    _cli_hub(multi)
    code, out, err = cli("-C", multi.root, "repos", CHANGE, "remove", "bot")
    assert code == 0, err
    assert state_of(multi.change_dir)["repos"] == ["api"]
    code, out, err = cli("-C", multi.root, "repos", CHANGE, "add", "web")
    assert code == 1
    assert "unknown repo(s) web (configured in specflow.yaml: api, bot)" in err
    code, out, _ = cli("-C", multi.root, "repos", CHANGE, "add", "bot")
    assert code == 0 and "affects: api, bot" in out
    code, out, _ = cli("-C", multi.root, "repos", CHANGE)
    assert out.split() == ["api", "bot"]


def test_cli_workspace_prints_paths(multi: MultiHub, cli: Callable[..., tuple[int, str, str]]) -> None:
    _cli_hub(multi)
    code, out, err = cli("-C", multi.root, "workspace", CHANGE, "--repo", "api")
    assert code == 1 and "does not exist yet" in err
    paths = multi.workspaces().ensure_worktrees()
    code, out, _ = cli("-C", multi.root, "workspace", CHANGE, "--repo", "api")
    assert code == 0 and out.strip() == str(paths["api"])
    code, out, _ = cli("-C", multi.root, "workspace", CHANGE)
    assert str(paths["bot"]) in out and "[specflow/add-login]" in out and out.startswith("hub")


def test_cli_diff_merge_and_clean(multi: MultiHub, cli: Callable[..., tuple[int, str, str]]) -> None:
    _cli_hub(multi)
    ws = multi.workspaces()
    _work(ws, multi)
    code, out, _ = cli("-C", multi.root, "diff", CHANGE, "--stat")
    assert code == 0 and "src/login.py | 1 +" in out
    code, out, err = cli("-C", multi.root, "clean", CHANGE)
    assert code == 1 and "is not archived" in err
    code, out, err = cli("-C", multi.root, "merge", CHANGE)
    assert code == 0, err
    assert "api: merged specflow/add-login into main (1 file(s))" in out
    # archive the change by hand in its hub worktree (the archive action's job), then clean
    archive = multi.worktree / "openspec" / "changes" / "archive" / f"2025-01-01-{CHANGE}"
    archive.parent.mkdir(parents=True)
    multi.change_dir.rename(archive)
    commit_all(multi.worktree, "archive")  # specflow commits on the change's hub branch
    code, out, err = cli("-C", multi.root, "clean", CHANGE)
    assert code == 0, err
    assert "removed" in out and "branch specflow/add-login kept" in out
    assert not (multi.root / ".specflow" / "worktrees" / CHANGE).exists()


def test_cli_revert_without_yes_refuses_when_not_interactive(
    multi: MultiHub, cli: Callable[..., tuple[int, str, str]]
) -> None:
    _cli_hub(multi)
    ws = multi.workspaces()
    ws.checkpoint(phase="propose", state="explore")
    (multi.worktree / "CLAUDE.md").write_text("changed\n")
    code, _, err = cli("-C", multi.root, "revert", CHANGE)
    assert code == 1
    assert "needs confirmation" in err and "fix: pass --yes" in err
    assert (multi.worktree / "CLAUDE.md").read_text() == "changed\n"
    code, out, err = cli("-C", multi.root, "revert", CHANGE, "--yes")
    assert code == 0, err
    assert "restored checkpoint #1" in out and "state propose -> explore" in out
    assert (multi.worktree / "CLAUDE.md").read_text() == "# rules\n"
    assert state_of(multi.change_dir)["state"] == "explore"
    code, out, _ = cli("-C", multi.root, "checkpoints", CHANGE, "--json")
    listed = json.loads(out)
    assert [c["number"] for c in listed] == [1, 2]
    assert listed[1]["phase"] == "revert" and listed[1]["changed_since"] == 1
    assert listed[0]["changed_since"] == 0
    code, out, _ = cli("-C", multi.root, "checkpoints", CHANGE)
    assert "files changed since" in out


def test_history_records_the_revert(multi: MultiHub) -> None:
    ws = multi.workspaces()
    ws.checkpoint(phase="apply", state="propose")
    record = state_of(multi.change_dir)
    record["state"] = "apply"
    write_state(multi.change_dir, record)
    result = multi.change_api().revert()
    event = read_history(multi.change_dir)[-1]
    assert {k: event[k] for k in ("trigger", "from", "to", "outcome", "checkpoint", "undo_checkpoint")} == {
        "trigger": "revert",
        "from": "apply",
        "to": "propose",
        "outcome": "reverted",
        "checkpoint": 1,
        "undo_checkpoint": result.undo,
    }
    assert state_of(multi.change_dir)["repos"] == ["api", "bot"]


def test_new_makes_the_changes_worktree_and_commits_its_folder_with_three_git_processes(
    hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = Hub.open(hub.root)
    ran = git_commands_run(monkeypatch)
    change = opened.new_change("add-login")
    assert change.on_branch and (change.dir / ".specflow" / "state.json").is_file()
    # whether the hub has a commit is asked once; the branch, its reflog and the commit are written in-process
    assert ran == ["rev-parse", "worktree", "add"]
