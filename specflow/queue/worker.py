"""A queue worker: takes this machine's queued phases from the queue's database and runs them.

It is DBOS, launched with this machine's name as its executor id and listening to this machine's
queue only; at launch DBOS recovers the workflows a killed worker of the same machine left
pending.  One worker per machine name: a second one for the same machine is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dbos import DBOS, DBOSConfig

from specflow._version import __version__
from specflow.engine.lock import ChangeLock
from specflow.errors import LockedError, QueueError
from specflow.queue import flow
from specflow.queue.client import APP_NAME, APP_VERSION, unreachable
from specflow.queue.place import QueueDatabase, check_machine, database_for, queue_name

if TYPE_CHECKING:
    from specflow.engine.hub import Hub

#: How often the worker looks for new work in its queue (the queue's latency floor).
POLL_S = 0.2


@dataclass
class Worker:
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
            DBOS.listen_queues([self.queue])
            DBOS.launch()
            DBOS.register_queue(
                self.queue,
                worker_concurrency=self.concurrency,
                polling_interval_sec=POLL_S,
                on_conflict="always_update",
            )
        except Exception as exc:
            self._guard.release()
            DBOS.destroy(destroy_registry=False)
            raise unreachable(self.database, exc) from None

    @property
    def running(self) -> list[str]:
        """The changes whose phase runs in this worker now."""
        with self._runtime.lock:
            return sorted(self._runtime.running)

    def stop_taking_work(self) -> None:
        """Start no new phase; the phases running go on (``wait`` for them, then ``close``)."""
        with self._runtime.lock:
            self._runtime.stopping = True

    def wait(self, poll_s: float = 0.2) -> None:
        """Block until no phase runs in this worker."""
        while self.running:
            time.sleep(poll_s)

    def close(self) -> None:
        """Shut DBOS down.  Runs left waiting (for an approval, a lock) stay pending in the
        database, and DBOS hands them to the next worker of this machine."""
        DBOS.destroy(destroy_registry=False)
        self._guard.release()


def describe(worker: Worker) -> str:
    """One line: which machine, queue and database, and how many phases at a time."""
    return (
        f"specflow {__version__} worker for machine {worker.machine!r}: queue {worker.queue},"
        f" {worker.concurrency} phase(s) at a time, database {worker.database.describe()}"
    )


__all__ = ["POLL_S", "Worker", "describe"]
