"""What a transition attempt produced, and how progress is reported while it runs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.agents.base import AgentEvent, AgentResult, EventCallback
from specflow.structs import Struct, field

if TYPE_CHECKING:  # annotations only: status and list read results without the steps or git
    from specflow.steps.registry import StepOutcome
    from specflow.workspace.checkpoints import Checkpoint


class AdvanceResult(Struct):
    """The outcome of one transition attempt."""

    change_id: str
    trigger: str
    from_state: str
    to_state: str | None
    outcome: str  # succeeded | failed | blocked | dry-run
    scenario: str = ""
    given: list[StepOutcome] = field(default_factory=list)
    then: list[StepOutcome] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    event: dict[str, Any] | None = None
    prompt: str | None = None
    agent: AgentResult | None = None
    violations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome in ("succeeded", "dry-run")

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change_id,
            "trigger": self.trigger,
            "from": self.from_state,
            "to": self.to_state,
            "outcome": self.outcome,
            "scenario": self.scenario,
            "given": [o.to_dict() for o in self.given],
            "then": [o.to_dict() for o in self.then],
            "reasons": self.reasons,
            "violations": self.violations,
            "agent": self.agent.to_dict() if self.agent else None,
            "prompt": self.prompt,
        }


class WorkspacePath(Struct, frozen=True):
    """Where one workspace of a change is: the hub, or a repo's worktree on its branch."""

    name: str
    path: Path
    branch: str | None
    exists: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "branch": self.branch, "exists": self.exists}


class CheckpointInfo(Struct, frozen=True):
    """A checkpoint, and how many files differ between it and the workspaces now."""

    checkpoint: Checkpoint
    changed_since: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.checkpoint.to_dict(), "changed_since": self.changed_since}


class ReposResult(Struct, frozen=True):
    """The repos a change affects after ``set_repos``, and what it added and removed."""

    change_id: str
    repos: list[str]
    added: list[str]
    removed: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change_id, "repos": self.repos, "added": self.added, "removed": self.removed}


class CleanResult(Struct, frozen=True):
    """What ``clean`` did: each worktree (repo, path) and whether it was removed."""

    change_id: str
    branch: str
    worktrees: list[tuple[str, Path, bool]]

    @property
    def removed(self) -> list[Path]:
        return [path for _, path, gone in self.worktrees if gone]

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change_id,
            "branch": self.branch,
            "worktrees": [{"repo": r, "path": str(p), "removed": gone} for r, p, gone in self.worktrees],
        }


def emit(on_event: EventCallback, kind: Any, message: str, **data: Any) -> None:
    """Report engine progress through the same callback as the agent's events."""
    on_event(AgentEvent(kind, message, data))
