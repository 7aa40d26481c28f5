"""Adopt in-flight OpenSpec changes: put them under a workflow, in the state their files show.

The state is inferred from the change's files, most advanced first: every task done → ``apply``;
``proposal.md`` and ``tasks.md`` present → ``propose``; ``exploration.md`` present → ``explore``;
otherwise the workflow's initial state.  Only states the workflow has are used: when the inferred
one is missing the next less advanced one is tried.  The adoption is recorded in the change's
history.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from specflow.errors import OpenSpecError
from specflow.ids import check_change_id
from specflow.openspec.discovery import change_ids
from specflow.openspec.listing import task_counts
from specflow.structs import Struct

#: Standard states, least to most advanced (used when no workflow definition is available).
STANDARD_STATES = ("draft", "explore", "propose", "apply")


class Adopted(Struct, frozen=True):
    """One adoption: which change, under which workflow, in which state, and why."""

    change: str
    workflow: str
    state: str
    reason: str

    def to_json(self) -> dict[str, str]:
        """``{change, workflow, state, reason}``."""
        return {"change": self.change, "workflow": self.workflow, "state": self.state, "reason": self.reason}


def infer_state(change_dir: Path, states: Sequence[str], initial: str) -> tuple[str, str]:
    """The most advanced state among ``states`` that the files of ``change_dir`` support, and why."""
    root = change_dir.parent.parent.parent
    has_proposal = (change_dir / "proposal.md").is_file()
    has_tasks = (change_dir / "tasks.md").is_file()
    total, done = task_counts(change_dir, root) if has_tasks else (0, 0)
    candidates: list[tuple[str, bool, str]] = [
        (
            "apply",
            has_proposal and has_tasks and total > 0 and done == total,
            f"proposal.md present and all {total} tasks in tasks.md are done",
        ),
        ("propose", has_proposal and has_tasks, "proposal.md and tasks.md present"),
        ("explore", (change_dir / "exploration.md").is_file(), "exploration.md present"),
    ]
    for state, holds, reason in candidates:
        if holds and state in states:
            return state, reason
    return initial, "no exploration notes, proposal or tasks found"


def plan_adoption(
    root: Path,
    change_id: str,
    workflow: str = "openspec",
    *,
    states: Sequence[str] = STANDARD_STATES,
    initial: str | None = None,
) -> Adopted:
    """What adopting open change ``change_id`` under ``workflow`` means: the state its files show.

    Refuses a change that does not exist or is already managed; writes nothing (the engine records
    the adoption, ``specflow.engine.hub.Hub.adopt``).
    """
    check_change_id(change_id)
    change_dir = root / "openspec" / "changes" / change_id
    if not change_dir.is_dir():
        raise OpenSpecError(
            f"no open change '{change_id}' in {change_dir.parent}",
            fix="list open changes with 'specflow list'",
        )
    state_file = change_dir / ".specflow" / "state.json"
    if state_file.exists():
        raise OpenSpecError(
            f"change '{change_id}' is already managed by specflow ({_managed_by(state_file)})",
            fix=f"see it with 'specflow status {change_id}'; adopt only changes without .specflow/state.json",
        )
    first = initial if initial is not None else (states[0] if states else "draft")
    state, reason = infer_state(change_dir, states, first)
    return Adopted(change_id, workflow, state, reason)


def _managed_by(state_file: Path) -> str:
    """``workflow 'w', state 's'`` from a state file, read leniently: a refusal must not crash."""
    try:
        data = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data = data if isinstance(data, dict) else {}
    return f"workflow '{data.get('workflow')}', state '{data.get('state')}'"


def unmanaged_changes(root: Path) -> list[str]:
    """Open changes that have no specflow state yet."""
    changes_dir = root / "openspec" / "changes"
    return [c for c in change_ids(changes_dir) if not (changes_dir / c / ".specflow" / "state.json").exists()]


__all__ = ["STANDARD_STATES", "Adopted", "infer_state", "plan_adoption", "unmanaged_changes"]
