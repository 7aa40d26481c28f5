"""Where queued phases go: this machine's name, its queue, the queue's database, a change's machine.

Nothing here imports DBOS: ``approve`` and ``status`` ask these questions on their start path.
One machine needs no setting (SQLite under the hub's ``.specflow/queue/``); several share a
PostgreSQL database named by ``SPECFLOW_QUEUE_DATABASE`` or ``queue: {database: ...}`` in
``specflow.yaml``.  Each machine listens to a queue of its own, so a phase runs where the change's
worktrees are, and to the shared queue, where the runs of changes pushed to their remotes go.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from specflow.changestate.machine_id import machine_name as named
from specflow.errors import QueueError
from specflow.localdir import LOCAL_DIR, ensure
from specflow.structs import Struct
from specflow.workspace.remote import is_pushed

if TYPE_CHECKING:
    from specflow.engine.change import Change
    from specflow.engine.status import HubLike

#: The environment variable that names the queue's database; it wins over ``specflow.yaml``.
DATABASE_ENV = "SPECFLOW_QUEUE_DATABASE"
#: The environment variable that names this machine.
MACHINE_ENV = "SPECFLOW_MACHINE"
#: SQLite's file under the hub's machine-local folder.
SQLITE_FILE = Path(LOCAL_DIR) / "queue" / "queue.sqlite"
_QUEUE_PREFIX = "specflow-"
#: The queue every worker listens to besides its machine's own: runs of changes whose branches are
#: pushed, which any machine can continue (``@`` cannot be in a machine's name: no machine's queue).
SHARED_QUEUE = "specflow@any"
#: What a run on the shared queue says for its machine.
ANY_MACHINE = "*"
_MACHINE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_URL = re.compile(r"^(postgres(ql)?(\+psycopg)?|sqlite)://")
#: Seconds a client waits for PostgreSQL to answer before the command says it cannot reach it.
CONNECT_TIMEOUT_S = 10


def machine_name() -> str:
    """This machine's name, as every attempt records it (``specflow.changestate.machine_id``)."""
    return named()


def check_machine(name: str) -> str:
    """``name`` if it can name a queue; a usage error saying what may be used otherwise."""
    if not _MACHINE.fullmatch(name):
        raise QueueError(
            f"{name!r} cannot name a machine: expected letters, digits, '.', '_' or '-' (at most 63,"
            " starting with a letter or digit)",
            fix=f"pass another name with --machine, or set {MACHINE_ENV}",
        )
    return name


def queue_name(machine: str) -> str:
    """The queue the worker of ``machine`` listens to (the shared queue for ``ANY_MACHINE``)."""
    return SHARED_QUEUE if machine == ANY_MACHINE else _QUEUE_PREFIX + check_machine(machine)


def machine_of_queue(queue: str) -> str:
    """The machine whose worker runs what ``queue`` holds (``ANY_MACHINE`` for the shared queue)."""
    return ANY_MACHINE if queue == SHARED_QUEUE else queue.removeprefix(_QUEUE_PREFIX)


def where(machine: str) -> str:
    """``machine 'NAME'``, or ``any machine`` for a run on the shared queue, as messages say it."""
    return "any machine" if machine == ANY_MACHINE else f"machine {machine!r}"


class Route(Struct, frozen=True):
    """Where a queued run of a change goes, and whether it travels through the change's remote.

    ``travels``: the change's branches are pushed and up to date, so the worker that takes the
    run pulls the change first, holds its lease through the phase, and pushes after it.
    """

    machine: str
    queue: str
    travels: bool


def route(change: Change, machine: str | None = None, *, shared: bool = True) -> Route:
    """``machine`` when named; else, when the queue is ``shared`` by several machines (PostgreSQL),
    any machine when the change's branches are all pushed and up to date on their remotes; else the
    machine holding the change (``machine_for``)."""
    travels = shared and is_pushed(change.hub.root, change.hub.config, change.id)
    if machine is not None:
        return Route(check_machine(machine), queue_name(machine), travels)
    if travels:
        return Route(ANY_MACHINE, SHARED_QUEUE, True)
    target = machine_for(change)
    return Route(target, queue_name(target), False)


class QueueDatabase(Struct, frozen=True):
    """The queue's database: its URL, its kind, and where the setting came from."""

    url: str
    kind: Literal["sqlite", "postgresql"]
    source: str

    @property
    def connect_url(self) -> str:
        """The URL a client connects with: PostgreSQL's with a connect timeout (``CONNECT_TIMEOUT_S``),
        so a database out of reach is said, not waited on."""
        if self.kind != "postgresql" or "connect_timeout=" in self.url:
            return self.url
        return self.url + ("&" if "?" in self.url else "?") + f"connect_timeout={CONNECT_TIMEOUT_S}"

    def describe(self) -> str:
        """The URL without its password, and where it was set."""
        shown = re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", self.url)
        return f"{shown} ({self.source})"


def database_for(hub: HubLike) -> QueueDatabase:
    """The queue's database for ``hub``: the environment, then ``specflow.yaml``, then SQLite."""
    url = os.environ.get(DATABASE_ENV)
    source = DATABASE_ENV
    if not url:
        url, source = hub.config.queue.database, "queue.database in specflow.yaml"
    if not url:
        path = ensure(hub.root) / "queue" / SQLITE_FILE.name
        path.parent.mkdir(parents=True, exist_ok=True)
        return QueueDatabase(f"sqlite:///{path}", "sqlite", "SQLite under the hub, the default")
    if not _URL.match(url):
        raise QueueError(
            f"{url!r} ({source}) is no database URL the queue can use",
            fix="give a PostgreSQL URL such as postgresql://user:password@host:5432/specflow"
            f" (or unset {DATABASE_ENV} and remove queue.database to use SQLite on this machine)",
        )
    kind: Literal["sqlite", "postgresql"] = "sqlite" if url.startswith("sqlite") else "postgresql"
    return QueueDatabase(url, kind, source)


def in_use(hub: HubLike) -> bool:
    """Whether the hub's queue may hold runs: a database is named, or SQLite's file exists."""
    if os.environ.get(DATABASE_ENV) or hub.config.queue.database:
        return True
    return (hub.root / SQLITE_FILE).is_file()


def machine_for(change: Change) -> str:
    """The machine holding the change's repo worktrees: this one when they are here, else the last
    machine its history names, else this one (a change with no worktrees yet starts here).

    Its worktree of the hub does not count: every clone that has the change has one.
    """
    if any(target.exists and not target.is_hub for target in change.workspaces().targets()):
        return machine_name()
    for event in reversed(change.history()):
        if event.get("outcome") not in ("succeeded", "failed", "interrupted"):
            continue  # where a change was made or approved says nothing of where its work is
        machine = dict(event).get("machine")  # recorded by the attempts of machines that name themselves
        if isinstance(machine, str) and _MACHINE.fullmatch(machine):
            return machine
    return machine_name()


__all__ = [
    "ANY_MACHINE",
    "DATABASE_ENV",
    "MACHINE_ENV",
    "SHARED_QUEUE",
    "QueueDatabase",
    "Route",
    "check_machine",
    "database_for",
    "in_use",
    "machine_for",
    "machine_name",
    "machine_of_queue",
    "queue_name",
    "route",
    "where",
]
