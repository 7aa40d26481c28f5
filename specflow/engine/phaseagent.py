"""The agent of one phase attempt: what it is asked, and its start ahead of the prompt.

``phase_agent`` builds the agent's ``AgentRequest`` from the phase's and the agent's settings.
``PhaseAgent.start`` starts the agent at once when its adapter waits for the prompt before it
writes anything (``StartsAhead``), so its start-up overlaps the rendering of the prompt and the
checkpoint the attempt (``specflow.engine.attempt``) does next; its events are held until ``run``
lets it go on with the prompt.  An agent that cannot be started at all is a crashed result, not an
error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specflow.agents import get_adapter
from specflow.agents.base import AgentEvent, AgentRequest, AgentResult, EventCallback, Started, StartsAhead
from specflow.changestate.history import read_history, session_to_resume
from specflow.engine.evaluation import agent_settings, sandbox_settings
from specflow.errors import AgentError
from specflow.localdir import records_dir
from specflow.structs import Struct, replace

if TYPE_CHECKING:
    from specflow.definitions.workflow import StateDef
    from specflow.engine.phasechange import PhaseChange
    from specflow.workspace.gates import GatePolicy
    from specflow.workspace.workspaces import Workspaces


def _not_started(exc: AgentError) -> AgentResult:
    """The result of an agent that could not be started, keeping the way out (how to install it, ...)."""
    return AgentResult(status="crashed", error=exc.message + (f"; fix: {exc.fix}" if exc.fix else ""))


class PhaseAgent(Struct):
    """The agent a phase runs: its name and adapter, what it is asked, and its start ahead."""

    name: str
    adapter: str
    request: AgentRequest
    """Its request, but for the prompt: rendered while the agent starts, it comes with ``run``."""
    on_event: EventCallback
    _started: Started | None = None  # the agent started ahead of its prompt, waiting for it
    _start_failed: AgentResult | None = None  # why the agent could not even be started
    _held: list[AgentEvent] | None = None  # its events until the checkpoint is taken

    def start(self) -> None:
        """Start the agent now when its adapter waits for the prompt before it writes anything
        (``StartsAhead``): its start-up overlaps the prompt's rendering and the checkpoint.  Its
        events are held until the checkpoint is taken (``run``), so the attempt records them in the
        usual order."""
        try:
            adapter = get_adapter(self.adapter)
            if isinstance(adapter, StartsAhead):
                self._held = []
                self._started = adapter.start(self.request, self._agent_event)
        except AgentError as exc:
            self._start_failed = _not_started(exc)

    def cancel(self) -> None:
        """Stop the agent started ahead, which never got its prompt (the template or the checkpoint
        failed, or the run was interrupted before the agent was let go)."""
        if self._started is not None:
            self._started.cancel()
            self._started = None

    def run(self, prompt: str) -> AgentResult:
        """The agent's result on ``prompt``, once the checkpoint is taken: its held events reported,
        then the agent started ahead let go on (or run now, where its adapter cannot start it ahead)."""
        held, self._held = self._held or [], None
        try:
            for ev in held:
                self.on_event(ev)
            if self._start_failed is not None:
                return self._start_failed
            if self._started is not None:
                started, self._started = self._started, None  # from here on it stops itself
                return started.finish(prompt)
            return get_adapter(self.adapter).run(replace(self.request, prompt=prompt), self.on_event)
        except AgentError as exc:
            return _not_started(exc)

    def _agent_event(self, ev: AgentEvent) -> None:
        """An event of an agent started ahead: held until the checkpoint is taken, then as usual."""
        if self._held is not None:
            self._held.append(ev)
        else:
            self.on_event(ev)


def phase_agent(
    change: PhaseChange,
    target: StateDef,
    phase: str,
    workspaces: Workspaces,
    gate: GatePolicy,
    *,
    agent: str | None,
    fresh: bool,
    on_event: EventCallback,
) -> PhaseAgent:
    """The agent ``phase`` runs (``agent`` when the person named one) and what it is asked, from the
    phase's and the agent's settings; a ``fresh`` attempt resumes no earlier session."""
    config = change.hub.config
    name = agent or target.agent or config.default_agent
    settings = agent_settings(config, name)
    options: dict[str, Any] = dict(settings.options)
    if settings.command is not None:
        options["command"] = list(settings.command)
    if settings.binary is not None:
        options["binary"] = settings.binary
    history = read_history(change.dir)
    resume = None if fresh else session_to_resume(history, phase, name)
    request = AgentRequest(
        prompt="",  # rendered while the agent starts: it comes with ``PhaseAgent.run``
        cwd=workspaces.agent_cwd(worktrees=target.gate.worktrees),
        gate=gate,
        hub=change.root,  # the hub as the change sees it: its own worktree
        change_id=change.id,
        phase=phase,
        transcript_dir=records_dir(change.hub.root) / "transcripts" / change.id,
        model=target.model or settings.model,
        resume_session=resume,
        max_turns=target.max_turns or settings.max_turns,
        timeout=target.timeout or settings.timeout,
        budget_usd=target.budget_usd or settings.budget_usd,
        env=dict(settings.env),
        options=options,
        sandbox=sandbox_settings(config, target, agent),
    )
    return PhaseAgent(name, settings.adapter, request, on_event)
