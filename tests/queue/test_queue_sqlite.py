"""The durable queue on one machine (SQLite, no setting): enqueue, a worker, approvals, a kill -9."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

from specflow import Hub
from specflow.changestate import records
from specflow.changestate.lock import ChangeLock
from specflow.changestate.recordtypes import HistoryEvent
from specflow.queue.client import queued
from tests.conftest import HubFixture, wait_until
from tests.queue.conftest import WorkerProcess, new_worker, started
from tests.remote_world import make_world

Cli = Callable[..., tuple[int, str, str]]


def _outcomes(hub: HubFixture, change_id: str) -> list[tuple[object, object, str]]:
    return [(e.get("from"), e.get("to"), e["outcome"]) for e in Hub.open(hub.root).change(change_id).history()]


def _reaches(hub: HubFixture, change_id: str, last: tuple[object, object, str]) -> None:
    wait_until(lambda: _outcomes(hub, change_id)[-1] == last, f"{change_id} to record {last}")


def test_a_queued_advance_returns_at_once_and_a_worker_runs_it(
    queue_hub: HubFixture, cli: Cli, workers: list[WorkerProcess]
) -> None:
    Hub.open(queue_hub.root).new_change("add-login")
    code, out, err = cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1")
    assert code == 0, err
    workflow_id = out.splitlines()[0]
    assert workflow_id.startswith("specflow:add-login:")
    assert "queued for machine 'm1'" in out and "specflow worker --machine m1" in out
    assert Hub.open(queue_hub.root).change("add-login").state == "draft"  # nothing ran in place
    assert (queue_hub.root / ".specflow" / "queue" / "queue.sqlite").is_file()  # SQLite, with no setting
    worker = new_worker(queue_hub.root, "m1", workers).start()
    _reaches(queue_hub, "add-login", ("draft", "think", "succeeded"))
    wait_until(lambda: "add-login: draft -> think succeeded" in worker.output, "the worker to say so")
    assert "database sqlite:///" in worker.output
    assert worker.stop() == 0
    assert worker.output.rstrip().endswith("stopped")


def test_one_queued_advance_per_change_whatever_the_machine(queue_hub: HubFixture, cli: Cli) -> None:
    Hub.open(queue_hub.root).new_change("add-login")
    code, out, _ = cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1")
    first = out.splitlines()[0]
    for machine in ("m1", "m2"):
        code, out, err = cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", machine)
        assert code == 1 and out == ""
        assert f"change 'add-login' already has an advance queued ({first} for machine 'm1')" in err
        assert "fix: wait for it to run" in err and "--queue --cancel" in err and "Traceback" not in err


def test_a_queued_advance_goes_to_the_machine_holding_the_change(
    queue_hub: HubFixture, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    change = Hub.open(queue_hub.root).new_change("add-login")
    monkeypatch.setenv("SPECFLOW_MACHINE", "laptop")
    code, out, _ = cli("-C", queue_hub.root, "advance", "add-login", "--queue")
    assert code == 0 and "queued for machine 'laptop'" in out  # nothing says otherwise: this machine
    assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--cancel")[0] == 0
    # its last attempt ran on the desktop, and it has no worktree here: the desktop's worker runs it
    event = cast(HistoryEvent, {"trigger": "advance", "outcome": "interrupted", "machine": "desktop"})
    records.append_event(change.dir, event)
    code, out, _ = cli("-C", queue_hub.root, "advance", "add-login", "--queue")
    assert code == 0 and "queued for machine 'desktop'" in out


def test_a_workflow_waiting_for_approval_continues_when_a_person_approves(
    queue_hub: HubFixture, cli: Cli, workers: list[WorkerProcess]
) -> None:
    change = Hub.open(queue_hub.root).new_change("add-login")
    change.advance(to="write")  # in place: think, then write the proposal
    new_worker(queue_hub.root, "m1", workers).start()
    assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1")[0] == 0
    # the worker tried once, was told the proposal is not approved, and waits for the person
    _reaches(queue_hub, "add-login", ("write", "done", "blocked"))
    api = Hub.open(queue_hub.root)
    wait_until(lambda: [r.doing for r in queued(api, "add-login")] == ["waiting for approval"], "the run's status")
    assert queued(api, "add-login")[0].machine == "m1"
    assert cli("-C", queue_hub.root, "approve", "add-login", "--by", "ana")[0] == 0
    # the durable event wakes it long before its next re-read of the change (a minute)
    wait_until(lambda: _outcomes(queue_hub, "add-login")[-1][2] == "succeeded", "the approved phase", timeout_s=30)
    outcomes = [o for o in _outcomes(queue_hub, "add-login") if o[0] == "write"]
    assert outcomes == [("write", "done", "blocked"), ("write", "write", "approved"), ("write", "done", "succeeded")]
    assert Hub.open(queue_hub.root).change("add-login").state == "done"
    wait_until(lambda: queued(api) == [], "the run to finish")


def test_a_worker_killed_mid_phase_runs_the_phase_again_from_its_checkpoint_on_restart(
    queue_hub: HubFixture, cli: Cli, workers: list[WorkerProcess]
) -> None:
    ctl = queue_hub.root.parent
    Hub.open(queue_hub.root).new_change("add-login")
    (ctl / "hold").write_text("")
    worker = new_worker(queue_hub.root, "m1", workers).start()
    assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1")[0] == 0
    wait_until(lambda: len(started(ctl, "think")) == 1, "the agent to start")
    worker.kill9()
    assert Hub.open(queue_hub.root).change("add-login").record["in_flight"]  # type: ignore[index]
    worker.start()  # DBOS recovers the pending workflow of machine m1; the engine the attempt
    assert "1 run(s) left pending by this machine taken back" in worker.output.split("worker for machine")[-1]
    wait_until(lambda: len(started(ctl, "think")) == 2, "the phase to run again")
    (ctl / "go").write_text("")
    _reaches(queue_hub, "add-login", ("draft", "think", "succeeded"))
    outcomes = _outcomes(queue_hub, "add-login")
    assert [o[2] for o in outcomes] == ["created", "interrupted", "succeeded"]
    history = Hub.open(queue_hub.root).change("add-login").history()
    assert history[1]["checkpoint"] is not None  # the interrupted attempt names the checkpoint it ran from
    assert history[2]["attempt"] == 2


def test_a_change_locked_by_another_run_waits_instead_of_failing(
    queue_hub: HubFixture, cli: Cli, workers: list[WorkerProcess]
) -> None:
    Hub.open(queue_hub.root).new_change("add-login")
    lock = ChangeLock(queue_hub.root, "add-login", command="advance").acquire()  # a run in a terminal
    try:
        worker = new_worker(queue_hub.root, "m1", workers).start()
        assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1")[0] == 0
        wait_until(lambda: "busy: change 'add-login' is locked by" in worker.output, "the worker to find it busy")
    finally:
        lock.release()
    _reaches(queue_hub, "add-login", ("draft", "think", "succeeded"))
    assert [o[2] for o in _outcomes(queue_hub, "add-login")] == ["created", "succeeded"]


def test_a_second_worker_for_the_same_machine_is_refused(queue_hub: HubFixture, workers: list[WorkerProcess]) -> None:
    new_worker(queue_hub.root, "m1", workers).start()
    second = subprocess.run(
        [sys.executable, "-m", "specflow", "-C", str(queue_hub.root), "worker", "--machine", "m1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "a worker for machine 'm1' already runs on this hub (pid " in second.stderr
    assert "fix: stop it first" in second.stderr


def test_usage_and_setting_errors_say_what_to_do(queue_hub: HubFixture, cli: Cli) -> None:
    Hub.open(queue_hub.root).new_change("add-login")
    code, _, err = cli("-C", queue_hub.root, "advance", "add-login", "--machine", "m1")
    assert code == 2 and "--machine is about queued advances: it goes with --queue" in err
    code, _, err = cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--background")
    assert code == 2 and "goes with neither --background nor --dry-run" in err
    code, _, err = cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "no/slash")
    assert code == 1 and "'no/slash' cannot name a machine" in err
    code, _, err = cli("-C", queue_hub.root, "worker", "--concurrency", "0")
    assert code == 1 and "fix: pass --concurrency 1 or more" in err
    (queue_hub.root / "specflow.yaml").write_text(
        (queue_hub.root / "specflow.yaml").read_text() + "queue:\n  database: mysql://db/specflow\n"
    )
    code, _, err = cli("-C", queue_hub.root, "advance", "add-login", "--queue")
    assert code == 1 and "specflow.yaml" in err and "queue" in err and "Traceback" not in err


def test_an_unreachable_database_is_named_with_the_fix(
    queue_hub: HubFixture, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    Hub.open(queue_hub.root).new_change("add-login")
    monkeypatch.setenv("SPECFLOW_QUEUE_DATABASE", "postgresql://ana:secret@127.0.0.1:1/specflow")
    code, _, err = cli("-C", queue_hub.root, "advance", "add-login", "--queue")
    assert code == 1
    assert (
        "the queue's database postgresql://ana:***@127.0.0.1:1/specflow (SPECFLOW_QUEUE_DATABASE) cannot be used" in err
    )
    assert "secret" not in err and "fix: start the database" in err


def test_without_the_queue_extra_the_commands_say_how_to_install_it(queue_hub: HubFixture) -> None:
    Hub.open(queue_hub.root).new_change("add-login")
    block = (
        "import sys\n"
        "class NoDbos:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'dbos':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoDbos())\n"
        "from specflow.cli.main import main\n"
    )
    for argv in (["advance", "add-login", "--queue"], ["worker"]):
        script = block + f"sys.exit(main(['-C', {str(queue_hub.root)!r}, *{argv!r}]))\n"
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
        assert out.returncode == 1, out.stderr
        assert "the queue's dependencies are not installed (dbos is missing)" in out.stderr
        assert "fix: pip install 'specflow-openspec[queue]'" in out.stderr


def test_with_concurrency_two_a_worker_runs_two_changes_at_once(
    queue_hub: HubFixture, cli: Cli, workers: list[WorkerProcess]
) -> None:
    ctl = queue_hub.root.parent
    for cid in ("add-login", "add-search"):
        Hub.open(queue_hub.root).new_change(cid)
    (ctl / "hold").write_text("")
    worker = new_worker(queue_hub.root, "m1", workers)
    worker.extra = ["--concurrency", "2"]
    worker.start()
    assert "2 phase(s) at a time" in worker.output
    for cid in ("add-login", "add-search"):
        assert cli("-C", queue_hub.root, "advance", cid, "--queue", "--machine", "m1")[0] == 0
    # both agents reach the barrier before either may go on: they run at the same time
    wait_until(lambda: len(started(ctl, "think")) == 2, "both agents to start")
    (ctl / "go").write_text("")
    for cid in ("add-login", "add-search"):
        _reaches(queue_hub, cid, ("draft", "think", "succeeded"))


def test_a_change_gone_before_its_turn_ends_its_run_and_the_worker_goes_on(
    queue_hub: HubFixture, cli: Cli, workers: list[WorkerProcess]
) -> None:
    for cid in ("add-login", "add-search"):
        Hub.open(queue_hub.root).new_change(cid)
    for cid in ("add-login", "add-search"):
        assert cli("-C", queue_hub.root, "advance", cid, "--queue", "--machine", "m1")[0] == 0
    Hub.open(queue_hub.root).change("add-login").discard(reason="superseded")
    worker = new_worker(queue_hub.root, "m1", workers).start()
    _reaches(queue_hub, "add-search", ("draft", "think", "succeeded"))
    wait_until(lambda: "; its queued run ends" in worker.output, "the worker to end the discarded change's run")
    assert "add-login: change 'add-login' was discarded" in worker.output


def test_sigterm_lets_the_running_phase_finish_and_a_waiting_run_survives_the_restart(
    queue_hub: HubFixture, cli: Cli, workers: list[WorkerProcess]
) -> None:
    ctl = queue_hub.root.parent
    for cid in ("add-login", "add-search"):
        Hub.open(queue_hub.root).new_change(cid)
    Hub.open(queue_hub.root).change("add-search").advance(to="write")
    worker = new_worker(queue_hub.root, "m1", workers)
    worker.extra = ["--concurrency", "2"]
    worker.start()
    # add-search waits for its approval; add-login's agent holds mid-phase
    assert cli("-C", queue_hub.root, "advance", "add-search", "--queue", "--machine", "m1")[0] == 0
    wait_until(lambda: "add-search: waiting for a person's approval" in worker.output, "add-search to wait")
    (ctl / "hold").write_text("")
    assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1")[0] == 0
    wait_until(lambda: len(started(ctl, "think")) == 1, "add-login's agent to start")
    assert worker.proc is not None
    worker.proc.terminate()
    wait_until(lambda: "stopping: waiting for the phase of add-login to finish" in worker.output, "the worker to wait")
    (ctl / "go").write_text("")
    assert worker.proc.wait(timeout=60) == 0
    assert [o[2] for o in _outcomes(queue_hub, "add-login")] == ["created", "succeeded"]
    # the run waiting for approval is still there for the next worker of m1
    worker.start()
    assert cli("-C", queue_hub.root, "approve", "add-search")[0] == 0
    _reaches(queue_hub, "add-search", ("write", "done", "succeeded"))
    assert len(started(ctl, "think")) == 1  # add-login's phase was not run again


def test_a_queued_advance_can_be_cancelled_before_a_worker_takes_it(
    queue_hub: HubFixture, cli: Cli, workers: list[WorkerProcess]
) -> None:
    api = Hub.open(queue_hub.root)
    api.new_change("add-login")
    code, out, _ = cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1")
    first = out.splitlines()[0]
    code, out, err = cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--cancel")
    assert code == 0, err
    assert f"add-login: cancelled {first} (machine 'm1', enqueued)" in out
    assert queued(api, "add-login") == []
    code, out, _ = cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--cancel")
    assert code == 0 and "add-login: no queued advance to cancel" in out
    # queued again (the cancelled run no longer holds the change's place), a worker runs that one only
    assert cli("-C", queue_hub.root, "advance", "add-login", "--queue", "--machine", "m1", "--to", "write")[0] == 0
    new_worker(queue_hub.root, "m1", workers).start()
    _reaches(queue_hub, "add-login", ("think", "write", "succeeded"))
    assert [o[2] for o in _outcomes(queue_hub, "add-login")] == ["created", "succeeded", "succeeded"]


def test_a_pushed_change_stays_on_this_machine_when_the_queue_is_its_own_sqlite(tmp_path: Path, cli: Cli) -> None:
    world = make_world(tmp_path)
    with world.a.active():
        Hub.open(world.a.hub).new_change("add-login").push()
        code, out, err = cli("-C", world.a.hub, "advance", "add-login", "--queue")
    assert code == 0, err
    # no other machine can reach this queue: the run is this machine's, not any machine's
    assert "add-login: advance queued for machine 'alpha' (queue specflow-alpha)" in out
