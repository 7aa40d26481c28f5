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

import hashlib
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.agents.base import AgentEvent, AgentResult, EventCallback, ignore_event
from specflow.errors import (
    AgentError,
    GuardFailed,
    PhaseFailed,
    SpecflowError,
    TransitionError,
)
from specflow.state import (
    append_event,
    atomic_write,
    now_iso,
    read_history,
    restore_records,
    snapshot_records,
    write_state,
)
from specflow.steps import StepContext, StepOutcome

if TYPE_CHECKING:
    from specflow.gates import GatePolicy
    from specflow.hub import Change
    from specflow.workflow import Scenario, StateDef, Workflow
    from specflow.workspaces import Workspaces

MAX_CHAIN = 64  # bound on transitions taken by one 'advance --to'


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


class _PhaseAbort(Exception):
    """Raised inside the transition to abort it; carries the failed result."""

    def __init__(self, result: AdvanceResult) -> None:
        super().__init__("; ".join(result.reasons))
        self.result = result


def _emit(on_event: EventCallback, kind: Any, message: str, **data: Any) -> None:
    on_event(AgentEvent(kind, message, data))


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
        from specflow.lock import ChangeLock

        on_event = on_event or ignore_event
        record = self.change.require_record()
        workflow = self.hub.workflow(record.get("workflow"))
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
                _emit(on_event, "warning", f"took over a stale lock left by {lock.taken_over.describe()}")
            record = self.change.require_record()
            self._recover_interrupted(record, lock.taken_over, on_event)
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

    def render_prompt(self, state: str | None = None) -> str:
        """The prompt of phase ``state`` (default: the next ``advance`` target), without running it."""
        record = self.change.require_record()
        workflow = self.hub.workflow(record.get("workflow"))
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
        return self._render(workflow, record, scenario, state)[0]

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
            _emit(
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
        from specflow.workspaces import Workspaces

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
        from specflow.phase_context import glob_context
        from specflow.prompts import PromptRenderer

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
        from specflow.phase_context import build_context
        from specflow.prompts import PromptRenderer

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

    def _recover_interrupted(self, record: dict[str, Any], taken_over: Any, on_event: EventCallback) -> None:
        flight = record.get("in_flight")
        if not flight:
            return
        who = f"pid {flight.get('pid')} on {flight.get('host')}"
        reason = (
            f"the previous attempt ({flight.get('from')} -> {flight.get('to')}, started"
            f" {flight.get('started')} by {who}) was interrupted"
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
        _emit(on_event, "warning", reason + "; running the phase again")

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
        from specflow.machine import MachineModel, build_machine, fire

        state = record["state"]
        ctx = self._context(record)
        given_by_scenario: dict[int, list[StepOutcome]] = {}
        holder: dict[str, AdvanceResult] = {}

        def check_given(sc: Scenario) -> bool:
            _emit(on_event, "phase", f"checking: {sc.scenario}", scenario=sc.scenario, to=sc.to)
            outcomes = self._evaluate(sc.given, ctx, on_event, "given")
            given_by_scenario[id(sc)] = outcomes
            return all(o.ok for o in outcomes)

        def run_phase(sc: Scenario) -> None:
            result = self._run_phase(
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

    def _run_phase(
        self,
        workflow: Workflow,
        record: dict[str, Any],
        sc: Scenario,
        trigger: str,
        given: list[StepOutcome],
        agent_override: str | None,
        fresh: bool,
        on_event: EventCallback,
    ) -> AdvanceResult:
        from specflow import journal
        from specflow.actions import build_actions

        state = record["state"]
        target_def: StateDef = workflow.states[sc.to]
        started = time.monotonic()
        attempt = 1 + sum(
            1
            for ev in read_history(self.change.dir)
            if ev.get("to") == sc.to and ev.get("outcome") in ("failed", "interrupted", "succeeded")
        )
        result = AdvanceResult(self.change.id, trigger, state, sc.to, "failed", sc.scenario, given=given)
        event: dict[str, Any] = {
            "trigger": trigger,
            "scenario": sc.scenario,
            "from": state,
            "to": sc.to,
            "attempt": attempt,
            "given": [o.to_dict() for o in given],
        }
        flight = {
            "trigger": trigger,
            "from": state,
            "to": sc.to,
            "scenario": sc.scenario,
            "started": now_iso(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "attempt": attempt,
        }
        record["in_flight"] = flight
        write_state(self.change.dir, record)
        _emit(on_event, "phase", f"{state} -> {sc.to}: {sc.scenario}", **{"from": state, "to": sc.to})

        ws = self._workspaces(record)
        reasons: list[str] = []
        try:
            if target_def.runs_agent:
                reasons += self._run_agent(
                    workflow, record, sc, ws, event, result, agent_override, fresh, on_event, flight
                )
            if not reasons:
                ctx = self._context(record, phase=sc.to, workspaces=ws)
                actions = build_actions() if target_def.actions else {}
                done_actions = []
                before = journal.snapshot(self.hub.openspec_dir, self.hub.root) if target_def.actions else {}
                for name in target_def.actions:
                    _emit(on_event, "phase", f"action {name}")
                    try:
                        summary = actions[name](ctx)
                    except SpecflowError as exc:
                        reasons.append(f"action {name} failed: {exc.message}")
                        done_actions.append({"action": name, "ok": False, "reason": exc.message})
                        break
                    done_actions.append({"action": name, "ok": True, "summary": summary})
                    self._relocate()
                    ctx.change_dir = self.change.dir
                if done_actions:
                    event["actions"] = done_actions
                    after = journal.snapshot(self.hub.openspec_dir, self.hub.root)
                    journal.record(self.hub.root, self.change.id, journal.changed(before, after))
                if not reasons:
                    if result.agent is not None:
                        # the attempt is not in history yet: let steps (e.g. cost budgets) see it
                        ctx.extra["agent"] = result.agent.to_dict()
                    result.then = self._evaluate(sc.then, ctx, on_event, "then")
                    event["then"] = [o.to_dict() for o in result.then]
                    reasons += [f"{o.text}: {o.reason}" for o in result.then if not o.ok]
        except SpecflowError as exc:
            reasons.append(exc.message)
        except BaseException as exc:
            # Ctrl-C or a bug: leave the in-flight record (status shows 'interrupted') and re-raise
            if isinstance(exc, Exception):
                self._finish(record, event, "failed", [f"internal error: {type(exc).__name__}: {exc}"], started, flight)
            raise
        result.reasons = reasons
        result.outcome = "failed" if reasons else "succeeded"
        if not reasons and target_def.final:
            removed = self._cleanup_final(ws, on_event)
            if removed:
                event["worktrees_removed"] = [str(p) for p in removed]
        result.event = self._finish(
            record, event, result.outcome, reasons, started, flight, new_state=sc.to if not reasons else None
        )
        return result

    def _run_agent(
        self,
        workflow: Workflow,
        record: dict[str, Any],
        sc: Scenario,
        ws: Workspaces,
        event: dict[str, Any],
        result: AdvanceResult,
        agent_override: str | None,
        fresh: bool,
        on_event: EventCallback,
        flight: dict[str, Any],
    ) -> list[str]:
        from specflow.agents import get_adapter
        from specflow.agents.base import AgentRequest

        target_def = workflow.states[sc.to]
        spec = target_def.gate
        if spec.worktrees:
            _emit(on_event, "phase", "preparing worktrees")
            ws.ensure_worktrees(on_event)
        gate = self._gate(workflow, sc.to, ws)
        event["gate"] = gate.to_dict()
        _emit(on_event, "phase", "gate: " + gate.describe().replace("\n", " "), gate=gate.to_dict())
        checkpoint = ws.checkpoint(phase=sc.to, state=record["state"])
        event["checkpoint"] = checkpoint.to_dict()
        flight["checkpoint"] = checkpoint.number
        _emit(on_event, "phase", f"checkpoint #{checkpoint.number}", checkpoint=checkpoint.number)
        prompt, _ = self._render(workflow, record, sc, sc.to, ws, gate)
        event["prompt_sha256"] = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
        agent_name = agent_override or target_def.agent or self.hub.config.default_agent
        agent_cfg = self._agent_config(agent_name)
        resume = None if fresh else self._resume_session(sc.to, agent_name)
        options: dict[str, Any] = dict(agent_cfg.options)
        if agent_cfg.command is not None:
            options["command"] = list(agent_cfg.command)
        if agent_cfg.binary is not None:
            options["binary"] = agent_cfg.binary
        request = AgentRequest(
            prompt=prompt,
            cwd=ws.agent_cwd(worktrees=spec.worktrees),
            gate=gate,
            hub=self.hub.root,
            change_id=self.change.id,
            phase=sc.to,
            transcript_dir=self.hub.root / ".specflow" / "transcripts" / self.change.id,
            model=target_def.model or agent_cfg.model,
            resume_session=resume,
            max_turns=target_def.max_turns or agent_cfg.max_turns,
            timeout=target_def.timeout or agent_cfg.timeout,
            budget_usd=target_def.budget_usd or agent_cfg.budget_usd,
            env=dict(agent_cfg.env),
            options=options,
        )
        _emit(on_event, "phase", f"running agent {agent_name} ({agent_cfg.adapter})", agent=agent_name)
        reasons: list[str] = []
        records_before = snapshot_records(self.change.dir)
        try:
            adapter = get_adapter(agent_cfg.adapter)
            agent_result = adapter.run(request, on_event)
        except AgentError as exc:
            agent_result = AgentResult(status="crashed", error=exc.message)
        tampered = restore_records(self.change.dir, records_before)
        result.agent = agent_result
        event["agent"] = {"name": agent_name, "adapter": agent_cfg.adapter, **agent_result.to_dict()}
        if agent_result.session_id:
            flight["session_id"] = agent_result.session_id
        if not agent_result.ok:
            reasons.append(f"agent {agent_name}: {agent_result.error or agent_result.status}")
        report = ws.audit(checkpoint, gate)
        event["gate_violations"] = list(report.to_dict().get("violations", [])) + tampered
        result.violations = event["gate_violations"]
        if not report.ok:
            _emit(on_event, "warning", report.summary(), violations=result.violations)
            reasons.append("the agent wrote outside its gate (put back): " + report.summary())
        if tampered:
            paths = ", ".join(v["path"] for v in tampered)
            _emit(on_event, "warning", f"the agent changed specflow's records ({paths}); put back")
            reasons.append(f"the agent changed specflow's own records (put back): {paths}")
        if not reasons and target_def.record:
            from specflow import journal

            path = self.change.dir / target_def.record
            atomic_write(
                path,
                agent_result.final_text if agent_result.final_text.endswith("\n") else agent_result.final_text + "\n",
            )
            journal.record_files(self.hub.root, self.change.id, [path])
            event["record"] = str(path.relative_to(self.hub.root))
        return reasons

    def _relocate(self) -> None:
        """After an action (archive) moved the change folder, follow it."""
        if self.change.dir.is_dir():
            return
        archived = self.hub.archived_dir(self.change.id)
        if archived is not None:
            self.change.dir = archived

    def _cleanup_final(self, ws: Workspaces, on_event: EventCallback) -> list[Path]:
        if not self.change.archived:
            return []
        removed = ws.remove_worktrees()
        if removed:
            _emit(on_event, "phase", f"removed {len(removed)} worktree(s); branches kept")
        return removed

    def _finish(
        self,
        record: dict[str, Any],
        event: dict[str, Any],
        outcome: str,
        reasons: list[str],
        started: float,
        flight: dict[str, Any],
        new_state: str | None = None,
    ) -> dict[str, Any]:
        self._relocate()
        record["in_flight"] = None
        if new_state is not None:
            record["state"] = new_state
            record["last_failure"] = None
        else:
            record["last_failure"] = {
                "phase": event.get("to"),
                "reasons": reasons,
                "at": now_iso(),
                "session_id": (event.get("agent") or {}).get("session_id"),
            }
        write_state(self.change.dir, record)
        event["outcome"] = outcome
        event["reasons"] = reasons
        event["duration_s"] = round(time.monotonic() - started, 3)
        return append_event(self.change.dir, event)
