"""A queue worker: takes this machine's queued phases from the queue's database and runs them.

It is DBOS, launched with this machine's name as its executor id, listening to this machine's
queue and to the shared queue (runs of changes pushed to their remotes, which any machine can
continue).  At launch DBOS recovers the workflows a killed worker of the same machine left
pending.  A worker killed for good leaves its runs pending under its name: every worker says it is
alive in the queue's database (``specflow.queue.heartbeats``) and looks now and then for runs on
the shared queue whose machine is gone — it let the change's lease expire (it died in the middle
of a phase), or, holding no lease of the change (the run waited for an approval, or had just been
taken), it has not been seen for longer than a lease's term — and hands that machine's runs back
to the queues (DBOS's recovery of another executor), where a live worker takes them.  One worker
per machine name: a second one for the same machine is refused.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from dbos import DBOS, DBOSConfig, WorkflowStatus

from specflow._version import __version__
from specflow.changestate.lock import ChangeLock
from specflow.engine.lease import holder_of, take_back
from specflow.errors import LockedError, QueueError, SpecflowError
from specflow.queue import flow
from specflow.queue.client import APP_NAME, APP_VERSION, open_client, unreachable
from specflow.queue.heartbeats import Heartbeats
from specflow.queue.place import MACHINE_ENV, SHARED_QUEUE, QueueDatabase, check_machine, database_for, queue_name
from specflow.structs import Struct

if TYPE_CHECKING:
    from specflow.engine.hub import Hub

#: How often the worker looks for new work in its queue (the queue's latency floor).
POLL_S = 0.2
#: Bounds of how often the worker looks for runs of machines that died (a third of the lease's term).
RECOVERY_MIN_S = 1.0
RECOVERY_MAX_S = 30.0


class Worker(Struct):
    """The worker of ``machine`` for ``hub``: ``start``, then ``stop_taking_work``, ``wait``, ``close``."""

    hub: Hub
    machine: str
    concurrency: int = 1
    on_note: Callable[[str], None] = lambda text: None

    def __post_init__(self) -> None:
        check_machine(self.machine)
        if self.concurrency < 1:
            raise QueueError(
                f"a worker needs to run at least one phase at a time, not {self.concurrency}",
                fix="pass --concurrency 1 or more",
            )
        self.database: QueueDatabase = database_for(self.hub)
        self.queue = queue_name(self.machine)
        self._runtime = flow.Runtime(self.hub.root, self.on_note)
        self._heartbeats = Heartbeats(self.database)
        self._sweeping = threading.Event()  # set: the recovery thread stops
        self._sweeper: threading.Thread | None = None
        self.taken_back = 0
        """Runs a killed worker of this machine left pending, which this one takes back at its start."""
        # one worker per machine name: a second would recover and replay the first one's workflows
        self._guard = ChangeLock(self.hub.root, f"queue-worker-{self.machine}", command="worker")

    def start(self) -> None:
        """Launch DBOS on this machine's queue; recover what a killed worker left pending."""
        try:
            self._guard.acquire()
        except LockedError:
            holder = self._guard.holder()
            who = holder.describe() if holder else "another process"
            raise QueueError(
                f"a worker for machine {self.machine!r} already runs on this hub ({who})",
                fix="stop it first, or start this one with another --machine name",
            ) from None
        # the name the attempts record and the leases are taken under is the worker's machine
        os.environ[MACHINE_ENV] = self.machine
        try:
            left = self._left_pending()
            # seen before it takes any run: no other worker takes this machine for gone
            self._say_alive(strict=True)
        except QueueError:
            self._guard.release()
            raise
        self.taken_back = len(left)
        self._keep_leases(left)
        flow.serve(self._runtime)
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": self.database.url,
            "executor_id": self.machine,
            "application_version": APP_VERSION,
            "log_level": "WARNING",
        }
        try:
            DBOS(config=config)
            DBOS.listen_queues([self.queue, SHARED_QUEUE])
            DBOS.launch()
            for queue in (self.queue, SHARED_QUEUE):
                DBOS.register_queue(
                    queue,
                    worker_concurrency=self.concurrency,
                    polling_interval_sec=POLL_S,
                    on_conflict="always_update",
                )
        except Exception as exc:
            self._guard.release()
            DBOS.destroy(destroy_registry=False)
            raise unreachable(self.database, exc) from None
        self._sweeper = threading.Thread(target=self._sweep_until_stopped, name="specflow-recovery", daemon=True)
        self._sweeper.start()

    def _left_pending(self) -> list[WorkflowStatus]:
        """The runs a worker of this machine left pending (killed): DBOS's launch takes them back."""
        with open_client(self.database) as client:
            try:
                left = client.list_workflows(
                    status="PENDING",
                    executor_id=self.machine,
                    app_version=APP_VERSION,
                    load_input=False,
                    load_output=False,
                )
            except Exception as exc:
                raise unreachable(self.database, exc) from None
        return left

    def _keep_leases(self, left: list[WorkflowStatus]) -> None:
        """Renew the leases this machine left on the changes of its pending shared runs, before
        DBOS takes the runs back: another machine that saw them expired would declare this one
        dead and hand the runs it is about to run to the queue again."""
        for wf in left:
            if wf.queue_name != SHARED_QUEUE:
                continue
            change_id = wf.workflow_id.split(":")[1]
            try:
                take_back(self.hub.root, self.hub.config, change_id, self.machine)
            except SpecflowError as exc:  # the remote out of reach: the run's own step tries again
                self.on_note(f"{change_id}: could not renew this machine's lease: {exc.message}")

    # -- runs of machines that died ------------------------------------------------------------

    def _gone(self, machine: str, changes: list[str], silent: dict[str, float]) -> str | None:
        """Why ``machine``, whose runs of ``changes`` are pending on the shared queue, is gone; None
        while it may be alive.  ``silent``: seconds since each machine's worker was last seen.

        A machine holding a change's lease renews it while its phase runs: while one of its leases
        holds, it is alive; once one has expired, it stopped in the middle of that phase.  A
        machine holding no lease of them (its runs wait for an approval, or were taken just before
        it died) is gone once its worker has not been seen for a lease's term (``silence_limit``).
        """
        expired = None
        for change_id in changes:
            holder = holder_of(self.hub.root, self.hub.config, change_id)
            if holder is not None and holder.machine == machine:
                if not holder.expired():
                    return None
                expired = expired or change_id
        if expired is not None:
            return f"machine {machine!r} stopped in the middle of a phase (its lease of {expired} expired)"
        quiet = silent.get(machine)
        if quiet is not None and quiet > self.silence_limit:
            return f"machine {machine!r} has not been seen for {quiet:.0f} s while its run of {changes[0]} waited"
        return None

    @property
    def recovery_interval(self) -> float:
        """Seconds between two looks for dead machines' runs: a third of the lease's term, bounded."""
        return min(RECOVERY_MAX_S, max(RECOVERY_MIN_S, self.hub.config.lease_seconds / 3))

    @property
    def silence_limit(self) -> float:
        """Seconds a machine's worker may go unseen before its waiting runs are taken as a gone
        machine's: a lease's term, and never less than three of its looks."""
        return max(self.hub.config.lease_seconds, 3 * self.recovery_interval)

    def _sweep_until_stopped(self) -> None:
        while not self._sweeping.wait(self.recovery_interval):
            self._say_alive()
            try:
                self.recover_dead_machines()
            except Exception as exc:  # a database or remote out of reach now: the next look retries
                self.on_note(f"looking for runs of machines that died failed: {exc}")
            self._say_alive()  # the look may have waited on remotes: seen again after it

    def _say_alive(self, *, strict: bool = False) -> None:
        """Say in the queue's database that this machine's worker is alive now; a database out of
        reach is a ``QueueError`` when ``strict`` (at the start), else a note (the next look says
        it again)."""
        try:
            self._heartbeats.beat(self.machine)
        except Exception as exc:
            if strict:
                raise unreachable(self.database, exc) from None
            self.on_note(f"could not say this worker is alive in the queue's database: {exc}")

    def recover_dead_machines(self) -> list[str]:
        """Hand back the runs of every machine that is gone while a run of it was pending on the
        shared queue (``_gone``: its lease of the change expired, or it held none and has not been
        seen for a lease's term); return those machines.

        DBOS's recovery of those executors puts their pending runs back on their queues (a run
        already taken by a live worker is left alone), and the worker that takes one pulls the
        change, takes the lease (over) and runs the phase, or waits for the approval.
        """
        pending = DBOS.list_workflows(status="PENDING", queue_name=SHARED_QUEUE, load_input=False, load_output=False)
        runs: dict[str, list[str]] = {}
        for wf in pending:
            if wf.executor_id and wf.executor_id != self.machine:
                runs.setdefault(wf.executor_id, []).append(wf.workflow_id.split(":")[1])
        if not runs:
            return []
        silent = self._heartbeats.silent()
        suspects = [m for m, changes in runs.items() if self._gone(m, changes, silent) is not None]
        if not suspects:
            return []
        # read again just before: a machine restarting is seen and renews its leases before it
        # takes its runs back
        silent = self._heartbeats.silent()
        dead = {m: why for m in suspects if (why := self._gone(m, runs[m], silent)) is not None}
        if not dead:
            return []
        for why in dead.values():
            self.on_note(f"{why}: its runs are recovered")
        DBOS._recover_pending_workflows(sorted(dead))
        return sorted(dead)

    @property
    def running(self) -> list[str]:
        """The changes whose phase runs in this worker now."""
        with self._runtime.lock:
            return sorted(self._runtime.running)

    def stop_taking_work(self) -> None:
        """Start no new phase; the phases running go on (``wait`` for them, then ``close``)."""
        with self._runtime.lock:
            self._runtime.stopping = True
        self._sweeping.set()

    def wait(self, poll_s: float = 0.2) -> None:
        """Block until no phase runs in this worker."""
        while self.running:
            time.sleep(poll_s)

    def close(self) -> None:
        """Shut DBOS down.  Runs left waiting (for an approval, a lock) stay pending in the
        database: DBOS hands them to the next worker of this machine, and a run on the shared
        queue goes to another machine's worker once this one has not been seen for a lease's term."""
        self._sweeping.set()
        if self._sweeper is not None:
            self._sweeper.join(RECOVERY_MAX_S)
        DBOS.destroy(destroy_registry=False)
        self._heartbeats.close()
        self._guard.release()


def describe(worker: Worker) -> str:
    """One line: which machine, queue and database, and how many phases at a time."""
    return (
        f"specflow {__version__} worker for machine {worker.machine!r}: queue {worker.queue} and the shared"
        f" {SHARED_QUEUE},"
        f" {worker.concurrency} phase(s) at a time, database {worker.database.describe()};"
        f" {worker.taken_back} run(s) left pending by this machine taken back"
    )


__all__ = ["POLL_S", "RECOVERY_MAX_S", "RECOVERY_MIN_S", "Worker", "describe"]
