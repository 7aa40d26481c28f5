"""What ``specflow advance`` does, step by step (see DESIGN.md):

1. load the change and its workflow; take the change's lock;
2. pick the scenario for the trigger; evaluate its ``given`` steps (the machine's conditions);
3. write an in-flight record, so a crash later is recoverable;
4. prepare the target phase's workspaces; 5. checkpoint them;
6. render the phase's prompt; 7. run the agent through its adapter, inside the gate;
8. audit every workspace against the checkpoint (out-of-gate changes put back, the attempt fails);
9. run the phase's actions, then check the ``then`` steps;
10. on success move to the target state; in every case append the history event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specflow.agents.base import EventCallback, ignore_event
from specflow.engine.attempt import PhaseRun
from specflow.engine.records import (
    append_event,
    now_iso,
    read_history,
    write_state,
)
from specflow.engine.results import AdvanceResult, emit
from specflow.errors import (
    AgentError,
    GuardFailed,
    PhaseFailed,
    TransitionError,
)
from specflow.steps.registry import StepContext, StepOutcome

if TYPE_CHECKING:
    from specflow.definitions.workflow import Scenario, Workflow
    from specflow.engine.hub import Change
    from specflow.workspace.gates import GatePolicy
    from specflow.workspace.workspaces import Workspaces

MAX_CHAIN = 64  # bound on transitions taken by one 'advance --to'


class _PhaseAbort(Exception):
    """Raised inside the transition to abort it; carries the failed result."""

    def __init__(self, result: AdvanceResult) -> None:
        super().__init__("; ".join(result.reasons))
        self.result = result


class Engine:
    """Runs transitions of one change."""

    def __init__(self, change: Change) -> None:
        self.change = change
        self.hub = change.hub

    # -- public ---------------------------------------------------------------------------

    def run(
        self,
        trigger: str,
        *,
        to: str | None = None,
        agent: str | None = None,
        on_event: EventCallback | None = None,
        dry_run: bool = False,
        fresh: bool = False,
    ) -> list[AdvanceResult]:
        from specflow.engine.lock import ChangeLock

        on_event = on_event or ignore_event
        record = self.change.require_record()
        workflow = self._workflow_of(record)
        if to is not None and to not in workflow.states:
            raise TransitionError(
                f"unknown state {to!r} in workflow {workflow.name!r}",
                fix="states: " + ", ".join(workflow.states),
            )
        if agent is not None:
            self._agent_config(agent)  # fail early on an unknown agent
        if dry_run:
            return [self._dry_run(workflow, record, trigger, to)]
        results: list[AdvanceResult] = []
        with ChangeLock(self.hub.root, self.change.id, command=trigger) as lock:
            if lock.taken_over is not None:
                emit(on_event, "warning", f"took over a stale lock left by {lock.taken_over.describe()}")
            record = self.change.require_record()
            self._recover_interrupted(workflow, record, on_event)
            for _ in range(MAX_CHAIN):
                record = self.change.require_record()
                state = record["state"]
                if to is not None and state == to and results:
                    break
                target = self._next_target(workflow, state, trigger, to)
                try:
                    result = self._attempt(workflow, record, trigger, target, agent, fresh, on_event)
                except (GuardFailed, PhaseFailed) as exc:
                    exc.results = results + exc.results
                    raise
                results.append(result)
                if to is None or result.to_state == to or workflow.states[result.to_state or state].final:
                    break
        return results

    def _workflow_of(self, record: dict[str, Any]) -> Workflow:
        """The change's workflow, checked to know the state the change is in."""
        from specflow.errors import StateError

        workflow = self.hub.workflow(record.get("workflow"))
        if record["state"] not in workflow.states:
            raise StateError(
                f"change '{self.change.id}' is in state {record['state']!r}, which workflow"
                f" {workflow.name!r} ({workflow.source}) does not define; known: {', '.join(workflow.states)}",
                fix="restore the workflow's state, or set 'state' in the change's .specflow/state.json to a known one",
            )
        return workflow

    def render_prompt(self, state: str | None = None) -> str:
        """The prompt of phase ``state`` (default: the next ``advance`` target), without running it."""
        return str(self.prompt_info(state)["prompt"])

    def prompt_info(self, state: str | None = None) -> dict[str, Any]:
        """``render_prompt`` with what it rendered: the phase, its template (name and file) and gate."""
        from specflow.engine.prompts import PromptRenderer

        record = self.change.require_record()
        workflow = self._workflow_of(record)
        scenario: Scenario | None = None
        if state is None:
            candidates = workflow.scenarios_from(record["state"], "advance")
            if not candidates:
                raise TransitionError(f"no 'advance' from state {record['state']!r}", fix="name a phase with --state")
            scenario = candidates[0]
            state = scenario.to
        elif state not in workflow.states:
            raise TransitionError(f"unknown state {state!r}", fix="states: " + ", ".join(workflow.states))
        else:
            found = [sc for sc in workflow.scenarios if sc.to == state]
            scenario = found[0] if found else None
        text, gate = self._render(workflow, record, scenario, state)
        template = workflow.states[state].prompt
        path = PromptRenderer(self.hub.root).find(template) if template else None
        return {
            "change": self.change.id,
            "state": state,
            "template": template,
            "template_path": str(path) if path else None,
            "gate": gate.to_dict() if gate else None,
            "prompt": text,
        }

    # -- steps ----------------------------------------------------------------------------

    def _next_target(self, workflow: Workflow, state: str, trigger: str, to: str | None) -> str | None:
        if workflow.states[state].final:
            raise TransitionError(
                f"change '{self.change.id}' is in the final state {state!r}; nothing leaves it",
                fix="start a new change with 'specflow new'",
            )
        candidates = workflow.scenarios_from(state, trigger)
        if not candidates:
            triggers = workflow.triggers_from(state)
            raise TransitionError(
                f"no scenario for {trigger!r} from state {state!r} in workflow {workflow.name!r}",
                fix=("triggers from here: " + ", ".join(triggers)) if triggers else "this state has no way out",
            )
        if to is None:
            return None
        if any(sc.to == to for sc in candidates):
            return to
        path = workflow.path_to(state, to, trigger)
        if not path:
            raise TransitionError(
                f"state {to!r} cannot be reached from {state!r} with {trigger!r}",
                fix="reachable next: " + ", ".join(sc.to for sc in candidates),
            )
        return path[0].to

    def _context(
        self, record: dict[str, Any], phase: str | None = None, workspaces: Workspaces | None = None
    ) -> StepContext:
        return StepContext(
            hub_root=self.hub.root,
            change_id=self.change.id,
            change_dir=self.change.dir,
            state=record["state"],
            config=self.hub.config,
            workspaces=workspaces.existing() if workspaces is not None else {},
            change=self.change,
            phase=phase,
            command_timeout=self.hub.config.command_timeout,
        )

    def _evaluate(
        self, steps: tuple[str, ...], ctx: StepContext, on_event: EventCallback, kind: str
    ) -> list[StepOutcome]:
        outcomes = []
        for text in steps:
            outcome = self.hub.steps.evaluate(text, ctx)
            outcomes.append(outcome)
            mark = "ok" if outcome.ok else "FAILED"
            emit(
                on_event,
                "step",
                f"{kind} {text}: {mark}" + (f" ({outcome.reason})" if outcome.reason and not outcome.ok else ""),
                step=text,
                ok=outcome.ok,
                reason=outcome.reason,
                stage=kind,
            )
        return outcomes

    def _workspaces(self, record: dict[str, Any]) -> Workspaces:
        from specflow.workspace.workspaces import Workspaces

        return Workspaces(self.hub.root, self.hub.config, self.change.id, list(record.get("repos") or []))

    def _agent_config(self, name: str) -> Any:
        config = self.hub.config
        from specflow.agents import adapter_names

        agent = config.agent(name)
        if name not in config.agents and agent.adapter not in adapter_names():
            known = sorted(set(config.agents) | set(adapter_names()))
            raise AgentError(
                f"unknown agent {name!r} (known: {', '.join(known)})",
                fix="define it under 'agents:' in specflow.yaml, or pass one of the known names",
            )
        return agent

    def _gate(self, workflow: Workflow, phase: str, workspaces: Workspaces) -> GatePolicy:
        from specflow.engine.context import glob_context
        from specflow.engine.prompts import PromptRenderer

        spec = workflow.states[phase].gate
        renderer = PromptRenderer(self.hub.root)
        gctx = glob_context(self.change)
        write = [renderer.render_string(g, gctx) for g in spec.write]
        return workspaces.policy(read_only=spec.read_only, write=write, worktrees=spec.worktrees, phase=phase)

    def _render(
        self,
        workflow: Workflow,
        record: dict[str, Any],
        scenario: Scenario | None,
        phase: str,
        workspaces: Workspaces | None = None,
        gate: GatePolicy | None = None,
    ) -> tuple[str, GatePolicy | None]:
        from specflow.engine.context import build_context
        from specflow.engine.prompts import PromptRenderer

        state_def = workflow.states[phase]
        if state_def.prompt is None:
            return "", None
        ws = workspaces or self._workspaces(record)
        gate = gate or self._gate(workflow, phase, ws)
        cwd = ws.agent_cwd(worktrees=state_def.gate.worktrees)
        context = build_context(
            self.change, workflow, scenario, phase, gate, workspaces=ws.existing(), cwd=cwd, record=record
        )
        return PromptRenderer(self.hub.root).render(state_def.prompt, context), gate

    def _dry_run(self, workflow: Workflow, record: dict[str, Any], trigger: str, to: str | None) -> AdvanceResult:
        state = record["state"]
        target = self._next_target(workflow, state, trigger, to)
        ctx = self._context(record)
        candidates = [sc for sc in workflow.scenarios_from(state, trigger) if target is None or sc.to == target]
        chosen: Scenario = candidates[0]
        given: list[StepOutcome] = []
        for sc in candidates:
            given = self._evaluate(sc.given, ctx, ignore_event, "given")
            chosen = sc
            if all(o.ok for o in given):
                break
        prompt, _ = self._render(workflow, record, chosen, chosen.to)
        reasons = [f"{o.text}: {o.reason}" for o in given if not o.ok]
        return AdvanceResult(
            self.change.id,
            trigger,
            state,
            chosen.to,
            "dry-run",
            chosen.scenario,
            given=given,
            reasons=reasons,
            prompt=prompt,
        )

    def _recover_interrupted(self, workflow: Workflow, record: dict[str, Any], on_event: EventCallback) -> None:
        flight = record.get("in_flight")
        if not flight:
            return
        who = f"pid {flight.get('pid')} on {flight.get('host')}"
        reason = (
            f"the previous attempt ({flight.get('from')} -> {flight.get('to')}, started"
            f" {flight.get('started')} by {who}) was interrupted"
        )
        stopped = self._stop_survivors(flight)
        if stopped:
            emit(on_event, "warning", f"stopped {len(stopped)} process(es) left by the interrupted agent")
        violations = self._audit_interrupted(workflow, record, flight)
        if violations:
            emit(
                on_event,
                "warning",
                f"put back {len(violations)} write(s) made outside the interrupted phase's gate"
                f" ({', '.join(str(v.get('path')) for v in violations)}); 'specflow checkpoints"
                f" {self.change.id}' lists the snapshot taken before, to restore with 'specflow revert'",
            )
        append_event(
            self.change.dir,
            {
                "trigger": flight.get("trigger"),
                "from": flight.get("from"),
                "to": flight.get("to"),
                "outcome": "interrupted",
                "attempt": flight.get("attempt"),
                "started": flight.get("started"),
                "checkpoint": flight.get("checkpoint"),
                "gate_violations": violations,
                "stopped_processes": stopped,
                "reasons": [reason],
            },
        )
        record["in_flight"] = None
        record["last_failure"] = {
            "phase": flight.get("to"),
            "reasons": [reason],
            "at": now_iso(),
            "session_id": flight.get("session_id"),
        }
        write_state(self.change.dir, record)
        emit(on_event, "warning", reason + "; running the phase again")

    @staticmethod
    def _stop_survivors(flight: dict[str, Any]) -> list[int]:
        """Kill what is left of the interrupted agent's tree (checked by start time and run mark)."""
        import socket

        tree = flight.get("agent_tree")
        if not isinstance(tree, dict) or flight.get("host") != socket.gethostname():
            return []
        from specflow.agents.proctree import kill_survivors
        from specflow.sandbox.launch import MARKER_ENV

        marker = tree.get("marker")
        return kill_survivors([tree], marker=marker if isinstance(marker, str) else None, env_name=MARKER_ENV)

    def _audit_interrupted(self, workflow: Workflow, record: dict[str, Any], flight: dict[str, Any]) -> list[Any]:
        """Audit the workspaces of an attempt that was killed mid-agent against its checkpoint."""
        number, phase = flight.get("checkpoint"), flight.get("to")
        if number is None or phase not in workflow.states:
            return []
        ws = self._workspaces(record)
        checkpoint = next((cp for cp in ws.checkpoints() if cp.number == number), None)
        if checkpoint is None:
            return []
        # what is put back may include edits made by hand since the kill: keep them recoverable
        saved = ws.checkpoint(phase=str(phase), state=record["state"], reason="before auditing an interrupted attempt")
        report = ws.audit(checkpoint, self._gate(workflow, str(phase), ws))
        violations = list(report.to_dict().get("violations", []))
        for v in violations:
            v["detail"] = f"{v.get('detail', '')}; the state before this was saved as checkpoint #{saved.number}"
        return violations

    def _resume_session(self, phase: str, agent_name: str) -> str | None:
        for ev in reversed(read_history(self.change.dir)):
            if ev.get("to") != phase or ev.get("trigger") in ("approve", "new", "adopt"):
                continue
            if ev.get("outcome") == "succeeded":
                return None
            agent = ev.get("agent") or {}
            if (
                ev.get("outcome") in ("failed", "interrupted")
                and agent.get("session_id")
                and agent.get("name") == agent_name
            ):
                return str(agent["session_id"])
            if ev.get("outcome") in ("failed", "interrupted"):
                return None
        return None

    def _attempt(
        self,
        workflow: Workflow,
        record: dict[str, Any],
        trigger: str,
        target: str | None,
        agent_override: str | None,
        fresh: bool,
        on_event: EventCallback,
    ) -> AdvanceResult:
        from specflow.engine.machine import MachineModel, build_machine, fire

        state = record["state"]
        ctx = self._context(record)
        given_by_scenario: dict[int, list[StepOutcome]] = {}
        holder: dict[str, AdvanceResult] = {}

        def check_given(sc: Scenario) -> bool:
            emit(on_event, "phase", f"checking: {sc.scenario}", scenario=sc.scenario, to=sc.to)
            outcomes = self._evaluate(sc.given, ctx, on_event, "given")
            given_by_scenario[id(sc)] = outcomes
            return all(o.ok for o in outcomes)

        def run_phase(sc: Scenario) -> None:
            result = PhaseRun(self).run(
                workflow, record, sc, trigger, given_by_scenario[id(sc)], agent_override, fresh, on_event
            )
            holder["result"] = result
            if not result.ok:
                raise _PhaseAbort(result)

        model = MachineModel(state)
        machine = build_machine(workflow, model, check_given=check_given, run_phase=run_phase)
        try:
            moved = fire(machine, model, trigger, target)
        except _PhaseAbort as abort:
            result = abort.result
            failed = PhaseFailed(self._failure_message(result), fix=self._failure_fix(result))
            failed.results = [result]
            raise failed from None
        if not moved:
            tried = model.tried
            blocked = AdvanceResult(self.change.id, trigger, state, None, "blocked")
            lines = []
            for sc in tried:
                outs = given_by_scenario.get(id(sc), [])
                blocked.given.extend(outs)
                for o in outs:
                    if not o.ok:
                        lines.append(f"  - {o.text}: {o.reason}")
                        blocked.reasons.append(f"{o.text}: {o.reason}")
            blocked.scenario = tried[0].scenario if tried else ""
            blocked.to_state = tried[0].to if tried else target
            blocked.event = append_event(
                self.change.dir,
                {
                    "trigger": trigger,
                    "from": state,
                    "to": blocked.to_state,
                    "scenario": blocked.scenario,
                    "outcome": "blocked",
                    "given": [o.to_dict() for o in blocked.given],
                    "reasons": blocked.reasons,
                },
            )
            exc = GuardFailed(
                f"cannot {trigger} '{self.change.id}' from {state!r} to {blocked.to_state!r}: "
                f"{len(lines)} given step(s) did not hold:\n" + "\n".join(lines),
                fix="satisfy the steps above and run the command again",
            )
            exc.results = [blocked]
            raise exc
        return holder["result"]

    @staticmethod
    def _failure_message(result: AdvanceResult) -> str:
        lines = [
            f"phase '{result.to_state}' of '{result.change_id}' failed; the change stays in {result.from_state!r}:"
        ]
        lines += [f"  - {r}" for r in result.reasons]
        return "\n".join(lines)

    @staticmethod
    def _failure_fix(result: AdvanceResult) -> str:
        return (
            f"the agent's in-gate work is kept; run 'specflow advance {result.change_id}' to try again"
            " (the reasons above go into the next prompt), or 'specflow history "
            f"{result.change_id}' for details"
        )
