"""The queue across machines through a pushed change: a real PostgreSQL, two clones of a hub and of
its repo sharing bare remotes, a worker for each machine.

A change whose branches are pushed is queued for any machine; the worker that takes it pulls it,
holds its lease, runs the phase and pushes it.  A worker killed with ``kill -9`` in the middle of
such a phase leaves its lease to expire; the other machine's worker then recovers the run,
records the lost attempt as interrupted once, runs the phase again and pushes it; the killed
machine, restarted, runs nothing again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from specflow import Hub
from specflow.engine.lease import holder_of
from specflow.queue.heartbeats import Heartbeats
from specflow.queue.place import database_for
from tests.conftest import commit_all, git, wait_until
from tests.queue.conftest import AGENT, WorkerProcess, new_worker, started
from tests.queue.postgres import Postgres
from tests.remote_world import CHANGE, Machine, World, make_world

Cli = Callable[..., tuple[int, str, str]]

#: Seconds a lease lasts in these tests: a killed machine's lease expires quickly.
LEASE_S = 3


@pytest.fixture
def world(tmp_path: Path, postgres: Postgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Machines ``alpha`` and ``beta`` with the holding agent, one queue database on PostgreSQL."""
    made = make_world(tmp_path, lease_seconds=LEASE_S)
    (made.a.hub / "agents" / "scripted.py").write_text(AGENT, encoding="utf-8")
    commit_all(made.a.hub, "the agent that can hold mid-phase")
    git(made.a.hub, "push", "-q", "origin", "main")
    git(made.b.hub, "pull", "-q", "origin", "main")
    monkeypatch.setenv("SPECFLOW_QUEUE_DATABASE", postgres.url(f"queue_{uuid.uuid4().hex[:8]}"))
    yield made


def _history(machine: Machine, change_id: str = CHANGE) -> list[dict[str, object]]:
    return [dict(e) for e in Hub.open(machine.hub).change(change_id).history()]


def _outcomes(machine: Machine, change_id: str = CHANGE) -> list[str]:
    return [str(e["outcome"]) for e in _history(machine, change_id)]


def _worker(machine: Machine, workers: list[WorkerProcess]) -> WorkerProcess:
    return new_worker(machine.hub, machine.name, workers, SPECFLOW_MACHINE=machine.name)


def _remote_tip(world: World, change_id: str = CHANGE) -> str:
    out = git(world.remote_hub, "rev-parse", "--verify", "--quiet", f"refs/heads/specflow/{change_id}")
    return out.strip()


def _pushed_change(world: World, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """Machine alpha makes the change and pushes its branches."""
    monkeypatch.setenv("SPECFLOW_MACHINE", world.a.name)
    Hub.open(world.a.hub).new_change(CHANGE)
    code, _, err = cli("-C", world.a.hub, "push", CHANGE)
    assert code == 0, err


def test_a_pushed_change_is_queued_for_any_machine_and_the_worker_pulls_runs_and_pushes_it(
    world: World, cli: Cli, workers: list[WorkerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    _pushed_change(world, cli, monkeypatch)
    code, out, err = cli("-C", world.a.hub, "advance", CHANGE, "--queue")
    assert code == 0, err
    assert f"{CHANGE}: advance queued for any machine (queue specflow@any)" in out
    assert "the first free worker of any machine pulls it" in out
    # only beta runs a worker, and beta has never pulled the change
    beta = _worker(world.b, workers).start()
    assert "the shared specflow@any" in beta.output
    wait_until(lambda: f"{CHANGE}: draft -> think succeeded" in beta.output, "beta's worker to run the phase")
    assert _outcomes(world.b) == ["created", "succeeded"]
    assert _history(world.b)[-1]["machine"] == "beta"
    # beta pushed the phase before it let the lease go
    assert _remote_tip(world) == git(world.b.hub, "rev-parse", f"refs/heads/specflow/{CHANGE}").strip()
    assert holder_of(world.a.hub, Hub.open(world.a.hub).config, CHANGE) is None
    code, out, err = cli("-C", world.a.hub, "pull", CHANGE)
    assert code == 0, err
    assert Hub.open(world.a.hub).change(CHANGE).state == "think"
    assert _outcomes(world.a) == ["created", "succeeded"]


def test_a_change_with_unpushed_commits_stays_on_the_machine_holding_it(
    world: World, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pushed_change(world, cli, monkeypatch)
    Hub.open(world.a.hub).change(CHANGE).advance()  # a phase committed here, not pushed
    code, out, err = cli("-C", world.a.hub, "advance", CHANGE, "--queue")
    assert code == 0, err
    assert f"{CHANGE}: advance queued for machine 'alpha' (queue specflow-alpha)" in out


def test_a_worker_killed_mid_phase_of_a_pushed_change_is_finished_by_the_other_machine_after_the_lease_expires(
    world: World, cli: Cli, workers: list[WorkerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    _pushed_change(world, cli, monkeypatch)
    ctl_a, ctl_b = world.a.hub.parent, world.b.hub.parent
    (ctl_a / "hold").write_text("")  # alpha's agent holds mid-phase; beta's (another folder) does not
    alpha = _worker(world.a, workers).start()
    assert cli("-C", world.a.hub, "advance", CHANGE, "--queue")[0] == 0
    wait_until(lambda: len(started(ctl_a, "think")) == 1, "alpha's agent to start")
    config = Hub.open(world.a.hub).config
    holder = holder_of(world.a.hub, config, CHANGE)
    assert holder is not None and holder.machine == "alpha"
    beta = _worker(world.b, workers).start()
    alpha.kill9()
    # alpha renewed its lease while it ran; now nobody does: once it expires, beta takes the run
    wait_until(lambda: "machine 'alpha' stopped in the middle of a phase" in beta.output, "beta to find alpha dead")
    wait_until(lambda: f"{CHANGE}: draft -> think succeeded" in beta.output, "beta to finish the phase", timeout_s=90)
    assert f"{CHANGE}: took over the expired lease of machine 'alpha'" in beta.output
    history = _history(world.b)
    assert [e["outcome"] for e in history] == ["created", "interrupted", "succeeded"]
    lost, redone = history[1], history[2]
    assert (lost["machine"], lost["from"], lost["to"], lost["attempt"]) == ("alpha", "draft", "think", 1)
    assert "stopped renewing the change's lease" in str(lost["reasons"])
    assert (redone["machine"], redone["attempt"]) == ("beta", 2)
    assert Hub.open(world.b.hub).change(CHANGE).state == "think"
    assert not started(ctl_b, "think")  # beta's agent never held: it ran once, to the end
    # beta pushed it all before it let the lease go
    assert _remote_tip(world) == git(world.b.hub, "rev-parse", f"refs/heads/specflow/{CHANGE}").strip()
    wait_until(lambda: holder_of(world.a.hub, config, CHANGE) is None, "the lease to be released")
    # alpha comes back: its agents go on at once, so any phase it ran would be counted
    (ctl_a / "go").write_text("")
    alpha.start()
    # DBOS gives alpha's worker nothing back: beta's worker had taken the run and finished it
    assert "0 run(s) left pending by this machine taken back" in alpha.output.split("worker for machine")[-1]
    monkeypatch.setenv("SPECFLOW_MACHINE", "alpha")
    Hub.open(world.a.hub).new_change("add-search")
    assert cli("-C", world.a.hub, "advance", "add-search", "--queue", "--machine", "alpha")[0] == 0
    wait_until(lambda: "add-search: draft -> think succeeded" in alpha.output, "alpha's worker to work again")
    assert len(started(ctl_a, "think")) == 2  # the killed attempt and add-search: add-login not again
    assert CHANGE not in alpha.output.split("worker for machine")[-1]
    assert _outcomes(world.b) == ["created", "interrupted", "succeeded"]
    # alpha still has its killed attempt in flight, never committed; pulling drops it (beta recorded
    # it) and brings beta's phase: the attempt stays recorded once
    assert Hub.open(world.a.hub).change(CHANGE).record["in_flight"]  # type: ignore[index]
    code, _, err = cli("-C", world.a.hub, "pull", CHANGE)
    assert code == 0, err
    assert _outcomes(world.a) == ["created", "interrupted", "succeeded"]
    assert Hub.open(world.a.hub).change(CHANGE).state == "think"
    assert not Hub.open(world.a.hub).change(CHANGE).record["in_flight"]  # type: ignore[index]


def test_a_killed_worker_restarted_after_its_lease_expired_takes_its_run_back_and_renews_the_lease_first(
    world: World, cli: Cli, workers: list[WorkerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    _pushed_change(world, cli, monkeypatch)
    ctl_a = world.a.hub.parent
    (ctl_a / "hold").write_text("")
    alpha = _worker(world.a, workers).start()
    assert cli("-C", world.a.hub, "advance", CHANGE, "--queue")[0] == 0
    wait_until(lambda: len(started(ctl_a, "think")) == 1, "alpha's agent to start")
    alpha.kill9()
    config = Hub.open(world.a.hub).config
    wait_until(lambda: (h := holder_of(world.a.hub, config, CHANGE)) is not None and h.expired(), "the lease to expire")
    (ctl_a / "go").write_text("")
    alpha.start()
    assert "1 run(s) left pending by this machine taken back" in alpha.output.split("worker for machine")[-1]
    # renewed before DBOS gave the run back: no other machine's worker may declare alpha dead now
    holder = holder_of(world.a.hub, config, CHANGE)
    assert holder is not None and holder.machine == "alpha" and not holder.expired()
    wait_until(lambda: f"{CHANGE}: draft -> think succeeded" in alpha.output, "alpha to run the phase again")
    history = _history(world.a)
    assert [e["outcome"] for e in history] == ["created", "interrupted", "succeeded"]
    assert history[1]["checkpoint"] is not None  # alpha's own record of its attempt, recovered here
    assert len(started(ctl_a, "think")) == 2
    assert _remote_tip(world) == git(world.a.hub, "rev-parse", f"refs/heads/specflow/{CHANGE}").strip()


def test_a_run_waiting_for_an_approval_stays_with_its_machine_while_that_machine_is_seen(
    world: World, cli: Cli, workers: list[WorkerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    _pushed_change(world, cli, monkeypatch)
    for _ in range(2):  # draft -> think -> write, whose way on needs a person's approval
        code, _, err = cli("-C", world.a.hub, "advance", CHANGE)
        assert code == 0, err
    assert cli("-C", world.a.hub, "push", CHANGE)[0] == 0
    alpha = _worker(world.a, workers).start()
    assert cli("-C", world.a.hub, "advance", CHANGE, "--queue")[0] == 0
    wait_until(lambda: f"{CHANGE}: waiting for a person's approval" in alpha.output, "alpha's run to wait")
    beta = _worker(world.b, workers).start()
    # beta looks for gone machines every second (a third of the lease); alpha says it is alive as often
    time.sleep(2 * LEASE_S + 1)
    heartbeats = Heartbeats(database_for(Hub.open(world.a.hub)))
    try:
        silent = heartbeats.silent()
    finally:
        heartbeats.close()
    assert silent["alpha"] < LEASE_S and silent["beta"] < LEASE_S
    assert "has not been seen" not in beta.output
    code, _, err = cli("-C", world.a.hub, "approve", CHANGE)
    assert code == 0, err
    wait_until(lambda: f"{CHANGE}: write -> done succeeded" in alpha.output, "alpha to finish its run")
    assert CHANGE not in beta.output.split("worker for machine")[-1]
    assert _outcomes(world.a) == ["created", "succeeded", "succeeded", "blocked", "approved", "succeeded"]
