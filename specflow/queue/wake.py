"""Wake a queued workflow that waits for a person: called by ``Change.approve`` after it records.

Light on purpose: with no queue in use (no database named, no SQLite file) it returns at once and
DBOS is never imported, so ``specflow approve`` stays fast.  The approval recorded in the change
is what counts; the message only saves the waiting workflow its next re-read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from specflow.errors import QueueError
from specflow.queue.place import in_use

if TYPE_CHECKING:
    from specflow.engine.change import Change


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


__all__ = ["approval_given"]
