"""What the dashboard's buttons do to a change: approve, reject, advance (or retry), cancel, merge, revert.

``ACTIONS`` maps each action a page may POST (``/api/changes/{id}/{action}``) to a function of the
change and the request's JSON body that returns what the page is told; ``specflow.ui.app`` runs
it.  Each is a plain call of the ``Change`` API, so nothing here knows of HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from specflow.changestate import records
from specflow.changestate.lock import ChangeLock
from specflow.engine.background import check_trigger
from specflow.engine.change import Change
from specflow.errors import SpecflowError
from specflow.workspace.git import who_am_i


def _note(data: dict[str, Any]) -> str | None:
    note = data.get("note")
    if note is None or note == "":
        return None
    if not isinstance(note, str) or len(note) > 4000:
        raise SpecflowError("'note' must be text of at most 4000 characters")
    return note


# each action runs in a worker thread; the ones that run a phase start it in the background


def _approve(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    approval = change.approve(by=data.get("by") if isinstance(data.get("by"), str) else None, note=_note(data))
    return {"approval": approval}


def _advance(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    return {"run": change.advance_in_background(fresh=bool(data.get("fresh"))).to_dict()}


def _reject(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    note = _note(data)
    change.require_record()
    check_trigger(change, "reject")  # the note is recorded only for a rejection that can happen
    with ChangeLock(change.hub.root, change.id, command="reject"):
        records.record_rejection(change.dir, change.require_record(), by=who_am_i(change.hub.root), note=note)
    return {"run": change.advance_in_background(trigger="reject").to_dict()}


def _cancel(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    return {"pid": change.cancel()}


def _merge(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    merges = change.merge()
    return {"merges": [m.to_dict() for m in merges]}


def _revert(change: Change, data: dict[str, Any]) -> dict[str, Any]:
    number = data.get("checkpoint")
    if not isinstance(number, int) or isinstance(number, bool):
        raise SpecflowError("'checkpoint' must be a checkpoint number", fix="pick one from the change's checkpoints")
    result = change.revert(number)
    return {"revert": result.to_dict(), "summary": result.summary()}


ACTIONS: dict[str, Callable[[Change, dict[str, Any]], dict[str, Any]]] = {
    "approve": _approve,
    "reject": _reject,
    "advance": _advance,
    "retry": _advance,
    "cancel": _cancel,
    "merge": _merge,
    "revert": _revert,
}


__all__ = ["ACTIONS"]
