"""What the rest of specflow asks of the queue: wake a run waiting for an approval, list the
changes with queued runs (the dashboard's "queued" badge).

``approval_given`` is reached through the ``specflow.approvals`` entry point (pyproject.toml) that
``Change.approve`` calls, so the engine names no module of the queue, which is built on it.

Light on purpose: with no queue in use (no database named, no SQLite file) each returns at once
and DBOS is never imported, so ``specflow approve`` stays fast.  The approval recorded in the
change is what counts; the message only saves the waiting run its next re-read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from specflow.errors import QueueError
from specflow.queue.place import ANY_MACHINE, in_use

if TYPE_CHECKING:
    from specflow.engine.change import Change
    from specflow.engine.status import HubLike


def approval_given(change: Change, by: str) -> list[str]:
    """Tell the change's waiting workflows that ``by`` approved it; return the workflow ids told."""
    if not in_use(change.hub):
        return []
    try:
        from specflow.queue.client import tell_approved  # the door of DBOS
    except ImportError:  # the 'queue' extra is not installed here: nothing can be waiting on it
        return []
    try:
        return tell_approved(change.hub, change.id, by)
    except QueueError:  # database out of reach: the workflow re-reads the change on its own
        return []


def queued_changes(hub: HubLike) -> dict[str, str]:
    """Each change with an unfinished queued run -> what it is doing ("queued" before a worker
    takes it); empty when the queue is not in use here or cannot be read."""
    if not in_use(hub):
        return {}
    try:
        from specflow.queue.client import queued  # the door of DBOS
    except ImportError:
        return {}
    try:
        return {run.change_id: f"{run.doing or 'queued'} ({_short(run.machine)})" for run in queued(hub)}
    except QueueError:
        return {}


def _short(machine: str) -> str:
    return "any machine" if machine == ANY_MACHINE else machine


__all__ = ["approval_given", "queued_changes"]
