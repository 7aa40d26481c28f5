"""A change's history as a timeline: every attempt with its steps, reasons, refused writes and cost.

``build_timeline(change)`` turns the raw history events into typed ``Entry``s a page (or any other
tool) can show without knowing the history's format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from specflow.engine.events import prompt_path
from specflow.engine.phasechange import PhaseChange
from specflow.structs import Struct, field


class StepCheck(Struct, frozen=True):
    """One ``given`` or ``then`` step as an attempt evaluated it."""

    stage: str
    text: str
    ok: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "text": self.text, "ok": self.ok, "reason": self.reason}


class RefusedWrite(Struct, frozen=True):
    """A write the audit put back, and how to get its content again."""

    workspace: str
    path: str
    kind: str
    detail: str
    restore: str

    def to_dict(self) -> dict[str, str]:
        return {
            "workspace": self.workspace,
            "path": self.path,
            "kind": self.kind,
            "detail": self.detail,
            "restore": self.restore,
        }


class Entry(Struct, frozen=True):
    """One history event: an attempt, an approval, a creation, a blocked transition."""

    index: int
    time: str
    trigger: str
    from_state: str | None
    to_state: str | None
    outcome: str
    scenario: str = ""
    attempt: int | None = None
    reasons: list[str] = field(default_factory=list)
    steps: list[StepCheck] = field(default_factory=list)
    refused: list[RefusedWrite] = field(default_factory=list)
    agent: str | None = None
    model: str | None = None
    session_id: str | None = None
    cost_usd: float | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    duration_s: float | None = None
    checkpoint: int | None = None
    prompt_sha256: str | None = None
    prompt_kept: bool = False
    final_text: str = ""
    note: str | None = None
    by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": self.time,
            "trigger": self.trigger,
            "from": self.from_state,
            "to": self.to_state,
            "outcome": self.outcome,
            "scenario": self.scenario,
            "attempt": self.attempt,
            "reasons": list(self.reasons),
            "steps": [s.to_dict() for s in self.steps],
            "refused": [r.to_dict() for r in self.refused],
            "agent": self.agent,
            "model": self.model,
            "session_id": self.session_id,
            "cost_usd": self.cost_usd,
            "tokens": dict(self.tokens),
            "duration_s": self.duration_s,
            "checkpoint": self.checkpoint,
            "prompt_sha256": self.prompt_sha256,
            "prompt_kept": self.prompt_kept,
            "final_text": self.final_text,
            "note": self.note,
            "by": self.by,
        }


class Timeline(Struct, frozen=True):
    """A change's history, oldest first."""

    change_id: str
    entries: list[Entry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change_id, "entries": [e.to_dict() for e in self.entries]}


def _restore_hint(change_id: str, violation: dict[str, Any], checkpoint: int | None, command: str | None) -> str:
    """How to get the agent's refused write back: the audit's save and its restore command."""
    saved = violation.get("saved") or violation.get("restore")
    if saved and command:
        return f"saved at {saved}; bring it back with '{command}'"
    if saved:
        return str(saved)
    if checkpoint is not None:
        return (
            f"the agent's version is gone from the workspace; the state before the attempt is"
            f" checkpoint #{checkpoint} ('specflow revert {change_id} --to {checkpoint}')"
        )
    return "put back to its version before the attempt"


def _entry(change: PhaseChange, index: int, ev: Mapping[str, Any]) -> Entry:
    agent: dict[str, Any] = ev["agent"] if isinstance(ev.get("agent"), dict) else {}
    checkpoint = _checkpoint(ev)
    # who approved, or who rejected with what note: the timeline shows either the same way
    said = ev.get("approval") or ev.get("rejection")
    approval: dict[str, Any] = dict(said) if isinstance(said, dict) else {}
    sha = ev.get("prompt_sha256")
    tokens: dict[str, Any] = agent["tokens"] if isinstance(agent.get("tokens"), dict) else {}
    cost = agent.get("cost_usd")
    duration = ev.get("duration_s")
    return Entry(
        index=index,
        time=str(ev.get("time") or ""),
        trigger=str(ev.get("trigger") or ""),
        from_state=ev.get("from"),
        to_state=ev.get("to"),
        outcome=str(ev.get("outcome") or ""),
        scenario=str(ev.get("scenario") or ""),
        attempt=ev.get("attempt") if isinstance(ev.get("attempt"), int) else None,
        reasons=[str(r) for r in ev.get("reasons") or []],
        steps=_steps(ev),
        refused=_refused_writes(change.id, ev, checkpoint) + _refused_calls(agent),
        agent=agent.get("name"),
        model=agent.get("model"),
        session_id=agent.get("session_id"),
        cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
        tokens={str(k): int(v) for k, v in tokens.items() if isinstance(v, (int, float))},
        duration_s=float(duration) if isinstance(duration, (int, float)) else None,
        checkpoint=checkpoint,
        prompt_sha256=str(sha) if sha else None,
        prompt_kept=bool(sha) and prompt_path(change.hub.root, change.id, str(sha)).is_file(),
        final_text=str(agent.get("final_text") or ""),
        note=approval.get("note"),
        by=approval.get("by"),
    )


def _checkpoint(ev: Mapping[str, Any]) -> int | None:
    """The attempt's checkpoint number (recorded as a number, or as ``{"number": n, ...}``)."""
    raw = ev.get("checkpoint")
    number = raw.get("number") if isinstance(raw, dict) else raw
    return number if isinstance(number, int) else None


def _steps(ev: Mapping[str, Any]) -> list[StepCheck]:
    return [
        StepCheck(stage, str(s.get("step", "")), bool(s.get("ok")), str(s.get("reason") or ""))
        for stage in ("given", "then")
        for s in ev.get(stage) or []
        if isinstance(s, dict)
    ]


def _refused_writes(change_id: str, ev: Mapping[str, Any], checkpoint: int | None) -> list[RefusedWrite]:
    """What the audit found outside the gate, each with how to get the agent's version back."""
    rejected = ev.get("rejected")
    command = str(rejected["command"]) if isinstance(rejected, dict) and rejected.get("command") else None
    return [
        RefusedWrite(
            str(v.get("workspace") or "hub"),
            str(v.get("path") or ""),
            str(v.get("kind") or "changed"),
            str(v.get("detail") or ""),
            _restore_hint(change_id, v, checkpoint, command),
        )
        for v in ev.get("gate_violations") or []
        if isinstance(v, dict)
    ]


def _refused_calls(agent: Mapping[str, Any]) -> list[RefusedWrite]:
    """Tool calls the agent's own gate refused before they ran."""
    calls: list[Any] = agent["refused_calls"] if isinstance(agent.get("refused_calls"), list) else []
    return [
        RefusedWrite(
            "agent",
            str(call.get("path") or call.get("file_path") or call.get("tool") or ""),
            "refused call",
            str(call.get("reason") or call.get("message") or ""),
            "refused before it ran: nothing to restore",
        )
        for call in calls
        if isinstance(call, dict)
    ]


def build_timeline(change: PhaseChange) -> Timeline:
    """The change's history as typed entries, oldest first."""
    return Timeline(change.id, [_entry(change, i, ev) for i, ev in enumerate(change.history())])


__all__ = ["Entry", "RefusedWrite", "StepCheck", "Timeline", "build_timeline"]
