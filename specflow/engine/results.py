"""What a transition attempt produced, and how progress is reported while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from specflow.agents.base import AgentEvent, AgentResult, EventCallback
from specflow.steps.registry import StepOutcome


@dataclass
class AdvanceResult:
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


def emit(on_event: EventCallback, kind: Any, message: str, **data: Any) -> None:
    """Report engine progress through the same callback as the agent's events."""
    on_event(AgentEvent(kind, message, data))
