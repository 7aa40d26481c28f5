"""One phase run: the work done when a transition enters a state.

Prepare the workspaces, checkpoint them, render the prompt, run the agent inside its gate, audit
what it changed, save its record, run the phase's actions, check the ``then`` steps, and record
the attempt.  ``specflow.engine.engine`` decides *whether* a transition runs; this module runs it.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.agents.base import AgentEvent, AgentResult, EventCallback
from specflow.engine.records import (
    append_event,
    atomic_write,
    now_iso,
    read_history,
    restore_records,
    snapshot_records,
    write_state,
)
from specflow.engine.results import AdvanceResult, emit
from specflow.errors import AgentError, SpecflowError, TemplateError
from specflow.steps.registry import StepOutcome

if TYPE_CHECKING:
    from specflow.definitions.workflow import Scenario, StateDef, Workflow
    from specflow.engine.engine import Engine
    from specflow.sandbox.settings import SandboxSettings
    from specflow.workspace.workspaces import Workspaces


class PhaseRun:
    """Runs the phase a scenario enters, for one change, and records the attempt."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.hub = engine.hub
        self.change = engine.change

    def run(
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
        state = record["state"]
        target_def: StateDef = workflow.states[sc.to]
        if target_def.runs_agent:  # a sandbox that cannot hold the agent is refused before any attempt
            from specflow.sandbox.layers import choose_layer

            try:
                settings = self._sandbox_settings(target_def, agent_override)
            except AgentError:
                settings = None  # an unknown agent is the attempt's failure, reported below
            if settings is not None:
                choose_layer(settings)
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
        pristine = snapshot_records(self.change.dir)
        record["in_flight"] = flight
        write_state(self.change.dir, record)
        emit(on_event, "phase", f"{state} -> {sc.to}: {sc.scenario}", **{"from": state, "to": sc.to})

        ws = self.engine._workspaces(record)
        reasons: list[str] = []
        try:
            if target_def.runs_agent:
                reasons += self._run_agent(
                    workflow, record, sc, ws, event, result, agent_override, fresh, on_event, flight
                )
            if not reasons:
                ctx = self.engine._context(record, phase=sc.to, workspaces=ws)
                if target_def.actions:
                    reasons += self._run_actions(target_def, ctx, event, on_event)
                if not reasons:
                    if result.agent is not None:
                        # the attempt is not in history yet: let steps (e.g. cost budgets) see it
                        ctx.extra["agent"] = result.agent.to_dict()
                    result.then = self.engine._evaluate(sc.then, ctx, on_event, "then")
                    event["then"] = [o.to_dict() for o in result.then]
                    reasons += [f"{o.text}: {o.reason}" for o in result.then if not o.ok]
        except TemplateError:
            # nothing ran: the change is left as it was (no attempt, no checkpoint); fix the template
            restore_records(self.change.dir, pristine)
            record["in_flight"] = None
            raise
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
            try:
                removed = self._cleanup_final(ws, on_event)
            except SpecflowError as exc:  # the change is archived; a leftover worktree is no failure
                removed = []
                event["cleanup_warning"] = exc.message
                emit(on_event, "warning", f"worktrees not removed: {exc.message}; 'specflow clean' retries")
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
            emit(on_event, "phase", "preparing worktrees")
            ws.ensure_worktrees(on_event)
        gate = self.engine._gate(workflow, sc.to, ws)
        event["gate"] = gate.to_dict()
        emit(on_event, "phase", "gate: " + gate.describe().replace("\n", " "), gate=gate.to_dict())
        # rendered before anything is recorded: a template error is the workflow's, not an attempt
        prompt, _ = self.engine._render(workflow, record, sc, sc.to, ws, gate)
        checkpoint = ws.checkpoint(phase=sc.to, state=record["state"])
        event["checkpoint"] = checkpoint.to_dict()
        flight["checkpoint"] = checkpoint.number
        # persisted, so a run killed from here on is audited against it by the next advance
        write_state(self.change.dir, record)
        emit(on_event, "phase", f"checkpoint #{checkpoint.number}", checkpoint=checkpoint.number)
        event["prompt_sha256"] = hashlib.sha256(prompt.encode("utf-8")).hexdigest()
        agent_name = agent_override or target_def.agent or self.hub.config.default_agent
        agent_cfg = self.engine._agent_config(agent_name)
        resume = None if fresh else self.engine._resume_session(sc.to, agent_name)
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
            sandbox=self._sandbox_settings(target_def, agent_override),
        )
        emit(on_event, "phase", f"running agent {agent_name} ({agent_cfg.adapter})", agent=agent_name)
        reasons: list[str] = []
        records_before = snapshot_records(self.change.dir)
        layer: list[str] = []

        def on_agent_event(ev: AgentEvent) -> None:
            if ev.kind == "sandbox":
                # the tree's root and mark, so an advance after a kill -9 can end what survived
                layer[:] = [str(ev.data.get("layer"))]
                flight["agent_tree"] = {k: ev.data.get(k) for k in ("pid", "started", "marker", "layer")}
                write_state(self.change.dir, record)
                records_before.update(snapshot_records(self.change.dir))
            on_event(ev)

        try:
            adapter = get_adapter(agent_cfg.adapter)
            agent_result = adapter.run(request, on_agent_event)
        except AgentError as exc:  # could not start: keep the way out (how to install it, ...) in the reason
            agent_result = AgentResult(status="crashed", error=exc.message + (f"; fix: {exc.fix}" if exc.fix else ""))
        except BaseException:
            # interrupted (Ctrl-C, SIGTERM): the adapter has stopped the agent; still put back
            # whatever it wrote outside its gate before giving up
            restore_records(self.change.dir, records_before)
            ws.audit(checkpoint, gate)
            raise
        tampered = restore_records(self.change.dir, records_before)
        agent_result.sandbox = agent_result.sandbox or (layer[0] if layer else None)
        event["sandbox"] = agent_result.sandbox
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
            emit(on_event, "warning", report.summary(), violations=result.violations)
            reasons.append("the agent wrote outside its gate (put back): " + report.summary())
        if tampered:
            paths = ", ".join(v["path"] for v in tampered)
            emit(on_event, "warning", f"the agent changed specflow's records ({paths}); put back")
            reasons.append(f"the agent changed specflow's own records (put back): {paths}")
        if not reasons and target_def.record:
            from specflow.engine.lock import hub_writes
            from specflow.workspace import journal

            path = self.change.dir / target_def.record
            text = agent_result.final_text
            with hub_writes(self.hub.root):  # journaled before another change's audit can look
                atomic_write(path, text if text.endswith("\n") else text + "\n")
                journal.record_files(self.hub.root, self.change.id, [path])
            event["record"] = str(path.relative_to(self.hub.root))
        return reasons

    def _sandbox_settings(self, target_def: StateDef, agent_override: str | None) -> SandboxSettings:
        from specflow.sandbox.settings import settings_for

        agent_name = agent_override or target_def.agent or self.hub.config.default_agent
        return settings_for(self.hub.config, self.engine._agent_config(agent_name), target_def.network)

    def _run_actions(self, target_def: StateDef, ctx: Any, event: dict[str, Any], on_event: EventCallback) -> list[str]:
        """Run the phase's built-in actions, journaling what they wrote in the hub."""
        from specflow.engine.actions import build_actions
        from specflow.engine.lock import hub_writes
        from specflow.workspace import journal

        actions = build_actions()
        done: list[dict[str, Any]] = []
        reasons: list[str] = []
        # another change's audit waits until these writes are done and journaled
        with hub_writes(self.hub.root):
            before = journal.snapshot(self.hub.openspec_dir, self.hub.root)
            for name in target_def.actions:
                emit(on_event, "phase", f"action {name}")
                try:
                    summary = actions[name](ctx)
                except SpecflowError as exc:
                    reasons.append(f"action {name} failed: {exc.message}")
                    done.append({"action": name, "ok": False, "reason": exc.message})
                    break
                done.append({"action": name, "ok": True, "summary": summary})
                self._relocate()
                ctx.change_dir = self.change.dir
            event["actions"] = done
            after = journal.snapshot(self.hub.openspec_dir, self.hub.root)
            journal.record(self.hub.root, self.change.id, journal.changed(before, after))
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
            emit(on_event, "phase", f"removed {len(removed)} worktree(s); branches kept")
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
