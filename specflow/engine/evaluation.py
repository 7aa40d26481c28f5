"""Evaluating a change's ``given`` and ``then`` steps, and choosing the agent a phase runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from specflow.agents import adapter_names
from specflow.agents.base import EventCallback
from specflow.changestate.recordtypes import StateRecord
from specflow.engine.results import emit
from specflow.errors import AgentError
from specflow.sandbox.settings import SandboxSettings, settings_for
from specflow.steps.registry import StepContext, StepOutcome

if TYPE_CHECKING:
    from specflow.definitions.config import AgentConfig, HubConfig
    from specflow.definitions.workflow import StateDef
    from specflow.engine.phasechange import PhaseChange
    from specflow.workspace.workspaces import Workspaces


def step_context(
    change: PhaseChange, record: StateRecord, phase: str | None = None, workspaces: Workspaces | None = None
) -> StepContext:
    """What the steps of ``change`` see, in state ``record['state']`` (entering ``phase``)."""
    hub = change.hub
    return StepContext(
        hub_root=change.root,
        hub_checkout=hub.root,
        change_id=change.id,
        change_dir=change.dir,
        state=record["state"],
        config=hub.config,
        workspaces=workspaces.existing() if workspaces is not None else {},
        change=change,
        phase=phase,
        command_timeout=hub.config.command_timeout,
    )


def evaluate(
    change: PhaseChange, steps: tuple[str, ...], ctx: StepContext, on_event: EventCallback, kind: str
) -> list[StepOutcome]:
    """Evaluate ``steps`` in order (every one, so a person sees all that fails), reporting each."""
    outcomes = []
    for text in steps:
        outcome = change.hub.steps.evaluate(text, ctx)
        outcomes.append(outcome)
        mark = "ok" if outcome.ok else "FAILED"
        why = f" ({outcome.reason})" if outcome.reason and not outcome.ok else ""
        emit(
            on_event, "step", f"{kind} {text}: {mark}{why}", step=text, ok=outcome.ok, reason=outcome.reason, stage=kind
        )
    return outcomes


def sandbox_settings(config: HubConfig, phase: StateDef, agent: str | None = None) -> SandboxSettings:
    """The sandbox a phase's agent runs in: the hub's and the agent's settings, the phase's network."""
    return settings_for(config, agent_settings(config, agent or phase.agent or config.default_agent), phase.network)


def agent_settings(config: HubConfig, name: str) -> AgentConfig:
    """The configuration of agent ``name``: one defined in ``specflow.yaml``, or a bare adapter."""
    agent = config.agent(name)
    if name not in config.agents and agent.adapter not in adapter_names():
        known = sorted(set(config.agents) | set(adapter_names()))
        raise AgentError(
            f"unknown agent {name!r} (known: {', '.join(known)})",
            fix="define it under 'agents:' in specflow.yaml, or pass one of the known names",
        )
    return agent
