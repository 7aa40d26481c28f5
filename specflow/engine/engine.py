"""What ``specflow advance <change>`` does (see DESIGN.md): lock, recover, choose, fire.

1. load the change and its workflow; take the change's lock;
2. recover an attempt a killed run left in flight (audit it, record it as interrupted);
3. choose the scenario for the trigger (``specflow.engine.chooser``: the given steps);
4. make its attempt ready (``specflow.engine.attempt``: in-flight record, workspaces, gate,
   prompt, the agent started ahead of its checkpoint where its adapter can), then fire it on the
   state machine, whose ``before`` callback runs the rest (checkpoint, agent, audit, actions, then
   steps, record); a failed attempt leaves the state where it was, and one the machine never
   fires is abandoned.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from specflow.agents.base import EventCallback, ignore_event
from specflow.agents.proctree import kill_survivors
from specflow.changestate import records
from specflow.changestate.lock import ChangeLock
from specflow.changestate.machine_id import host_name
from specflow.changestate.recordtypes import HistoryEvent, InFlight, StateRecord
from specflow.definitions.templates import PromptRenderer
from specflow.definitions.workflow import Scenario, Workflow
from specflow.engine.attempt import Attempt, AttemptOptions
from specflow.engine.chooser import Choice, choose
from specflow.engine.context import phase_gate, phase_prompt
from specflow.engine.doctor import check_phase, require_ready
from specflow.engine.evaluation import agent_settings, evaluate, sandbox_settings, step_context
from specflow.engine.events import recording
from specflow.engine.lease import change_lease
from specflow.engine.machine import MachineModel, build_machine, fire
from specflow.engine.migrate import move_onto_branch, needs_move
from specflow.engine.results import AdvanceResult, emit
from specflow.errors import GuardFailed, PhaseFailed, StateError, TransitionError
from specflow.sandbox.launch import MARKER_ENV, remove_left_tmpdir
from specflow.sandbox.layers import choose_layer, strongest_available
from specflow.steps.registry import StepOutcome
from specflow.structs import Struct
from specflow.workspace.workspaces import for_change

if TYPE_CHECKING:
    from specflow.definitions.config import HubConfig
    from specflow.engine.phasechange import PhaseChange

MAX_CHAIN = 64  # bound on transitions taken by one 'advance --to'


class _PhaseAbort(Exception):
    """Raised inside the transition to abort it; carries the failed result."""

    def __init__(self, result: AdvanceResult) -> None:
        super().__init__("; ".join(result.reasons))
        self.result = result


class PromptInfo(Struct, frozen=True):
    """A phase's prompt as it would be sent, with what rendered it."""

    change: str
    state: str
    template: str | None
    template_path: str | None
    gate: dict[str, Any] | None
    prompt: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Engine:
    """Runs transitions of one change."""

    def __init__(self, change: PhaseChange) -> None:
        self.change = change
        self.hub = change.hub
        self._probing: threading.Thread | None = None

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
        take_over: bool = False,
    ) -> list[AdvanceResult]:
        on_event = on_event or ignore_event
        record = self.change.require_record()
        workflow = self.workflow_of(record)
        if to is not None and to not in workflow.states:
            raise TransitionError(
                f"unknown state {to!r} in workflow {workflow.name!r}",
                fix="states: " + ", ".join(workflow.states),
            )
        if agent is not None:
            agent_settings(self.hub.config, agent)  # fail early on an unknown agent
        if dry_run:
            return [self._dry_run(workflow, record, trigger, to)]
        options = AttemptOptions(trigger=trigger, agent=agent, fresh=fresh)
        self._probing = _probe_layers(self.hub.config)
        with (
            ChangeLock(self.hub.root, self.change.id, command=trigger) as lock,
            change_lease(self.change, take_over=take_over) as lease,
        ):
            # every event of the run also goes to the change's event log, for watchers elsewhere
            on_event = recording(self.hub.root, self.change.id, on_event)
            if lock.taken_over is not None:
                emit(on_event, "warning", f"took over a stale lock left by {lock.taken_over.describe()}")
            if lease is not None and lease.took_over is not None:
                emit(on_event, "warning", f"took over the expired lease of {lease.took_over.describe()}")
            self._recover_interrupted(workflow, self.change.require_record(), on_event)
            if needs_move(self.change):
                move_onto_branch(self.change, on_event)
            results = self._chain(workflow, options, to, on_event)
            if lease is not None and lease.lost is not None:  # renewals failed: another machine has it
                emit(on_event, "warning", f"the lease of '{self.change.id}' was lost while it ran: {lease.lost}")
            return results

    def _chain(
        self, workflow: Workflow, options: AttemptOptions, to: str | None, on_event: EventCallback
    ) -> list[AdvanceResult]:
        """Fire transitions until ``to`` is reached (one when ``to`` is None)."""
        results: list[AdvanceResult] = []
        for _ in range(MAX_CHAIN):
            record = self.change.require_record()
            state = record["state"]
            if to is not None and state == to and results:
                break
            try:
                result = self._fire(workflow, record, options, to, on_event)
            except (GuardFailed, PhaseFailed) as exc:
                exc.results = results + exc.results
                raise
            results.append(result)
            if to is None or result.to_state == to or workflow.states[result.to_state or state].final:
                break
        return results

    def recover(self, on_event: EventCallback | None = None) -> None:
        """Audit and record an attempt a killed run left in flight; the caller holds the change's lock."""
        record = self.change.require_record()
        if record.get("in_flight"):
            self._recover_interrupted(self.workflow_of(record), record, on_event or ignore_event)

    def workflow_of(self, record: StateRecord) -> Workflow:
        """The change's workflow, checked to know the state the change is in."""
        workflow = self.hub.workflow(record.get("workflow"))
        if record["state"] not in workflow.states:
            raise StateError(
                f"change '{self.change.id}' is in state {record['state']!r}, which workflow"
                f" {workflow.name!r} ({workflow.source}) does not define; known: {', '.join(workflow.states)}",
                fix="restore the workflow's state, or set 'state' in the change's .specflow/state.json to a known one",
            )
        return workflow

    def prompt_info(self, state: str | None = None) -> PromptInfo:
        """The prompt of phase ``state`` (default: what the next ``advance`` would run), rendered."""
        record = self.change.require_record()
        workflow = self.workflow_of(record)
        scenario: Scenario | None
        if state is None:
            scenario = self._choose(workflow, record, "advance", None, check_single=False).shown
            state = scenario.to
        elif state not in workflow.states:
            raise TransitionError(f"unknown state {state!r}", fix="states: " + ", ".join(workflow.states))
        else:
            scenario = next((sc for sc in workflow.scenarios if sc.to == state), None)
        template = workflow.states[state].prompt
        if template is None:
            text, gate = "", None
        else:
            ws = for_change(self.change, record.get("repos"))
            policy = phase_gate(self.change, workflow, state, ws)
            text, gate = phase_prompt(self.change, workflow, record, scenario, state, ws, policy), policy.to_dict()
        path = PromptRenderer(self.hub.root).find(template) if template else None
        return PromptInfo(self.change.id, state, template, str(path) if path else None, gate, text)

    # -- steps ----------------------------------------------------------------------------

    def _choose(
        self,
        workflow: Workflow,
        record: StateRecord,
        trigger: str,
        to: str | None,
        *,
        on_event: EventCallback = ignore_event,
        check_single: bool = True,
    ) -> Choice:
        ctx = step_context(self.change, record)

        def check(sc: Scenario) -> list[StepOutcome]:
            emit(on_event, "phase", f"checking: {sc.scenario}", scenario=sc.scenario, to=sc.to)
            return evaluate(self.change, sc.given, ctx, on_event, "given")

        return choose(
            workflow,
            record["state"],
            trigger,
            check,
            to=to,
            check_single=check_single,
            who=f"change '{self.change.id}'",
        )

    def _fire(
        self,
        workflow: Workflow,
        record: StateRecord,
        options: AttemptOptions,
        to: str | None,
        on_event: EventCallback,
    ) -> AdvanceResult:
        choice = self._choose(workflow, record, options.trigger, to, on_event=on_event)
        if choice.chosen is None:
            raise self._blocked(choice)
        chosen = choice.chosen
        # a setup problem (a repo's path, a base branch, the agent's program) is no agent attempt
        phase_def = workflow.states[chosen.to]
        repos = record.get("repos") or []
        require_ready(check_phase(self.hub.root, self.hub.config, phase_def, repos, options.agent, versions=False))
        if phase_def.runs_agent:  # a sandbox that cannot hold the agent is refused before any attempt
            if self._probing is not None:
                self._probing.join()
            choose_layer(sandbox_settings(self.hub.config, phase_def, options.agent))

        # the attempt is made ready (its agent started ahead, where its adapter allows) before
        # the machine is made: the agent's start-up overlaps importing and building it
        attempt = Attempt(self.change, workflow, record, chosen, choice.given_of(chosen), options, on_event)
        attempt.begin()

        def run_phase(sc: Scenario) -> None:
            assert sc is chosen  # the machine's one condition: the scenario the chooser picked
            result = attempt.run()
            if not result.ok:
                raise _PhaseAbort(result)
            results.append(result)

        results: list[AdvanceResult] = []
        model = MachineModel(record["state"])
        try:
            machine = build_machine(workflow, model, run_phase=run_phase)
            fire(machine, model, chosen)
        except _PhaseAbort as abort:
            if self.change.archived:  # the archive action moved the folder, then a check failed
                failed = PhaseFailed(_stranded_message(abort.result), fix=_stranded_fix(abort.result))
            else:
                failed = PhaseFailed(_failure_message(abort.result), fix=_failure_fix(abort.result))
            failed.results = [abort.result]
            raise failed from None
        finally:
            attempt.abandon()  # nothing to do once the phase ran; else as if it had never begun
        return results[0]

    def _blocked(self, choice: Choice) -> GuardFailed:
        """Record that no scenario's given steps held; the error says which steps, and why."""
        shown = choice.shown
        failed = choice.failed_steps
        blocked = AdvanceResult(self.change.id, choice.trigger, choice.state, shown.to, "blocked", shown.scenario)
        blocked.given = [o for _, outcomes in choice.tried for o in outcomes]
        blocked.reasons = [f"{o.text}: {o.reason}" for o in failed]
        event = HistoryEvent(
            trigger=choice.trigger,
            scenario=shown.scenario,
            given=[o.to_dict() for o in blocked.given],
            reasons=blocked.reasons,
        )
        event["from"], event["to"] = choice.state, shown.to
        blocked.event = dict(records.record_blocked(self.change.dir, event))
        lines = [f"  - {o.text}: {o.reason}" for o in failed]
        exc = GuardFailed(
            f"cannot {choice.trigger} '{self.change.id}' from {choice.state!r} to {shown.to!r}: "
            f"{len(lines)} given step(s) did not hold:\n" + "\n".join(lines),
            fix="satisfy the steps above and run the command again",
        )
        exc.results = [blocked]
        return exc

    def _dry_run(self, workflow: Workflow, record: StateRecord, trigger: str, to: str | None) -> AdvanceResult:
        choice = self._choose(workflow, record, trigger, to)
        shown = choice.shown
        given = choice.given_of(shown)
        ws = for_change(self.change, record.get("repos"))
        prompt = ""
        if workflow.states[shown.to].prompt is not None:
            gate = phase_gate(self.change, workflow, shown.to, ws)
            prompt = phase_prompt(self.change, workflow, record, shown, shown.to, ws, gate)
        return AdvanceResult(
            self.change.id,
            trigger,
            record["state"],
            shown.to,
            "blocked" if choice.blocked else "dry-run",
            shown.scenario,
            given=given,
            reasons=[f"{o.text}: {o.reason}" for o in choice.failed_steps],
            prompt=prompt,
        )

    def _recover_interrupted(self, workflow: Workflow, record: StateRecord, on_event: EventCallback) -> None:
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
        violations, rejected = self._audit_interrupted(workflow, record)
        if violations:
            restore = f"'{rejected['command']}'" if rejected else "'specflow revert'"
            emit(
                on_event,
                "warning",
                f"put back {len(violations)} write(s) made outside the interrupted phase's gate"
                f" ({', '.join(str(v.get('path')) for v in violations)}); saved first, restore with {restore}",
            )
        event = HistoryEvent(gate_violations=violations, stopped_processes=stopped)
        if rejected:
            event["rejected"] = rejected
        for key in ("trigger", "attempt", "started", "checkpoint"):
            event[key] = flight.get(key)
        event["from"], event["to"] = flight.get("from"), flight.get("to")
        records.record_interrupted(self.change.dir, record, event, reason)
        emit(on_event, "warning", reason + "; running the phase again")

    @staticmethod
    def _stop_survivors(flight: InFlight) -> list[int]:
        """Kill what is left of the interrupted agent's tree (checked by start time and run mark),
        then remove the private temporary folder it was given."""
        tree = flight.get("agent_tree")
        if not isinstance(tree, dict) or flight.get("host") != host_name():
            return []
        marker = tree.get("marker")
        killed = kill_survivors([tree], marker=marker if isinstance(marker, str) else None, env_name=MARKER_ENV)
        remove_left_tmpdir(tree.get("tmpdir"))
        return killed

    def _audit_interrupted(self, workflow: Workflow, record: StateRecord) -> tuple[list[Any], dict[str, Any] | None]:
        """Audit the workspaces of an attempt that was killed mid-agent against its checkpoint.

        Returns the violations and where what was put back is saved (also by an audit run while
        the attempt was being stopped).
        """
        flight = record.get("in_flight") or {}
        number, phase = flight.get("checkpoint"), flight.get("to")
        if number is None or phase not in workflow.states:
            return [], None
        ws = for_change(self.change, record.get("repos"))
        checkpoint = next((cp for cp in ws.checkpoints() if cp.number == number), None)
        if checkpoint is None:
            return [], None
        # what is put back may include edits made by hand since the kill: keep them recoverable
        saved = ws.checkpoint(phase=str(phase), state=record["state"], reason="before auditing an interrupted attempt")
        report = ws.audit(checkpoint, phase_gate(self.change, workflow, str(phase), ws), attempt=flight.get("attempt"))
        violations = list(report.to_dict().get("violations", []))
        for v in violations:
            v["detail"] = f"{v.get('detail', '')}; the state before this was saved as checkpoint #{saved.number}"
        return violations, report.rejected.to_dict() if report.rejected else None


def _probe_layers(config: HubConfig) -> threading.Thread | None:
    """Find which sandbox layers work here in a thread (bubblewrap is tried by running it, ~10 ms),
    while the change is locked and its scenario chosen; None when no agent may ask for bubblewrap.

    What it finds is kept for the process; choosing the layer waits for it.  A failure is left
    to that choice to report, where it happens again.
    """
    modes = {config.sandbox, *(agent.sandbox or config.sandbox for agent in config.agents.values())}
    if not modes & {"auto", "bubblewrap"}:
        return None

    def probe() -> None:
        with contextlib.suppress(Exception):
            strongest_available()

    thread = threading.Thread(target=probe, name="specflow-sandbox-probe", daemon=True)
    thread.start()
    return thread


def _failure_message(result: AdvanceResult) -> str:
    lines = [f"phase '{result.to_state}' of '{result.change_id}' failed; the change stays in {result.from_state!r}:"]
    lines += [f"  - {r}" for r in result.reasons]
    return "\n".join(lines)


def _failure_fix(result: AdvanceResult) -> str:
    return (
        f"the agent's in-gate work is kept; run 'specflow advance {result.change_id}' to try again"
        " (the reasons above go into the next prompt), or 'specflow history "
        f"{result.change_id}' for details"
    )


def _stranded_message(result: AdvanceResult) -> str:
    lines = [
        f"phase '{result.to_state}' of '{result.change_id}' archived the change, then its checks failed;"
        f" it stays in {result.from_state!r} (and in 'specflow status') until they pass:"
    ]
    lines += [f"  - {r}" for r in result.reasons]
    return "\n".join(lines)


def _stranded_fix(result: AdvanceResult) -> str:
    return (
        f"fix what the checks above name, then run 'specflow advance {result.change_id}' (or 'specflow archive"
        f" {result.change_id}'): the archive is not redone, the phase and its checks run again"
    )
