"""push and pull: a change's branches and checkpoints between two clones and bare remotes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specflow.changestate import records, recordtypes
from specflow.engine.change import Change
from specflow.engine.hub import Hub
from specflow.errors import RemoteError
from specflow.workspace.remote import change_repos, is_pushed, lease_remote_anywhere
from specflow.workspace.workspaces import Workspaces
from tests.conftest import commit_all, git
from tests.remote_world import CHANGE, Machine, World, make_world, remote_refs


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def start_change(m: Machine) -> Change:
    """Machine ``m`` makes the change (``new`` starts its hub branch), its api worktree with one commit
    and a checkpoint."""
    hub = Hub.open(m.hub)
    change = hub.new_change(CHANGE, repos=["api"])
    ws = change.workspaces()
    ws.ensure_worktrees()
    m.commit_in_worktree("login.py", "print('login')\n")
    ws.checkpoint(phase="apply", state="draft", reason="test")
    return change


def previous_layout_change(m: Machine, change_id: str) -> None:
    """A change made on the hub's checkout as specflow did before its branches: it has no branch yet."""
    folder = m.hub / "openspec" / "changes" / change_id
    folder.mkdir(parents=True)
    (folder / ".openspec.yaml").write_text("schema: spec-driven\ncreated: 2025-01-01\n")
    event = recordtypes.HistoryEvent(trigger="new", outcome="created", workflow="mini")
    event["from"], event["to"] = None, "draft"
    records.create(folder, workflow="mini", state="draft", repos=[], event=event)
    commit_all(m.hub, f"a change made on the hub's checkout: {change_id}")


def b_workspaces(world: World) -> Workspaces:
    hub = Hub.open(world.b.hub)
    return Workspaces(hub.root, hub.config, CHANGE, ["api"])


def test_push_sends_every_branch_and_checkpoint_and_pull_makes_them_on_the_other_clone(world: World) -> None:
    change = start_change(world.a)
    result = change.push()
    assert [(r.repo, r.outcome, r.remote) for r in result.repos] == [
        ("hub", "pushed", "origin"),
        ("api", "pushed", "origin"),
    ]
    tip = git(world.a.worktree(), "rev-parse", "HEAD").strip()
    assert remote_refs(world.remote_api)[f"refs/heads/specflow/{CHANGE}"] == tip
    assert f"refs/specflow/checkpoints/{CHANGE}/1/hub" in remote_refs(world.remote_hub)
    assert f"refs/specflow/checkpoints/{CHANGE}/1/api" in remote_refs(world.remote_api)
    assert change.push().repos[1].outcome == "up-to-date"

    pulled = Change.named(Hub.open(world.b.hub), CHANGE).pull()
    assert [(r.repo, r.outcome) for r in pulled.repos] == [("hub", "created"), ("api", "created")]
    # the change's folder and records came on its hub branch: its hub worktree is made from it
    b_hub = Hub.open(world.b.hub)
    assert (pulled.repos[0].worktree, pulled.repos[0].worktree_made) == (b_hub.worktree_of(CHANGE), True)
    assert git(b_hub.worktree_of(CHANGE), "rev-parse", "HEAD") == git(world.a.hub, "rev-parse", f"specflow/{CHANGE}")
    assert [c.id for c in b_hub.changes()] == [CHANGE]
    assert b_hub.change(CHANGE).dir == b_hub.worktree_of(CHANGE) / "openspec" / "changes" / CHANGE
    assert b_hub.change(CHANGE).state == "draft"
    assert git(world.b.api, "rev-parse", f"specflow/{CHANGE}").strip() == tip
    assert git(world.b.api, "config", f"branch.specflow/{CHANGE}.remote").strip() == "origin"
    assert git(world.b.api, "for-each-ref", f"refs/specflow/checkpoints/{CHANGE}/").strip()
    # the worktree of the pulled change starts at the pushed commits
    b_workspaces(world).ensure_worktrees()
    assert (world.b.worktree() / "login.py").read_text() == "print('login')\n"
    assert Change.named(Hub.open(world.b.hub), CHANGE).pull().repos[1].outcome == "up-to-date"


def test_a_worktree_made_from_a_fetched_branch_continues_it_and_tracks_it(world: World) -> None:
    start_change(world.a).push()
    git(world.b.api, "fetch", "-q", "origin")  # fetched only: no local branch yet
    b_workspaces(world).ensure_worktrees()
    tip = git(world.a.worktree(), "rev-parse", "HEAD").strip()
    assert git(world.b.worktree(), "rev-parse", "HEAD").strip() == tip
    assert git(world.b.api, "rev-parse", "--abbrev-ref", f"specflow/{CHANGE}@{{upstream}}").strip() == (
        f"origin/specflow/{CHANGE}"
    )


def test_pull_fast_forwards_the_worktree_and_refuses_over_local_changes_or_a_diverged_branch(world: World) -> None:
    change = start_change(world.a)
    change.push()
    b_change = Change.named(Hub.open(world.b.hub), CHANGE)
    b_change.pull()
    b_workspaces(world).ensure_worktrees()

    world.a.commit_in_worktree("second.py", "2\n")
    change.push()
    result = b_change.pull()
    assert (result.repos[1].outcome, result.repos[1].worktree) == ("fast-forwarded", world.b.worktree())
    assert (world.b.worktree() / "second.py").read_text() == "2\n"

    world.a.commit_in_worktree("third.py", "3\n")
    change.push()
    (world.b.worktree() / "login.py").write_text("edited on beta\n")
    before = git(world.b.api, "rev-parse", f"specflow/{CHANGE}")
    with pytest.raises(RemoteError) as refused:
        b_change.pull()
    assert "nothing was changed" in refused.value.message
    assert f"api: the worktree {world.b.worktree()} has 1 local change(s) (login.py)" in refused.value.message
    assert git(world.b.api, "rev-parse", f"specflow/{CHANGE}") == before
    assert (world.b.worktree() / "login.py").read_text() == "edited on beta\n"

    git(world.b.worktree(), "commit", "-q", "-am", "beta's edit")
    with pytest.raises(RemoteError) as diverged:
        b_change.pull()
    assert f"api: specflow/{CHANGE} has diverged from origin/specflow/{CHANGE}" in diverged.value.message
    assert f"(git -C {world.b.worktree()} merge origin/specflow/{CHANGE};" in diverged.value.message


def test_push_refuses_when_the_remote_moved_on_and_names_the_fix(world: World) -> None:
    change = start_change(world.a)
    change.push()
    b_change = Change.named(Hub.open(world.b.hub), CHANGE)
    b_change.pull()
    b_workspaces(world).ensure_worktrees()
    world.b.commit_in_worktree("from_beta.py", "b\n")
    b_change.push()
    world.a.commit_in_worktree("from_alpha.py", "a\n")
    with pytest.raises(RemoteError) as refused:
        change.push()
    assert "api:" in refused.value.message and "rejected" in refused.value.message
    assert refused.value.fix is not None and f"specflow pull {CHANGE}" in refused.value.fix


def test_push_without_a_remote_or_a_branch_says_what_to_do(world: World, cli: Any) -> None:
    git(world.a.api, "remote", "remove", "origin")
    start_change(world.a)
    code, _, err = cli("-C", world.a.hub, "push", CHANGE)
    assert code == 1
    assert f"api ({world.a.api}) has no remote 'origin'; fix: git -C {world.a.api} remote add origin URL" in err
    assert not remote_refs(world.remote_hub, "refs/heads/specflow/")  # nothing was pushed anywhere
    previous_layout_change(world.a, "other")
    code, _, err = cli("-C", world.a.hub, "push", "other")
    assert code == 1 and "has no branch specflow/other" in err
    assert "fix: advance it first ('specflow advance other')" in err


def test_the_cli_pushes_and_pulls_and_advance_on_a_clone_without_the_change_says_to_pull(
    world: World, cli: Any
) -> None:
    start_change(world.a)
    code, out, err = cli("-C", world.a.hub, "push", CHANGE)
    assert code == 0, err
    assert f"api: specflow/{CHANGE} pushed on origin" in out and "1 checkpoint ref(s)" in out
    code, _, err = cli("-C", world.b.hub, "advance", CHANGE)
    assert code == 1
    assert f"change '{CHANGE}' is not in this clone, but a remote has its branches" in err
    assert f"fix: bring it here with 'specflow pull {CHANGE}'" in err
    code, out, err = cli("-C", world.b.hub, "pull", CHANGE)
    assert code == 0, err
    assert f"api: specflow/{CHANGE} created from origin/specflow/{CHANGE}" in out
    assert f"hub: specflow/{CHANGE} created from origin/specflow/{CHANGE}" in out
    assert f"worktree {Hub.open(world.b.hub).worktree_of(CHANGE)} made" in out
    code, out, err = cli("-C", world.a.hub, "push", CHANGE, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["change"] == CHANGE
    assert [(r["repo"], r["outcome"], r["checkpoints"]) for r in doc["repos"]] == [
        ("hub", "up-to-date", 1),
        ("api", "up-to-date", 1),  # the change's worktree only: the person's checkout is never snapshot
    ]
    code, out, err = cli("-C", world.b.hub, "pull", CHANGE, "--json")
    assert code == 0, err
    assert [r["outcome"] for r in json.loads(out)["repos"]] == ["up-to-date", "up-to-date"]
    code, out, err = cli("-C", world.b.hub, "pull", CHANGE, "--remote", "nowhere")
    assert code == 1 and "the hub" in err and "has no remote 'nowhere'" in err


def test_new_refuses_an_id_whose_branch_this_clone_fetched_and_says_to_pull_it(world: World, cli: Any) -> None:
    Hub.open(world.a.hub).new_change(CHANGE).push()
    git(world.b.hub, "fetch", "-q", "origin")  # fetched only: no local branch, no worktree
    code, _, err = cli("-C", world.b.hub, "new", CHANGE)
    assert code == 1
    assert f"change '{CHANGE}' exists on a remote: this clone has fetched its branch origin/specflow/{CHANGE}" in err
    assert f"fix: continue it here with 'specflow pull {CHANGE}'" in err
    assert not Hub.open(world.b.hub).worktree_of(CHANGE).exists()
    assert not git(world.b.hub, "branch", "--list", f"specflow/{CHANGE}").strip()


def test_pull_of_a_change_no_remote_has_says_so(world: World, cli: Any) -> None:
    code, _, err = cli("-C", world.b.hub, "pull", "ghost")
    assert code == 1
    assert "no remote has branch specflow/ghost of change 'ghost'" in err and "specflow push ghost" in err


def test_a_change_is_pushed_when_every_branch_of_it_is_on_its_remote_at_the_same_commit(world: World) -> None:
    with world.a.active():
        start_change(world.a)
        hub = Hub.open(world.a.hub)
        assert not is_pushed(hub.root, hub.config, CHANGE)  # no branch of it tracks a remote yet
        hub.change(CHANGE).push()
        assert is_pushed(hub.root, hub.config, CHANGE)
        world.a.commit_in_worktree("more.py", "print('more')\n")  # the api branch is ahead now
        assert not is_pushed(hub.root, hub.config, CHANGE)
        hub.change(CHANGE).push()
        assert is_pushed(hub.root, hub.config, CHANGE)
    # beta never pulled the change: its lease is looked up on the hub's origin all the same
    b = Hub.open(world.b.hub)
    assert not is_pushed(b.root, b.config, CHANGE)
    found = lease_remote_anywhere(change_repos(b.root, b.config), CHANGE)
    assert found is not None and (found[0].root, found[1]) == (world.b.hub, "origin")
