"""The commits a phase attempt makes on the change's branches, and its landing at the final state.

After the audit, the attempt (``specflow.engine.attempt``) commits what it left in the change's
repo worktrees (``commit_work``), then, with its record, the hub's worktree (``commit_records``):
one commit per repo per attempt, whose message names change, phase and attempt.  When the change
reaches its final state its hub branch lands on the hub's base branch (``land_final``), and an
archived change's worktrees go.  A change that is not on branches has nothing to commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from specflow.engine.results import emit
from specflow.errors import SpecflowError
from specflow.workspace import branches
from specflow.workspace.checkpoints import HUB_KEY

if TYPE_CHECKING:
    from specflow.agents.base import AgentResult, EventCallback
    from specflow.changestate.recordtypes import HistoryEvent
    from specflow.definitions.workflow import Scenario
    from specflow.engine.phasechange import PhaseChange
    from specflow.workspace.checkpoints import Checkpoint
    from specflow.workspace.workspaces import Workspaces


class AttemptLike(Protocol):
    """What the commits read of an attempt (``specflow.engine.attempt.Attempt``)."""

    @property
    def change(self) -> PhaseChange: ...

    @property
    def scenario(self) -> Scenario: ...

    @property
    def workspaces(self) -> Workspaces | None: ...

    @property
    def checkpoint(self) -> Checkpoint | None: ...

    @property
    def agent_result(self) -> AgentResult | None: ...

    @property
    def event(self) -> HistoryEvent: ...

    @property
    def on_event(self) -> EventCallback: ...


def commit_work(attempt: AttemptLike) -> None:
    """Commit what the attempt left in the change's repo worktrees (the audit has put back the
    rest); the hub's worktree is committed with the attempt's record (``commit_records``)."""
    if attempt.workspaces is None or not attempt.change.on_branch:
        return
    commits = attempt.workspaces.commit(_message(attempt), hub=False)
    if commits:
        attempt.event["commits"] = commits
        emit(attempt.on_event, "phase", f"committed the work on {len(commits)} branch(es)", commits=commits)


def commit_records(attempt: AttemptLike, outcome: str) -> None:
    """Commit the hub's worktree — the agent's work there and the change's state and history —
    on the change's hub branch: one commit per repo per attempt."""
    if attempt.workspaces is None or not attempt.change.on_branch:
        return
    attempt.workspaces.commit(_message(attempt, f"Specflow-Outcome: {outcome}"))


def _message(attempt: AttemptLike, *extra: str) -> str:
    """A commit message naming change, phase and attempt; trailers: session and checkpoint."""
    change, phase = attempt.change, attempt.scenario.to
    trailers = [f"Specflow-Change: {change.id}", f"Specflow-Phase: {phase}"]
    if attempt.agent_result is not None and attempt.agent_result.session_id:
        trailers.append(f"Specflow-Session: {attempt.agent_result.session_id}")
    if attempt.checkpoint is not None:
        trailers.append(f"Specflow-Checkpoint: {attempt.checkpoint.ref_name(HUB_KEY)}")
    subject = f"specflow({change.id}): {phase}, attempt {attempt.event.get('attempt')}"
    return subject + "\n\n" + "\n".join([*trailers, *extra]) + "\n"


def land_final(attempt: AttemptLike) -> None:
    """The change reached its final state: its hub branch lands on the hub's base branch."""
    if attempt.workspaces is None or not attempt.change.on_branch:
        return
    try:
        # commit_records has just committed everything the change's worktree held
        landed = branches.land(attempt.workspaces, message=branches.FINAL_MESSAGE, committed=True)
    except SpecflowError as exc:
        emit(
            attempt.on_event,
            "warning",
            f"the change's hub branch did not land on its base: {exc.message}",
            fix=f"fix what it names, then run 'specflow merge {attempt.change.id}'",
        )
        return
    emit(attempt.on_event, "phase", f"landed {landed.branch} on {landed.base} ({landed.status})")
    clean_up_final(attempt)


def clean_up_final(attempt: AttemptLike) -> None:
    """An archived change's worktrees go; its branches stay."""
    if not attempt.change.archived or attempt.workspaces is None:
        return
    try:
        removed = attempt.workspaces.remove_worktrees()
    except SpecflowError as exc:  # the change is archived; a leftover worktree is no failure
        attempt.event["cleanup_warning"] = exc.message
        emit(attempt.on_event, "warning", f"worktrees not removed: {exc.message}; 'specflow clean' retries")
        return
    if removed:
        emit(attempt.on_event, "phase", f"removed {len(removed)} worktree(s); branches kept")
    attempt.change.follow_archive()
