"""Step definitions for machines.feature: two clones sharing bare remotes, one PostgreSQL queue
database, a real worker process for each machine, the real CLI and real git.

The machines are two clones on this host, each run under its own ``SPECFLOW_MACHINE``; the
scenario's ``world`` runs commands in the hub of the machine a step names.  Leases last 3 s here,
so a killed machine's lease expires within the scenario.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_bdd import given, scenarios, then, when

from specflow.engine.hub import Hub
from tests.conftest import commit_all, git, wait_until
from tests.features.world import World, phrase
from tests.queue.conftest import AGENT, WorkerProcess, new_worker, started
from tests.queue.postgres import Postgres
from tests.remote_world import Machine, make_world

scenarios("machines.feature")

LEASE_S = 3


class Machines(dict[str, Machine]):
    """The scenario's machines by name."""


@pytest.fixture
def machines() -> Machines:
    return Machines()


@pytest.fixture
def machine_workers() -> Iterator[dict[str, WorkerProcess]]:
    """The scenario's workers by machine; stopped at teardown, their agents let go."""
    by_machine: dict[str, WorkerProcess] = {}
    yield by_machine
    for worker in by_machine.values():
        (worker.hub.parent / "go").write_text("teardown")
        worker.end()


def use(world: World, machines: Machines, name: str, monkeypatch: pytest.MonkeyPatch) -> Machine:
    """Make ``name`` the machine the next commands run on."""
    machine = machines[name]
    world.root = machine.hub
    monkeypatch.setenv("SPECFLOW_MACHINE", name)
    return machine


def outcomes(machine: Machine, cid: str) -> list[str]:
    return [str(e["outcome"]) for e in Hub.open(machine.hub).change(cid).history()]


# -- givens ---------------------------------------------------------------------------------------


@given(
    phrase("two machines {a:Q} and {b:Q} sharing one queue database and the remotes of one hub"),
    target_fixture="world",
)
def two_machines(
    a: str,
    b: str,
    tmp_path: Path,
    machines: Machines,
    postgres: Postgres,
    make_world: Callable[[Path], World],
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    assert (a, b) == ("alpha", "beta"), "the remote world names its machines alpha and beta"
    made = make_world_of_two(tmp_path)
    machines.update({"alpha": made[0], "beta": made[1]})
    monkeypatch.setenv("SPECFLOW_QUEUE_DATABASE", postgres.url(f"queue_{uuid.uuid4().hex[:8]}"))
    return make_world(made[0].hub)


def make_world_of_two(tmp_path: Path) -> tuple[Machine, Machine]:
    """The remote world with the agent that can hold mid-phase, and short leases."""
    world = make_world(tmp_path, lease_seconds=LEASE_S)
    (world.a.hub / "agents" / "scripted.py").write_text(AGENT, encoding="utf-8")
    commit_all(world.a.hub, "the agent that can hold mid-phase")
    git(world.a.hub, "push", "-q", "origin", "main")
    git(world.b.hub, "pull", "-q", "origin", "main")
    return world.a, world.b


@given(phrase("on {name:Q} the change {cid:Q} was made and pushed"))
def made_and_pushed(world: World, machines: Machines, name: str, cid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use(world, machines, name, monkeypatch)
    world.run_ok("new", cid)
    world.run_ok("push", cid)


@given(phrase("on {name:Q} the change {cid:Q} was advanced to {state:Q} and pushed"))
def advanced_and_pushed(
    world: World, machines: Machines, name: str, cid: str, state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(world, machines, name, monkeypatch)
    for _ in range(2):
        if Hub.open(machines[name].hub).change(cid).state == state:
            break
        world.run_ok("advance", cid)
    assert Hub.open(machines[name].hub).change(cid).state == state
    world.run_ok("push", cid)


@given(phrase("the agent of {name:Q} holds in the middle of its phase"))
def agent_holds(machines: Machines, name: str) -> None:
    (machines[name].hub.parent / "hold").write_text("")


@given(phrase("the worker of {name:Q} starts"))
@when(phrase("the worker of {name:Q} starts"))
@when(phrase("the worker of {name:Q} starts again"))
def worker_starts(machines: Machines, machine_workers: dict[str, WorkerProcess], name: str) -> None:
    if name not in machine_workers:
        machine = machines[name]
        machine_workers[name] = new_worker(machine.hub, name, [], SPECFLOW_MACHINE=name)
    machine_workers[name].start()


# -- whens ----------------------------------------------------------------------------------------


@when(phrase("on {name:Q} I run {command:Q}"))
def run_on(world: World, machines: Machines, name: str, command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use(world, machines, name, monkeypatch)
    program, *args = command.split()
    assert program == "specflow", f"a step runs specflow, not {program!r}"
    world.run(*args)


@when(phrase("the agent of {name:Q} has started"))
def agent_started(machines: Machines, name: str) -> None:
    wait_until(lambda: len(started(machines[name].hub.parent, "think")) == 1, f"the agent of {name} to start")


@when(phrase("the worker of {name:Q} is killed with kill -9"))
def worker_killed(machine_workers: dict[str, WorkerProcess], name: str) -> None:
    machine_workers[name].kill9()


# -- thens ----------------------------------------------------------------------------------------


@then(phrase("the worker of {name:Q} says {text:Q}"))
def worker_says(machine_workers: dict[str, WorkerProcess], name: str, text: str) -> None:
    """Said since the worker's latest start."""
    worker = machine_workers[name]
    wait_until(lambda: text in worker.output.split("worker for machine")[-1], f"the worker of {name} to say {text!r}")


@then(phrase("on {name:Q} the change {cid:Q} reaches the state {state:Q}"))
def reaches(machines: Machines, name: str, cid: str, state: str) -> None:
    """Read from the change's state file, wherever its worktree of the hub is: opening the change
    through the API would make that worktree, racing the worker that pulls it."""
    pattern = f".specflow/worktrees/{cid}/*/openspec/changes/{cid}/.specflow/state.json"

    def there() -> bool:
        for path in machines[name].hub.glob(pattern):
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:  # written now
                return False
            return bool(record.get("state") == state and not record.get("in_flight"))
        return False

    # Well under the minute a run waiting for an approval sleeps between re-reads of the change
    # when nothing wakes it (flow.APPROVAL_RECHECK_S): the push must wake it.
    wait_until(there, f"{cid} to reach {state} on {name}", timeout_s=30)


@then(phrase("the remote has the change {cid:Q} as {name:Q} left it"))
def remote_has_it(machines: Machines, cid: str, name: str) -> None:
    """The hub branch on the remote is the machine's: its worker pushed before it let the lease go."""
    machine, branch = machines[name], f"refs/heads/specflow/{cid}"
    remote = git(machine.hub, "remote", "get-url", "origin").strip()
    worktree = Hub(machine.hub).worktree_of(cid)

    def pushed() -> bool:
        if git(worktree, "status", "--porcelain"):  # the phase's records are written, not yet committed
            return False
        theirs = git(machine.hub, "ls-remote", remote, branch).split("\t")[0]
        return theirs == git(machine.hub, "rev-parse", branch).strip()

    wait_until(pushed, f"the remote to have {cid} as {name} left it")


@then(phrase("on {name:Q} the history of {cid:Q} reads {expected:Q}"))
def history_reads(machines: Machines, name: str, cid: str, expected: str) -> None:
    """Waited for: a phase's state is written a moment before its history line."""
    wanted = [o.strip() for o in expected.split(",")]
    wait_until(lambda: outcomes(machines[name], cid) == wanted, f"the history of {cid} on {name} to read {expected}")


@then(phrase("on {name:Q} the interrupted attempt of {cid:Q} is recorded as run on {ran_on:Q}"))
def interrupted_ran_on(machines: Machines, name: str, cid: str, ran_on: str) -> None:
    lost = [e for e in Hub.open(machines[name].hub).change(cid).history() if e["outcome"] == "interrupted"]
    assert [e.get("machine") for e in lost] == [ran_on]


@then(phrase("the agent of {name:Q} has started only once"))
def started_once(machines: Machines, name: str) -> None:
    assert len(started(machines[name].hub.parent, "think")) == 1
