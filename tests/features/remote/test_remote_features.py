"""Step definitions for machines.feature: two clones, bare remotes, the real CLI and real git.

The two machines are two clones on this host, each run under its own ``SPECFLOW_MACHINE``.  The
scenario's ``world`` runs commands in the hub of the machine a step names ("on "beta" ...").
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_bdd import given, scenarios, then, when

from specflow.engine.hub import Hub
from specflow.engine.lease import Lease
from specflow.workspace.git import GitRepo
from specflow.workspace.remote import change_repos, lease_remote
from tests.conftest import commit_all, git
from tests.features.world import World, phrase
from tests.remote_world import Machine, make_world, remote_refs

scenarios("machines.feature")

# Two phases, each in the change's worktrees: the agent adds a line to the api repo's work log
# naming the phase and its machine, and commits it on the change's branch.
WORKFLOW = """\
workflow: relay
version: 1
description: Two phases in the change's worktrees, for the several-machines feature.
initial: draft
states:
  draft: {}
  first:
    prompt: phase.md.j2
    workspace:
      worktrees: true
  second:
    prompt: phase.md.j2
    workspace:
      worktrees: true
  done:
    final: true
scenarios:
  - scenario: First phase
    given: [the change exists]
    when: advance
    from: draft
    to: first
  - scenario: Second phase
    when: advance
    from: first
    to: second
  - scenario: Done
    when: advance
    from: second
    to: done
"""

AGENT = """\
import os, pathlib, subprocess, sys
sys.stdin.read()
here = pathlib.Path.cwd()
api = here / 'api' if (here / 'api').is_dir() else here
log = api / 'work.log'
with log.open('a') as fh:
    fh.write(os.environ['SPECFLOW_PHASE'] + ' on ' + os.environ['SPECFLOW_MACHINE'] + '\\n')
subprocess.run(['git', 'add', 'work.log'], cwd=api, check=True)
subprocess.run(['git', 'commit', '-q', '-m', 'work log'], cwd=api, check=True)
print('logged')
"""


class Machines(dict[str, Machine]):
    """The scenario's machines by name."""


@pytest.fixture
def machines() -> Machines:
    return Machines()


def use(world: World, machines: Machines, name: str, monkeypatch: pytest.MonkeyPatch) -> Machine:
    """Make ``name`` the machine the next commands run on."""
    machine = machines[name]
    world.root = machine.hub
    monkeypatch.setenv("SPECFLOW_MACHINE", name)
    return machine


# -- givens ---------------------------------------------------------------------------------------


@given(phrase("two machines {a:Q} and {b:Q} with clones of one hub and of its repo {repo:Q}"), target_fixture="world")
def two_machines(
    a: str, b: str, repo: str, tmp_path: Path, machines: Machines, make_world: Callable[[Path], World]
) -> World:
    assert (a, b, repo) == ("alpha", "beta", "api"), "the remote world names its machines alpha and beta"
    alpha, beta = make_world_of_two(tmp_path)
    machines.update({"alpha": alpha, "beta": beta})
    return make_world(alpha.hub)


def make_world_of_two(tmp_path: Path) -> tuple[Machine, Machine]:
    world = make_world(tmp_path, lease_seconds=2)
    hub = world.a.hub
    (hub / "openspec" / "workflows" / "relay.yaml").write_text(WORKFLOW, encoding="utf-8")
    (hub / "openspec" / "templates" / "phase.md.j2").write_text("Phase {{ phase.name }}.\n", encoding="utf-8")
    (hub / "agents" / "scripted.py").write_text(AGENT, encoding="utf-8")
    config = hub / "specflow.yaml"
    config.write_text(config.read_text().replace("default_workflow: mini", "default_workflow: relay"))
    commit_all(hub, "the relay workflow")
    git(hub, "push", "-q", "origin", "main")
    git(world.b.hub, "pull", "-q", "origin", "main")
    return world.a, world.b


@given(phrase("on {name:Q} the change {cid:Q} exists"))
def change_exists(world: World, machines: Machines, name: str, cid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use(world, machines, name, monkeypatch)
    world.run_ok("new", cid, "--repo", "api")


@given(phrase("on {name:Q} the change {cid:Q} has run its first phase"))
def first_phase(world: World, machines: Machines, name: str, cid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    change_exists(world, machines, name, cid, monkeypatch)
    world.run_ok("advance", cid)


@given(phrase("{a:Q} pushed it and {b:Q} pulled it"))
def pushed_and_pulled(world: World, machines: Machines, a: str, b: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use(world, machines, a, monkeypatch)
    world.run_ok("push", "add-login")
    use(world, machines, b, monkeypatch)
    world.run_ok("pull", "add-login")


def lease_place(machine: Machine, cid: str) -> tuple[GitRepo, str]:
    """Where specflow keeps the change's lease: the remote its hub branch tracks."""
    hub = Hub.open(machine.hub)
    where = lease_remote(change_repos(hub.root, hub.config), cid)
    assert where is not None and where[0].root == hub.root, where  # the hub's branch tracks origin
    return where


@given(phrase("{name:Q} holds the lease of {cid:Q} for {seconds:d} seconds, as a run that died leaves it"))
def holds_lease(machines: Machines, name: str, cid: str, seconds: int) -> None:
    Lease.take(*lease_place(machines[name], cid), cid, seconds=seconds, machine=name)


# -- whens ----------------------------------------------------------------------------------------


@when(phrase("on {name:Q} I run {command:Q}"))
def run_on(world: World, machines: Machines, name: str, command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use(world, machines, name, monkeypatch)
    program, *args = command.split()
    assert program == "specflow", command
    world.run(*args)


@when(phrase("on {name:Q} I try to advance {cid:Q}"))
def try_advance_on(world: World, machines: Machines, name: str, cid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use(world, machines, name, monkeypatch)
    world.run("advance", cid)


@when(phrase("on {name:Q} I advance {cid:Q}"))
def advance_on(world: World, machines: Machines, name: str, cid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use(world, machines, name, monkeypatch)
    world.run_ok("advance", cid)


@when(phrase("on {name:Q} I advance {cid:Q} to {state:Q}"))
def advance_on_to(
    world: World, machines: Machines, name: str, cid: str, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(world, machines, name, monkeypatch)
    world.run_ok("advance", cid, "--to", state)


@when(phrase("the lease of {name:Q} has expired"))
def lease_expired(machines: Machines, name: str) -> None:
    holder = Lease.holder(*lease_place(machines[name], "add-login"), "add-login")
    assert holder is not None and holder.machine == name
    time.sleep(max(0.0, (holder.expires.timestamp() - time.time()) + 0.1))


@when(
    phrase("{b:Q} merges the hub branch of {cid:Q} that {a:Q} pushed, through git"),
    target_fixture="merge",
)
def merge_hub_branches(machines: Machines, b: str, cid: str, a: str) -> subprocess.CompletedProcess[str]:
    """``git merge`` of the fetched branch, where ``b``'s own is checked out: its worktree of the hub."""
    pushed = git(machines[a].hub, "rev-parse", f"specflow/{cid}")
    assert git(machines[b].hub, "rev-parse", f"origin/specflow/{cid}") == pushed  # the refused pull fetched it
    return subprocess.run(
        ["git", "merge", "--no-edit", f"origin/specflow/{cid}"],
        cwd=Hub.open(machines[b].hub).worktree_of(cid),
        capture_output=True,
        text=True,
    )


# -- thens ----------------------------------------------------------------------------------------


@then(phrase("the work log in the {repo:Q} worktree on {name:Q} reads {first:Q} then {second:Q}"))
def work_log(machines: Machines, repo: str, name: str, first: str, second: str) -> None:
    log = machines[name].worktree("add-login").parent / repo / "work.log"
    assert log.read_text().splitlines() == [first, second]


@then(phrase("no machine holds the lease of {cid:Q}"))
def no_lease(machines: Machines, cid: str) -> None:
    for repo in (machines["alpha"].hub, machines["alpha"].api):
        remote = Path(git(repo, "remote", "get-url", "origin").strip())
        assert f"refs/specflow/leases/{cid}" not in remote_refs(remote), remote


@then("the merge had no conflict")
def merged_cleanly(merge: subprocess.CompletedProcess[str]) -> None:
    assert merge.returncode == 0, merge.stdout + merge.stderr
    assert "CONFLICT" not in merge.stdout


@then(phrase("on {name:Q} the change {cid:Q} is in state {state:Q}"))
def state_on(
    world: World, machines: Machines, name: str, cid: str, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(world, machines, name, monkeypatch)
    world.run_ok("status", cid, "--json")
    assert f'"state": "{state}"' in world.last.out, world.last
    assert '"status": "ok"' in world.last.out, world.last


@then(phrase("the history on {name:Q} has the attempts of {first:Q} and then of {second:Q}"))
def merged_history(world: World, machines: Machines, name: str, first: str, second: str) -> None:
    history = world.history("add-login")
    attempts = [(ev["machine"], ev["to"]) for ev in history if ev["outcome"] == "succeeded"]
    assert attempts == [(first, "first"), (second, "first"), (second, "second")], attempts
