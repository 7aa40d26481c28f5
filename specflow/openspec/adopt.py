"""Adopt in-flight OpenSpec changes: put them under a workflow, in the state their files show.

The state is inferred from the change's files, most advanced first: every task done → ``apply``;
``proposal.md`` and ``tasks.md`` present → ``propose``; ``exploration.md`` present → ``explore``;
otherwise the workflow's initial state.  Only states the workflow has are used: when the inferred
one is missing the next less advanced one is tried.  The adoption is recorded in the change's
history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from specflow.engine import records as sm
from specflow.errors import OpenSpecError, SpecflowError
from specflow.ids import check_change_id
from specflow.openspec.discovery import change_ids
from specflow.openspec.listing import task_counts

#: Standard states, least to most advanced (used when no workflow definition is available).
STANDARD_STATES = ("draft", "explore", "propose", "apply")


@dataclass(frozen=True)
class Adopted:
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


def adopt_change(
    root: Path,
    change_id: str,
    workflow: str = "openspec",
    *,
    states: Sequence[str] = STANDARD_STATES,
    initial: str | None = None,
) -> Adopted:
    """Put open change ``change_id`` under ``workflow``; refuse a change already managed."""
    check_change_id(change_id)
    change_dir = root / "openspec" / "changes" / change_id
    if not change_dir.is_dir():
        raise OpenSpecError(
            f"no open change '{change_id}' in {change_dir.parent}",
            fix="list open changes with 'specflow list'",
        )
    if (change_dir / ".specflow" / "state.json").exists():
        try:
            existing = sm.read_state(change_dir) or {}
        except (SpecflowError, ValueError):  # unreadable: still managed, still refused
            existing = {}
        raise OpenSpecError(
            f"change '{change_id}' is already managed by specflow (workflow"
            f" '{existing.get('workflow')}', state '{existing.get('state')}')",
            fix=f"see it with 'specflow status {change_id}'; adopt only changes without .specflow/state.json",
        )
    first = initial if initial is not None else (states[0] if states else "draft")
    state, reason = infer_state(change_dir, states, first)
    now = sm.now_iso()
    sm.write_state(
        change_dir,
        {"version": 1, "workflow": workflow, "state": state, "created": now, "updated": now},
    )
    sm.append_event(
        change_dir,
        {
            "time": now,
            "trigger": "adopt",
            "from": None,
            "to": state,
            "outcome": "adopted",
            "reason": reason,
            "workflow": workflow,
        },
    )
    return Adopted(change_id, workflow, state, reason)


def unmanaged_changes(root: Path) -> list[str]:
    """Open changes that have no specflow state yet."""
    changes_dir = root / "openspec" / "changes"
    return [c for c in change_ids(changes_dir) if not (changes_dir / c / ".specflow" / "state.json").exists()]


__all__ = ["STANDARD_STATES", "Adopted", "adopt_change", "infer_state", "unmanaged_changes"]
