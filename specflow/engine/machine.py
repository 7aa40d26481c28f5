"""A change's state machine, built with ``transitions`` from a workflow definition.

This is the only module that imports ``transitions``.  Each scenario becomes a transition: its
``when`` is the trigger, "chosen" its condition (the chooser evaluated the ``given`` steps), and
the phase run happens in the transition's ``before`` callback, so a phase that fails (raises)
leaves the state unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from specflow.definitions.workflow import Scenario, Workflow
from specflow.errors import TransitionError
from specflow.structs import Struct

PhaseRun = Callable[[Scenario], None]


class MachineModel(Struct):
    """The object the machine drives; ``state`` is the change's current state."""

    state: str
    chosen: Scenario | None = None


def _transitions() -> ModuleType:
    """The ``transitions`` package: its door, imported when a transition is first fired."""
    import transitions

    return transitions


def build_machine(workflow: Workflow, model: MachineModel, *, run_phase: PhaseRun) -> Any:
    """A ``transitions.Machine`` over ``model`` for ``workflow``.

    Every scenario is a transition whose one condition is "this is the scenario the chooser
    picked" (``specflow.engine.chooser`` evaluates the ``given`` steps, in one place);
    ``run_phase(scenario)`` runs in ``before`` and raises to abort, so a failed phase leaves the
    state unchanged.
    """
    machine = _transitions().Machine(
        model=model,
        states=list(workflow.states),
        initial=model.state,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    for scenario in workflow.scenarios:
        sources: list[Any] = list(workflow.sources_of(scenario))

        def chosen(event: Any, sc: Scenario = scenario) -> bool:
            return event.model.chosen is sc

        def before(event: Any, sc: Scenario = scenario) -> None:
            run_phase(sc)

        machine.add_transition(
            trigger=scenario.when, source=sources, dest=scenario.to, conditions=[chosen], before=[before]
        )
    return machine


def fire(machine: Any, model: MachineModel, scenario: Scenario) -> bool:
    """Fire ``scenario``'s trigger with it chosen; True if the machine moved to its target."""
    model.chosen = scenario
    try:
        return bool(machine.events[scenario.when].trigger(model))
    except _transitions().MachineError as exc:
        raise TransitionError(str(exc.value)) from None
