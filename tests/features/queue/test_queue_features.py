"""Step definitions for queue.feature: a real worker process, the real CLI, SQLite under the hub."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pytest_bdd import given, scenarios, then, when

from tests.conftest import HubFixture, wait_until
from tests.features.world import World, phrase
from tests.queue.conftest import AGENT, WorkerProcess, new_worker, started

scenarios("queue.feature")


@pytest.fixture
def queue_workers(hub: HubFixture) -> Iterator[dict[str, WorkerProcess]]:
    """The scenario's workers by machine; stopped at teardown, their agents let go."""
    by_machine: dict[str, WorkerProcess] = {}
    yield by_machine
    (hub.root.parent / "go").write_text("teardown")
    for worker in by_machine.values():
        worker.end()


@given("a hub with the mini workflow and an agent that writes what it is asked", target_fixture="world")
def queue_world(hub: HubFixture, make_world: Callable[..., World]) -> World:
    hub.agent("scripted", AGENT)
    return make_world(hub.root)


@given("the agent holds in the middle of its phase")
def agent_holds(world: World) -> None:
    (world.root.parent / "hold").write_text("")


@given(phrase("the worker of machine {machine:Q} is running"))
@when(phrase("the worker of machine {machine:Q} starts"))
def worker_starts(world: World, queue_workers: dict[str, WorkerProcess], machine: str) -> None:
    if machine not in queue_workers:
        queue_workers[machine] = new_worker(world.root, machine, [])
    queue_workers[machine].start()


@when(phrase("the worker of {machine:Q} is killed with kill -9"))
def worker_killed(queue_workers: dict[str, WorkerProcess], machine: str) -> None:
    queue_workers[machine].kill9()


@when(phrase("the agent has started {times:d} time"))
@when(phrase("the agent has started {times:d} times"))
def agent_started(world: World, times: int) -> None:
    wait_until(lambda: len(started(world.root.parent, "think")) == times, f"the agent's start #{times}")


@when("the agent is let go")
def let_go(world: World) -> None:
    (world.root.parent / "go").write_text("")


@then(phrase("the worker of {machine:Q} says {text:Q}"))
def worker_says(queue_workers: dict[str, WorkerProcess], machine: str, text: str) -> None:
    wait_until(lambda: text in queue_workers[machine].output, f"the worker to say {text!r}")


@then(phrase("the change {cid:Q} reaches the state {state:Q}"))
def reaches(world: World, cid: str, state: str) -> None:
    wait_until(lambda: world.state(cid)["state"] == state and not world.state(cid).get("in_flight"), state)


@then(phrase("the history of {cid:Q} ends with {outcomes:Q}"))
def history_ends_with(world: World, cid: str, outcomes: str) -> None:
    expected = [o.strip() for o in outcomes.split(",")]
    wait_until(lambda: [e["outcome"] for e in world.history(cid)][-len(expected) :] == expected, outcomes)
