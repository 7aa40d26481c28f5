"""Which scenario a trigger fires: the one chooser that advance, ``--dry-run`` and ``prompt`` share.

A state may have several scenarios for one trigger (``advance`` to ``apply`` when approved, to
``propose`` again when not).  They are tried in the workflow's order; the first whose ``given``
steps all hold is chosen.  When none holds, the first one tried is what the change is blocked on.
"""

from __future__ import annotations

from collections.abc import Callable

from specflow.definitions.workflow import Scenario, Workflow
from specflow.errors import TransitionError
from specflow.steps.registry import StepOutcome
from specflow.structs import Struct, field

#: Evaluates a scenario's ``given`` steps.
GivenCheck = Callable[[Scenario], list[StepOutcome]]


class Choice(Struct):
    """The outcome of choosing: the scenario chosen (None when blocked) and every one tried."""

    trigger: str
    state: str
    tried: list[tuple[Scenario, list[StepOutcome]]] = field(default_factory=list)
    chosen: Scenario | None = None

    @property
    def blocked(self) -> bool:
        return self.chosen is None

    @property
    def shown(self) -> Scenario:
        """The scenario to show: the chosen one, or the first one tried when blocked."""
        return self.chosen if self.chosen is not None else self.tried[0][0]

    def given_of(self, scenario: Scenario) -> list[StepOutcome]:
        return next((outcomes for sc, outcomes in self.tried if sc is scenario), [])

    @property
    def failed_steps(self) -> list[StepOutcome]:
        return [o for _, outcomes in self.tried for o in outcomes if not o.ok]


def candidates(
    workflow: Workflow, state: str, trigger: str, to: str | None = None, *, who: str = "the change"
) -> list[Scenario]:
    """The scenarios ``trigger`` may fire from ``state`` (toward ``to``, when given), in order.

    Raises ``TransitionError`` when there is none, saying what can be done from ``state``.
    """
    if workflow.states[state].final:
        raise TransitionError(
            f"{who} is in the final state {state!r}; nothing leaves it",
            fix="start a new change with 'specflow new'",
        )
    found = workflow.scenarios_from(state, trigger)
    if not found:
        triggers = workflow.triggers_from(state)
        raise TransitionError(
            f"no scenario for {trigger!r} from state {state!r} in workflow {workflow.name!r}",
            fix=("triggers from here: " + ", ".join(triggers)) if triggers else "this state has no way out",
        )
    if to is None:
        return found
    step = next_step_toward(workflow, state, trigger, to)
    return [sc for sc in found if sc.to == step]


def next_step_toward(workflow: Workflow, state: str, trigger: str, to: str) -> str:
    """The state the first transition on the way from ``state`` to ``to`` enters."""
    found = workflow.scenarios_from(state, trigger)
    if any(sc.to == to for sc in found):
        return to
    path = workflow.path_to(state, to, trigger)
    if not path:
        raise TransitionError(
            f"state {to!r} cannot be reached from {state!r} with {trigger!r}",
            fix="reachable next: " + ", ".join(sc.to for sc in found),
        )
    return path[0].to


def choose(
    workflow: Workflow,
    state: str,
    trigger: str,
    check: GivenCheck,
    *,
    to: str | None = None,
    check_single: bool = True,
    who: str = "the change",
) -> Choice:
    """Try the candidate scenarios in order; the first whose ``given`` steps all hold is chosen.

    ``check_single=False`` (for showing a prompt) skips evaluating when there is only one
    candidate: it is the one, whatever its steps say.
    """
    choice = Choice(trigger, state)
    found = candidates(workflow, state, trigger, to, who=who)
    if len(found) == 1 and not check_single:
        choice.tried.append((found[0], []))
        choice.chosen = found[0]
        return choice
    for scenario in found:
        outcomes = check(scenario)
        choice.tried.append((scenario, outcomes))
        if all(o.ok for o in outcomes):
            choice.chosen = scenario
            break
    return choice
