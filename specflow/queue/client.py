"""Talk to the queue from outside a worker: enqueue an ``advance``, wake a workflow that waits for
an approval, list what is queued.  A DBOS client: it runs no workflow code and starts no thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from dbos import DBOS, DBOSClient, EnqueueOptions, error

from specflow._version import __version__
from specflow.engine.background import check_trigger
from specflow.errors import QueueError, TransitionError
from specflow.queue.place import QueueDatabase, database_for, machine_of_queue, route, where
from specflow.structs import Struct

if TYPE_CHECKING:
    from specflow.engine.change import Change
    from specflow.engine.status import HubLike

APP_NAME = "specflow"
#: Workers run only what enqueuers of the same specflow version queued: a workflow is replayed
#: by the code that started it.
APP_VERSION = f"specflow-{__version__}"
#: The name enqueuers address the workflow of ``specflow.queue.flow`` by.
WORKFLOW_NAME = "specflow.advance"
#: The topic of the message ``Change.approve`` sends to a workflow waiting for a person.
APPROVAL_TOPIC = "specflow.approval"
#: The event a workflow sets to say what it is doing.
STATUS_EVENT = "specflow.status"
#: Statuses of a workflow that has not finished.
UNFINISHED = ["ENQUEUED", "PENDING", "DELAYED"]


class QueuedRun(Struct, frozen=True):
    """An ``advance`` in the queue: its workflow id, the change, the machine that will run it."""

    workflow_id: str
    change_id: str
    machine: str
    queue: str
    status: str
    doing: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def where(self) -> str:
        """``machine 'NAME'``, or ``any machine`` for a pushed change's run."""
        return where(self.machine)


def unreachable(database: QueueDatabase, exc: BaseException) -> QueueError:
    """The error for a queue database that could not be opened, with what DBOS said."""
    said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return QueueError(
        f"the queue's database {database.describe()} cannot be used: {said}",
        fix="start the database (or correct its URL in SPECFLOW_QUEUE_DATABASE or queue.database in"
        " specflow.yaml), then run the command again",
    )


@contextmanager
def open_client(database: QueueDatabase, *, create: bool = True) -> Iterator[DBOSClient]:
    """A client of the queue's database, created (or migrated) first unless ``create`` is False."""
    url = database.connect_url
    try:
        if create:
            DBOS.migrate(url)
        client = DBOSClient(system_database_url=url, application_name=APP_NAME, retry_connection_errors=False)
    except Exception as exc:
        raise unreachable(database, exc) from None
    try:
        yield client
    finally:
        client.destroy()


def enqueue(
    change: Change,
    *,
    to: str | None = None,
    agent: str | None = None,
    fresh: bool = False,
    machine: str | None = None,
) -> QueuedRun:
    """Queue ``advance`` of ``change`` (up to ``to``) for ``machine``, else where ``route`` sends it:
    any machine's worker when the change's branches are pushed, else the machine holding it.

    Returns at once.  A change has at most one unfinished queued advance (checked across machines;
    DBOS's deduplication makes it race-proof per queue).
    """
    check_trigger(change, "advance")
    record = change.require_record()
    workflow = change.hub.workflow(record.get("workflow"))
    if to is not None and to not in workflow.states:
        raise TransitionError(
            f"unknown state {to!r} in workflow {workflow.name!r}", fix="states: " + ", ".join(workflow.states)
        )
    database = database_for(change.hub)
    place = route(change, machine, shared=database.kind == "postgresql")
    queue = place.queue
    workflow_id = f"specflow:{change.id}:{uuid.uuid4().hex[:12]}"
    options: EnqueueOptions = {
        "queue_name": queue,
        "workflow_name": WORKFLOW_NAME,
        "workflow_id": workflow_id,
        "app_version": APP_VERSION,
        "deduplication_id": change.id,
    }
    ticket = {"change": change.id, "to": to, "agent": agent, "fresh": fresh, "travels": place.travels}
    with open_client(database) as client:
        try:
            waiting = _unfinished(client, change.id)
            if waiting:
                raise _already_queued(change.id, waiting)
            client.enqueue(options, ticket)
        except error.DBOSQueueDeduplicatedError:  # queued by someone else a moment ago
            raise _already_queued(change.id, _unfinished(client, change.id)) from None
        except QueueError:
            raise
        except Exception as exc:
            raise unreachable(database, exc) from None
    return QueuedRun(workflow_id, change.id, place.machine, queue, "ENQUEUED")


def _already_queued(change_id: str, waiting: list[QueuedRun]) -> QueueError:
    runs = ", ".join(f"{run.workflow_id} for {run.where}" for run in waiting)
    return QueueError(
        f"change '{change_id}' already has an advance queued ({runs or 'finishing now'})",
        fix="wait for it to run ('specflow status --watch' follows it), or cancel it with"
        f" 'specflow advance {change_id} --queue --cancel'",
    )


def _unfinished(client: DBOSClient, change_id: str | None) -> list[QueuedRun]:
    runs = []
    prefix = f"specflow:{change_id}:" if change_id else "specflow:"
    for wf in client.list_workflows(workflow_id_prefix=prefix, status=UNFINISHED, load_input=False, load_output=False):
        queue = wf.queue_name or ""
        runs.append(
            QueuedRun(wf.workflow_id, wf.workflow_id.split(":")[1], machine_of_queue(queue), queue, str(wf.status))
        )
    return runs


def queued(hub: HubLike, change_id: str | None = None) -> list[QueuedRun]:
    """The unfinished queued advances of ``change_id`` (default: of every change), each with what
    it is doing."""
    database = database_for(hub)
    with open_client(database, create=False) as client:
        try:
            return [_with_doing(client, run) for run in _unfinished(client, change_id)]
        except Exception as exc:  # a database no queue has used yet has no tables
            raise unreachable(database, exc) from None


def _with_doing(client: DBOSClient, run: QueuedRun) -> QueuedRun:
    if run.status == "ENQUEUED":
        return run
    return QueuedRun(**{**run.to_dict(), "doing": _doing(client, run.workflow_id)})


def _doing(client: DBOSClient, workflow_id: str) -> str | None:
    status = client.get_event(workflow_id, STATUS_EVENT, timeout_seconds=0)
    return str(status.get("doing")) if isinstance(status, dict) else None


def cancel(hub: HubLike, change_id: str) -> list[QueuedRun]:
    """Cancel every unfinished queued advance of the change (on every machine); return them.

    A run waiting (for a worker, an approval, the change's lock) ends at once; a phase already
    running finishes first, and the run ends after it.
    """
    database = database_for(hub)
    with open_client(database) as client:
        runs = _unfinished(client, change_id)
        for run in runs:
            client.cancel_workflow(run.workflow_id)
        return runs


def tell_approved(hub: HubLike, change_id: str, by: str) -> list[str]:
    """Send the approval to every unfinished advance of the change; return their workflow ids."""
    database = database_for(hub)
    with open_client(database, create=False) as client:  # no tables yet: nothing can be waiting
        try:
            told = []
            for run in _unfinished(client, change_id):
                client.send(run.workflow_id, {"by": by}, APPROVAL_TOPIC)
                told.append(run.workflow_id)
            return told
        except Exception as exc:
            raise unreachable(database, exc) from None


__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "QueuedRun",
    "cancel",
    "enqueue",
    "open_client",
    "queued",
    "tell_approved",
    "unreachable",
]
