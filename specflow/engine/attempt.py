"""One attempt at a phase: the work done when a transition enters a state.

The pipeline is a sequence of short steps over one ``Attempt`` holding what the attempt has
found so far: start (in-flight record) → prepare workspaces → gate → start the agent ahead of
its prompt when its adapter can (``StartsAhead``) → render → checkpoint → run the agent → audit →
save its record → actions → ``then`` steps → finish (history, state).
``specflow.engine.engine`` decides *whether* a transition runs (lock, recovery, choosing,
firing); this module runs it: up to starting the agent (``begin``) before the change's machine is
made, the rest (``run``) inside the transition.  The agent's request and its start ahead are
``specflow.engine.phaseagent``'s; the commits and the landing at the final state,
``specflow.engine.phasecommits``'s.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow import digests
from specflow.agents.base import AgentEvent, AgentResult, EventCallback
from specflow.changestate import recordfiles, records, recordtypes
from specflow.changestate.approvals import void_reason
from specflow.changestate.history import read_history
from specflow.changestate.machine_id import host_name
from specflow.changestate.recordtypes import HistoryEvent, InFlight, StateRecord
from specflow.definitions.workflow import Scenario, StateDef, Workflow
from specflow.engine.context import phase_gate, phase_prompt
from specflow.engine.evaluation import evaluate, step_context
from specflow.engine.events import save_prompt
from specflow.engine.phaseagent import PhaseAgent, phase_agent
from specflow.engine.phasecommits import commit_records, commit_work, land_final
from specflow.engine.results import AdvanceResult, emit
from specflow.errors import SpecflowError, TemplateError
from specflow.steps.actions import build_actions
from specflow.steps.registry import StepContext, StepOutcome
from specflow.structs import Struct, field
from specflow.workspace.workspaces import for_change

if TYPE_CHECKING:
    from specflow.engine.phasechange import PhaseChange
    from specflow.workspace.checkpoints import Checkpoint
    from specflow.workspace.gates import GatePolicy
    from specflow.workspace.workspaces import Workspaces


class AttemptOptions(Struct):
    """How the person asked for the attempt to run."""

    trigger: str
    agent: str | None = None
    fresh: bool = False


class Attempt(Struct):
    """One attempt at entering ``scenario.to``: its inputs, and what it has found so far."""

    change: PhaseChange
    workflow: Workflow
    record: StateRecord
    scenario: Scenario
    given: list[StepOutcome]
    options: AttemptOptions
    on_event: EventCallback
    started: float = field(default_factory=time.monotonic)
    reasons: list[str] = field(default_factory=list)
    event: HistoryEvent = field(default_factory=lambda: HistoryEvent())
    flight: InFlight = field(default_factory=lambda: InFlight())
    workspaces: Workspaces | None = None
    gate: GatePolicy | None = None
    prompt: str = ""
    checkpoint: Checkpoint | None = None
    agent: PhaseAgent | None = None
    agent_result: AgentResult | None = None
    then: list[StepOutcome] = field(default_factory=list)
    # the change's records as they were before the attempt, and before the agent ran
    _pristine: dict[Path, bytes | None] = field(default_factory=dict)
    _records_before: dict[Path, bytes | None] = field(default_factory=dict)
    _layer: str | None = None  # the sandbox layer the adapter reported
    _begun: bool = False  # ``begin`` ran: the in-flight record is written, the phase made ready
    _failed_early: BaseException | None = None  # what ``begin`` met, raised again by ``run``
    _ran: bool = False  # ``run`` (or ``abandon``) was called: what ``begin`` did is accounted for

    @property
    def target(self) -> StateDef:
        return self.workflow.states[self.scenario.to]

    @property
    def change_dir(self) -> Path:
        return self.change.dir

    # -- the pipeline -----------------------------------------------------------------------

    def begin(self) -> None:
        """Write the in-flight record and get the phase ready, up to starting its agent ahead where
        its adapter allows (``start_agent``).  The engine calls this before it makes the change's
        machine, so the agent's start-up overlaps that too; whatever fails here is raised where
        the phase runs (``run``), and handled there as it would have been."""
        self.start()
        self._begun = True
        try:
            self.ready()
        except BaseException as exc:  # raised again by ``run``, inside the machine's transition
            self._failed_early = exc

    def abandon(self) -> None:
        """Undo ``begin`` when the phase never ran (the machine was not made, or an interrupt came
        first): the agent started ahead is stopped, the change's records are as they were."""
        if not self._begun or self._ran:
            return
        self._ran = True
        self.cancel_agent()
        records.restore_records(self.change_dir, self._pristine)
        self.record["in_flight"] = None

    def run(self) -> AdvanceResult:
        """Run every step; a failure is a reason, a template error leaves no trace at all."""
        self._ran = True
        if not self._begun:
            self.start()
        try:
            if not self._begun:
                self.ready()
            elif self._failed_early is not None:
                early, self._failed_early = self._failed_early, None
                raise early
            self.steps()
        except TemplateError:
            # nothing ran: the change is left as it was (no attempt, no checkpoint); fix the template
            records.restore_records(self.change_dir, self._pristine)
            self.record["in_flight"] = None
            raise
        except SpecflowError as exc:
            self.reasons.append(exc.message)
        except BaseException as exc:
            # Ctrl-C or a bug: leave the in-flight record (status shows 'interrupted') and re-raise
            if isinstance(exc, Exception):
                self.reasons = [f"internal error: {type(exc).__name__}: {exc}"]
                commit_work(self)
                self.finish()
            raise
        commit_work(self)
        result = self.finish()
        if result.outcome == "succeeded" and self.target.final:
            land_final(self)
        recordfiles.settle()  # the records are on disk before the attempt says how it ended
        return result

    def ready(self) -> None:
        """The change's workspaces; for a phase that runs an agent, its gate, the agent started
        ahead of its prompt where its adapter allows, and the prompt (rendered while the agent's
        runtime loads: a template error stops the agent, which never got it)."""
        self.workspaces = for_change(self.change, self.record.get("repos"))
        if self.target.runs_agent:
            self.prepare_workspaces()
            self.start_agent()
            try:
                self.render()
            except BaseException:
                self.cancel_agent()
                raise

    def steps(self) -> None:
        if self.target.runs_agent:
            try:
                self.take_checkpoint()
                self.run_agent()
            except BaseException:
                self.cancel_agent()  # nothing left to stop once the agent was let go
                raise
            self.audit()
            self.save_record()
        if self.reasons:
            return
        ctx = step_context(self.change, self.record, phase=self.scenario.to, workspaces=self.workspaces)
        if self.target.actions:
            self.run_actions(ctx)
        if not self.reasons:
            self.check_then(ctx)

    def start(self) -> None:
        """Write the in-flight record, so a crash from here on is recovered by the next advance."""
        sc, state = self.scenario, self.record["state"]
        history = read_history(self.change_dir)
        number = 1 + sum(1 for ev in history if ev.get("to") == sc.to and ev.get("outcome") in recordtypes.ATTEMPTS)
        self.event = HistoryEvent(
            trigger=self.options.trigger,
            scenario=sc.scenario,
            attempt=number,
            given=[o.to_dict() for o in self.given],
        )
        self.event["from"], self.event["to"] = state, sc.to
        self.flight = InFlight(
            trigger=self.options.trigger,
            scenario=sc.scenario,
            started=records.now_iso(),
            pid=os.getpid(),
            host=host_name(),
            attempt=number,
        )
        self.flight["from"], self.flight["to"] = state, sc.to
        self._pristine = records.snapshot_records(self.change_dir)
        records.mark_in_flight(self.change_dir, self.record, self.flight)
        emit(self.on_event, "phase", f"{state} -> {sc.to}: {sc.scenario}", **{"from": state, "to": sc.to})

    def prepare_workspaces(self) -> None:
        assert self.workspaces is not None
        if self.change.on_branch:
            self.workspaces.ensure_hub(self.on_event)
        if self.target.gate.worktrees:
            emit(self.on_event, "phase", "preparing worktrees")
            self.workspaces.ensure_worktrees(self.on_event)
        self.gate = phase_gate(self.change, self.workflow, self.scenario.to, self.workspaces)
        self.event["gate"] = self.gate.to_dict()
        emit(self.on_event, "phase", "gate: " + self.gate.describe().replace("\n", " "), gate=self.gate.to_dict())

    def render(self) -> None:
        """Rendered before anything is recorded: a template error is the workflow's, not an attempt."""
        assert self.workspaces is not None and self.gate is not None
        self.prompt = phase_prompt(
            self.change, self.workflow, self.record, self.scenario, self.scenario.to, self.workspaces, self.gate
        )
        self.event["prompt_sha256"] = digests.sha256(self.prompt.encode("utf-8")).hexdigest()
        save_prompt(self.change.hub.root, self.change.id, self.event["prompt_sha256"], self.prompt)

    def take_checkpoint(self) -> None:
        assert self.workspaces is not None
        self.checkpoint = self.workspaces.checkpoint(phase=self.scenario.to, state=self.record["state"])
        self.event["checkpoint"] = self.checkpoint.to_dict()
        self.flight["checkpoint"] = self.checkpoint.number
        # persisted, so a run killed from here on is audited against it by the next advance
        records.note_in_flight(self.change_dir, self.record, self.flight)
        emit(self.on_event, "phase", f"checkpoint #{self.checkpoint.number}", checkpoint=self.checkpoint.number)

    def start_agent(self) -> None:
        """The phase's agent and its request, started now where its adapter allows
        (``PhaseAgent.start``): its start-up overlaps the prompt's rendering and the checkpoint."""
        assert self.workspaces is not None and self.gate is not None
        self.agent = phase_agent(
            self.change,
            self.target,
            self.scenario.to,
            self.workspaces,
            self.gate,
            agent=self.options.agent,
            fresh=self.options.fresh,
            on_event=self._on_agent_event,
        )
        self.agent.start()

    def cancel_agent(self) -> None:
        """Stop the agent started ahead, which never got its prompt (``PhaseAgent.cancel``)."""
        if self.agent is not None:
            self.agent.cancel()

    def run_agent(self) -> None:
        assert self.workspaces is not None and self.gate is not None and self.checkpoint is not None
        assert self.agent is not None
        agent = self.agent
        emit(self.on_event, "phase", f"running agent {agent.name} ({agent.adapter})", agent=agent.name)
        recordfiles.settle()  # the in-flight record is on disk before the agent may write anything
        self._records_before = records.snapshot_records(self.change_dir)
        try:
            result = agent.run(self.prompt)
        except BaseException:
            # interrupted (Ctrl-C, SIGTERM): the adapter has stopped the agent; still put back
            # whatever it wrote outside its gate before giving up
            self.cancel_agent()
            records.restore_records(self.change_dir, self._records_before)
            self.workspaces.audit(self.checkpoint, self.gate, attempt=self.event.get("attempt"))
            raise
        result.sandbox = result.sandbox or self._layer
        self.event["sandbox"] = result.sandbox
        self.agent_result = result
        self.event["agent"] = {"name": agent.name, "adapter": agent.adapter, **result.to_dict()}
        if result.session_id:
            self.flight["session_id"] = result.session_id
        if not result.ok:
            self.reasons.append(f"agent {agent.name}: {result.error or result.status}")

    def _on_agent_event(self, ev: AgentEvent) -> None:
        if ev.kind == "sandbox":
            # the tree's root and mark, so an advance after a kill -9 can end what survived
            self._layer = str(ev.data.get("layer"))
            self.flight["agent_tree"] = {k: ev.data.get(k) for k in ("pid", "started", "marker", "layer", "tmpdir")}
            records.note_in_flight(self.change_dir, self.record, self.flight)
            self._records_before.update(records.snapshot_records(self.change_dir))
        self.on_event(ev)

    def audit(self) -> None:
        """Put back what the agent wrote outside its gate, and specflow's own records."""
        assert self.workspaces is not None and self.gate is not None and self.checkpoint is not None
        tampered = records.restore_records(self.change_dir, self._records_before)
        report = self.workspaces.audit(self.checkpoint, self.gate, attempt=self.event.get("attempt"))
        self.event["gate_violations"] = list(report.to_dict().get("violations", [])) + tampered
        if report.rejected:
            self.event["rejected"] = report.rejected.to_dict()
        if not report.ok:
            emit(self.on_event, "warning", report.summary(), violations=self.event["gate_violations"])
            self.reasons.append("the agent wrote outside its gate (put back): " + report.summary())
        if tampered:
            paths = ", ".join(v["path"] for v in tampered)
            emit(self.on_event, "warning", f"the agent changed specflow's records ({paths}); put back")
            self.reasons.append(f"the agent changed specflow's own records (put back): {paths}")

    def save_record(self) -> None:
        """Save the agent's final answer as the phase's record file (e.g. ``exploration.md``)."""
        if self.reasons or not self.target.record or self.agent_result is None:
            return
        path = self.change_dir / self.target.record
        text = self.agent_result.final_text
        recordfiles.atomic_write(path, text if text.endswith("\n") else text + "\n")
        self.event["record"] = str(path.relative_to(self.change.root))

    def run_actions(self, ctx: StepContext) -> None:
        """Run the phase's built-in actions (in the change's own worktree of the hub)."""
        actions = build_actions()
        done: list[dict[str, Any]] = []
        for name in self.target.actions:
            emit(self.on_event, "phase", f"action {name}")
            try:
                summary = actions[name](ctx)
            except SpecflowError as exc:
                self.reasons.append(f"action {name} failed: {exc.message}")
                done.append({"action": name, "ok": False, "reason": exc.message})
                break
            done.append({"action": name, "ok": True, "summary": summary})
            self.change.follow_archive()
            ctx.change_dir = self.change_dir
        self.event["actions"] = done

    def check_then(self, ctx: StepContext) -> None:
        if self.agent_result is not None:
            # the attempt is not in history yet: let steps (e.g. cost budgets) see it
            ctx.extra["agent"] = self.agent_result.to_dict()
        self.then = evaluate(self.change, self.scenario.then, ctx, self.on_event, "then")
        self.event["then"] = [o.to_dict() for o in self.then]
        self.reasons += [f"{o.text}: {o.reason}" for o in self.then if not o.ok]

    def finish(self) -> AdvanceResult:
        """Record the attempt: the history event, and the state (moved on success)."""
        self.change.follow_archive()
        outcome: recordtypes.Outcome = "failed" if self.reasons else "succeeded"
        self.event["duration_s"] = round(time.monotonic() - self.started, 3)
        voided = void_reason(
            list(self.workflow.states),
            self.record,
            self.options.trigger,
            self.scenario.to,
            succeeded=not self.reasons,
        )
        if voided is not None:
            records.void_approvals(self.record, self.event, voided)
        event = records.end_attempt(
            self.change_dir,
            self.record,
            self.event,
            outcome,
            self.reasons,
            new_state=None if self.reasons else self.scenario.to,
        )
        commit_records(self, outcome)
        sc = self.scenario
        return AdvanceResult(
            self.change.id,
            self.options.trigger,
            str(event.get("from")),
            sc.to,
            outcome,
            sc.scenario,
            given=self.given,
            then=self.then,
            reasons=list(self.reasons),
            event=dict(event),
            agent=self.agent_result,
            violations=list(self.event.get("gate_violations", [])),
        )
