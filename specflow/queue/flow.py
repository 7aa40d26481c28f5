"""The durable workflow a queued ``advance`` runs: one DBOS workflow per request, one step per phase.

Imported only by a worker (it registers the workflow with DBOS).  The workflow body is replayed
when a worker restarts after a crash, so everything it does to the change happens in steps, and a
step may run twice: the phase step is told the state its phase starts from and does nothing when
the change has already left it.  A phase killed with its worker is found in flight by the engine
on the step's next run, recorded as interrupted once, and run again from its checkpoint.

A phase whose ``given`` waits for a person's approval makes the workflow wait for the durable
event ``Change.approve`` sends (re-reading the change now and then, so an approval recorded on
another machine and pulled through git counts too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypedDict

from dbos import DBOS

from specflow.changestate.approvals import current_approval
from specflow.changestate.lock import ChangeLock
from specflow.engine.change import Change
from specflow.engine.hub import Hub
from specflow.engine.lease import LeaseHolder, change_lease, record_lost_run
from specflow.engine.results import AdvanceResult
from specflow.errors import GuardFailed, LeaseHeldError, LockedError, PhaseFailed, SpecflowError
from specflow.queue.client import APPROVAL_TOPIC, STATUS_EVENT, WORKFLOW_NAME
from specflow.structs import Struct, field

#: The ``given`` step that waits for a person.
APPROVAL_STEP = "the proposal is approved"
#: How long a workflow whose change is locked by another run waits before trying again.
BUSY_RETRY_S = 2.0
#: How often a workflow waiting for an approval re-reads the change, event or not.
APPROVAL_RECHECK_S = 60.0
#: Bound on the phases one queued request runs (as ``advance --to``).
MAX_PHASES = 64

Outcome = Literal["advanced", "busy", "needs-approval", "blocked", "failed", "error"]


class Ticket(TypedDict):
    """What was asked: advance ``change`` once, or up to state ``to``.

    ``travels``: the change's branches were pushed when it was queued; whichever machine runs it
    pulls the change first and pushes it after each phase, holding its lease in between.
    """

    change: str
    to: str | None
    agent: str | None
    fresh: bool
    travels: bool


class PhaseOutcome(TypedDict):
    """What one phase step did."""

    outcome: Outcome
    from_state: str
    state: str
    final: bool
    reason: str


class RunSummary(TypedDict):
    """What a queued request did in the end: the phases it ran and how it stopped."""

    change: str
    outcome: Outcome
    state: str
    phases: list[PhaseOutcome]
    reason: str


class ChangeView(TypedDict):
    """The change as a workflow decides on it; ``problem`` says why it cannot be read."""

    state: str
    final: bool
    approved: bool
    problem: str


class Runtime(Struct):
    """The worker this process runs: its hub, and who hears what the queue does."""

    hub_root: Path
    on_note: Callable[[str], None] = lambda text: None
    running: set[str] = field(default_factory=set)
    lost_runs: dict[str, LeaseHolder] = field(default_factory=dict)
    """Expired leases of dead machines taken over, by change, until their lost attempt is recorded."""
    stopping: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, text: str) -> None:
        self.on_note(text)


_runtime: Runtime | None = None


def serve(runtime: Runtime) -> None:
    """Make ``runtime`` the worker whose hub the steps work on."""
    global _runtime
    _runtime = runtime


def _worker() -> Runtime:
    if _runtime is None:
        raise RuntimeError("a queued phase ran in a process that is not a specflow worker")
    return _runtime


# -- steps: everything that touches the change --------------------------------------------


def _bring(change_id: str) -> str:
    """Pull the change from its remote (what another machine pushed); why it could not be, or ""."""
    worker = _worker()
    try:
        Change.named(Hub.open(worker.hub_root), change_id).pull()
    except SpecflowError as exc:
        worker.note(f"{change_id}: cannot pull it: {exc.message}")
        return exc.message
    return ""


@DBOS.step(name="specflow.look")
def look(change_id: str, travels: bool = False) -> ChangeView:
    """The change's state (pulled first when it travels), whether that state is final, and whether
    an approval holds."""
    if travels:
        _bring(change_id)  # what this clone has still counts when the remote cannot be reached now
    try:
        change = Hub.open(_worker().hub_root).change(change_id)
        record = change.require_record()
        workflow = change.hub.workflow(record.get("workflow"))
    except SpecflowError as exc:  # discarded, archived by hand, never pulled to this machine
        _worker().note(f"{change_id}: {exc.message}; its queued run ends")
        return ChangeView(state="", final=False, approved=False, problem=exc.message)
    state = str(record["state"])
    final = state in workflow.states and workflow.states[state].final
    approval, _ = current_approval(record, change.dir)
    return ChangeView(state=state, final=final, approved=approval is not None, problem="")


@DBOS.step(name="specflow.phase")
def run_phase(ticket: Ticket, from_state: str, fresh: bool) -> PhaseOutcome:
    """Run the change's next phase from ``from_state`` through ``Change.advance`` (see ``_travel``
    for a change that travels through its remote)."""
    worker = _worker()
    travels = ticket.get("travels", False)
    if travels and (problem := _bring(ticket["change"])):
        return _outcome("error", from_state, from_state, problem)
    try:
        change = Hub.open(worker.hub_root).change(ticket["change"])
    except SpecflowError as exc:
        worker.note(f"{ticket['change']}: {exc.message}")
        return _outcome("error", from_state, from_state, exc.message)
    if change.state != from_state:  # a step run again after its phase was recorded: done already
        return _outcome("advanced", from_state, str(change.state), "the phase had run before the worker stopped")
    with worker.lock:
        if worker.stopping:  # recorded as busy: the run sleeps, then tries again after the restart
            return _outcome("busy", from_state, from_state, "the worker is stopping")
        worker.running.add(change.id)
    worker.note(f"{change.id}: advancing from {from_state!r}")
    try:
        results = _travel(change, ticket, fresh) if travels else change.advance(agent=ticket["agent"], fresh=fresh)
    except (LockedError, LeaseHeldError) as exc:
        worker.note(f"{change.id}: busy: {exc.message}; trying again in {BUSY_RETRY_S:g} s")
        return _outcome("busy", from_state, from_state, exc.message)
    except GuardFailed as exc:
        waiting = any(o.text == APPROVAL_STEP and not o.ok for r in exc.results for o in r.given)
        worker.note(f"{change.id}: waiting for a person's approval" if waiting else f"{change.id}: {exc.message}")
        return _outcome("needs-approval" if waiting else "blocked", from_state, from_state, exc.message)
    except PhaseFailed as exc:
        worker.note(f"{change.id}: {exc.message}")
        return _outcome("failed", from_state, from_state, exc.message)
    except SpecflowError as exc:
        worker.note(f"{change.id}: {exc.message}")
        return _outcome("error", from_state, from_state, f"{exc.message} ({exc.fix})" if exc.fix else exc.message)
    finally:
        with worker.lock:
            worker.running.discard(change.id)
    state = str(change.state)
    workflow = change.hub.workflow(change.workflow_name)
    done = "; ".join(f"{r.from_state} -> {r.to_state} {r.outcome}" for r in results)
    worker.note(f"{change.id}: {done}")
    return _outcome("advanced", from_state, state, done, state in workflow.states and workflow.states[state].final)


def _travel(change: Change, ticket: Ticket, fresh: bool) -> list[AdvanceResult]:
    """Advance a change that travels: under its lease, then push it before the lease goes.

    The lease of a machine that died mid-phase is taken over once it has expired (before, the
    run is busy and tries again), and that machine's lost attempt is recorded as interrupted.
    """
    worker = _worker()
    with change_lease(change, take_over=True) as lease:
        if lease is not None and lease.took_over is not None:
            worker.note(f"{change.id}: took over the expired lease of {lease.took_over.describe()}")
            # kept until recorded: a change locked here now makes the run try again, lease released
            worker.lost_runs[change.id] = lease.took_over
        lost = worker.lost_runs.get(change.id)
        if lost is not None:
            with ChangeLock(change.hub.root, change.id, command="worker"):
                record_lost_run(change, lost)
            del worker.lost_runs[change.id]
        try:
            return change.advance(agent=ticket["agent"], fresh=fresh)
        finally:
            _send(change)


def _send(change: Change) -> None:
    """Push the change's branches, so the next machine continues from here; a failure is said."""
    try:
        change.push()
    except SpecflowError as exc:
        _worker().note(
            f"{change.id}: the phase is recorded here but could not be pushed: {exc.message};"
            f" run 'specflow push {change.id}' on this machine"
        )


def _outcome(kind: Outcome, from_state: str, state: str, reason: str, final: bool = False) -> PhaseOutcome:
    return PhaseOutcome(outcome=kind, from_state=from_state, state=state, final=final, reason=reason)


# -- the workflow: decisions only, replayed on recovery ------------------------------------


@DBOS.workflow(name=WORKFLOW_NAME)
def advance_workflow(ticket: Ticket) -> RunSummary:
    """Advance the change one phase (or up to ``ticket['to']``), waiting for approvals and locks."""
    change_id = ticket["change"]
    phases: list[PhaseOutcome] = []
    travels = ticket.get("travels", False)
    view = look(change_id, travels)
    while len(phases) < MAX_PHASES:
        if view["problem"]:
            return _summary(change_id, "error", phases, view["problem"], view["state"])
        if view["final"] or (ticket["to"] is not None and view["state"] == ticket["to"] and phases):
            break
        DBOS.set_event(STATUS_EVENT, {"doing": "running", "state": view["state"]})
        outcome = run_phase(ticket, view["state"], ticket["fresh"] and not phases)
        if outcome["outcome"] == "busy":
            DBOS.set_event(STATUS_EVENT, {"doing": "waiting for the change's lock", "state": view["state"]})
            DBOS.sleep(BUSY_RETRY_S)
        elif outcome["outcome"] == "needs-approval":
            DBOS.set_event(STATUS_EVENT, {"doing": "waiting for approval", "state": view["state"]})
            if not _wait_for_approval(change_id, view["state"], travels):
                reason = f"the change left state {view['state']!r} while it waited for an approval"
                return _summary(change_id, "blocked", phases, reason, look(change_id, travels)["state"])
        elif outcome["outcome"] == "advanced":
            phases.append(outcome)
            if ticket["to"] is None or outcome["state"] == ticket["to"] or outcome["final"]:
                break
        else:
            phases.append(outcome)
            return _summary(change_id, outcome["outcome"], phases, outcome["reason"], outcome["state"])
        view = look(change_id, travels)
    return _summary(change_id, "advanced", phases, "", phases[-1]["state"] if phases else view["state"])


def _wait_for_approval(change_id: str, state: str, travels: bool) -> bool:
    """Wait until an approval holds (True) or the change leaves ``state`` (False)."""
    while True:
        told = DBOS.recv(APPROVAL_TOPIC, timeout_seconds=APPROVAL_RECHECK_S)
        view = look(change_id, travels)
        if view["state"] != state:
            return False
        if view["approved"]:
            return True
        if isinstance(told, dict):  # told of an approval this clone does not see hold
            by = told.get("by")
            _worker().note(
                f"{change_id}: {by} approved it; waiting for the approval to be pushed"
                f" ('specflow push {change_id}' where it was given)"
                if travels
                else f"{change_id}: {by} approved it, but the approval no longer holds; waiting for a new one"
            )


def _summary(change_id: str, outcome: Outcome, phases: list[PhaseOutcome], reason: str, state: str) -> RunSummary:
    DBOS.set_event(STATUS_EVENT, {"doing": "finished", "state": state})
    return RunSummary(change=change_id, outcome=outcome, state=state, phases=phases, reason=reason)


__all__ = [
    "PhaseOutcome",
    "RunSummary",
    "Runtime",
    "Ticket",
    "advance_workflow",
    "serve",
]
