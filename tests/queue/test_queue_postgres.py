"""The queue across machines: a real PostgreSQL, two clones of the hub, a worker for each machine."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from specflow import Hub
from tests.conftest import HubFixture, git, wait_until
from tests.queue.conftest import WorkerProcess, new_worker, started
from tests.queue.postgres import Postgres

Cli = Callable[..., tuple[int, str, str]]


def _clone(hub: HubFixture) -> HubFixture:
    """Machine B's clone of the hub (beside machine A's, each with its own control folder)."""
    target = hub.root.parent / "machine-b" / "hub"
    target.parent.mkdir()
    git(hub.root.parent, "clone", "-q", str(hub.root), str(target))
    (target / "specflow.yaml").write_text((hub.root / "specflow.yaml").read_text())
    return HubFixture(target)


def _history(hub: HubFixture, change_id: str) -> list[str]:
    return [str(e["outcome"]) for e in Hub.open(hub.root).change(change_id).history()]


def test_two_machines_share_one_database_and_each_runs_its_own_phases(
    queue_hub: HubFixture, postgres: Postgres, cli: Cli, workers: list[WorkerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres.url(f"queue_{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("SPECFLOW_QUEUE_DATABASE", url)
    machine_b = _clone(queue_hub)
    Hub.open(queue_hub.root).new_change("add-login")
    Hub.open(machine_b.root).new_change("add-search")
    a = new_worker(queue_hub.root, "laptop", workers).start()
    b = new_worker(machine_b.root, "desktop", workers).start()
    assert "queue specflow-laptop" in a.output and "(SPECFLOW_QUEUE_DATABASE)" in a.output
    assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "laptop")[0] == 0
    assert cli("-C", machine_b.root, "advance", "add-search", "--queue", "--machine", "desktop")[0] == 0
    wait_until(lambda: _history(queue_hub, "add-login")[-1] == "succeeded", "laptop's phase")
    wait_until(lambda: _history(machine_b, "add-search")[-1] == "succeeded", "desktop's phase")
    # each phase ran on the machine it was queued for (the worker says so just after it is recorded)
    wait_until(lambda: "add-login: draft -> think succeeded" in a.output, "laptop's worker to say so")
    wait_until(lambda: "add-search: draft -> think succeeded" in b.output, "desktop's worker to say so")
    assert "add-search" not in a.output and "add-login" not in b.output


def test_a_worker_killed_mid_phase_finishes_the_phase_after_its_restart_while_the_other_works_on(
    queue_hub: HubFixture, postgres: Postgres, cli: Cli, workers: list[WorkerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPECFLOW_QUEUE_DATABASE", postgres.url(f"queue_{uuid.uuid4().hex[:8]}"))
    machine_b = _clone(queue_hub)
    Hub.open(queue_hub.root).new_change("add-login")
    Hub.open(machine_b.root).new_change("add-search")
    ctl = queue_hub.root.parent
    (ctl / "hold").write_text("")  # laptop's agent holds mid-phase; desktop's (another folder) does not
    laptop = new_worker(queue_hub.root, "laptop", workers).start()
    desktop = new_worker(machine_b.root, "desktop", workers).start()
    assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "laptop")[0] == 0
    wait_until(lambda: len(started(ctl, "think")) == 1, "laptop's agent to start")
    laptop.kill9()
    # the other machine keeps working meanwhile
    assert cli("-C", machine_b.root, "advance", "add-search", "--queue", "--machine", "desktop")[0] == 0
    wait_until(lambda: _history(machine_b, "add-search")[-1] == "succeeded", "desktop's phase")
    assert "add-login" not in desktop.output  # laptop's workflow stays on laptop's queue
    laptop.start()
    wait_until(lambda: len(started(ctl, "think")) == 2, "the phase to run again on laptop")
    (ctl / "go").write_text("")
    wait_until(lambda: _history(queue_hub, "add-login")[-1] == "succeeded", "laptop's phase")
    assert _history(queue_hub, "add-login") == ["created", "interrupted", "succeeded"]
    assert Hub.open(queue_hub.root).change("add-login").state == "think"
