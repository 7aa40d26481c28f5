"""A change's state machine, built with ``transitions`` from a workflow definition.

This is the only module that imports ``transitions``.  Each scenario becomes a transition:
its ``when`` is the trigger, its ``given`` steps the condition, and the phase run happens in the
transition's ``before`` callback, so a phase that fails (raises) leaves the state unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from specflow.definitions.workflow import Scenario, Workflow
from specflow.errors import TransitionError

GivenCheck = Callable[[Scenario], bool]
PhaseRun = Callable[[Scenario], None]


@dataclass
class MachineModel:
    """The object the machine drives; ``state`` is the change's current state."""

    state: str
    target: str | None = None
    tried: list[Scenario] = field(default_factory=list)


def build_machine(
    workflow: Workflow,
    model: MachineModel,
    *,
    check_given: GivenCheck,
    run_phase: PhaseRun,
) -> Any:
    """A ``transitions.Machine`` over ``model`` for ``workflow``.

    ``check_given(scenario)`` evaluates the scenario's given steps (and records them);
    ``run_phase(scenario)`` runs the phase and raises to abort the transition.
    """
    from transitions import Machine

    machine = Machine(
        model=model,
        states=list(workflow.states),
        initial=model.state,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    for scenario in workflow.scenarios:
        sources: list[Any] = list(workflow.sources_of(scenario))

        def wants(event: Any, sc: Scenario = scenario) -> bool:
            m: MachineModel = event.model
            return m.target is None or m.target == sc.to

        def given(event: Any, sc: Scenario = scenario) -> bool:
            event.model.tried.append(sc)
            return check_given(sc)

        def before(event: Any, sc: Scenario = scenario) -> None:
            run_phase(sc)

        machine.add_transition(
            trigger=scenario.when,
            source=sources,
            dest=scenario.to,
            conditions=[wants, given],
            before=[before],
        )
    return machine


def fire(machine: Any, model: MachineModel, trigger: str, target: str | None = None) -> bool:
    """Fire ``trigger``; True if a transition happened, False if every scenario's guard failed."""
    from transitions.core import MachineError

    model.target = target
    model.tried = []
    try:
        return (
            bool(machine.events[trigger].trigger(model))
            if trigger in machine.events
            else _no_trigger(machine, model, trigger)
        )
    except MachineError as exc:
        raise TransitionError(str(exc.value)) from None


def _no_trigger(machine: Any, model: MachineModel, trigger: str) -> bool:
    raise TransitionError(
        f"the workflow has no trigger {trigger!r}",
        fix="known triggers: " + ", ".join(sorted(machine.events)),
    )
