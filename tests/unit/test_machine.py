"""The change's state machine: given steps are its conditions, a failing phase leaves the state alone.

The machine is built from real workflow files; the callbacks stand for the engine's step
evaluation and phase run, and record what the machine asked of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from specflow.definitions.workflow import Scenario, Workflow, load_workflow
from specflow.engine.machine import MachineModel, build_machine, fire
from specflow.errors import TransitionError
from tests.conftest import HubFixture

# Two ways out of draft on one trigger: the first scenario whose given steps hold is taken.
FORK = """\
workflow: fork
version: 1
description: Two scenarios on one trigger.
initial: draft
states:
  draft: {}
  left:
    final: true
  right:
    final: true
scenarios:
  - scenario: Go left
    given: [the file "left.md" exists]
    when: advance
    from: draft
    to: left
  - scenario: Go right
    given: [the file "right.md" exists]
    when: advance
    from: draft
    to: right
"""


class Calls:
    """The engine's side of the machine: which given steps hold, and what each phase run does."""

    def __init__(self, holds: set[str], fail_phase: bool = False) -> None:
        self.holds = holds
        self.fail_phase = fail_phase
        self.checked: list[str] = []
        self.ran: list[str] = []

    def check_given(self, scenario: Scenario) -> bool:
        self.checked.append(scenario.scenario)
        return scenario.to in self.holds

    def run_phase(self, scenario: Scenario) -> None:
        self.ran.append(scenario.scenario)
        if self.fail_phase:
            raise RuntimeError(f"the {scenario.to} phase failed")


@pytest.fixture
def mini(hub: HubFixture) -> Workflow:
    """The mini workflow of the test hub (think, write, done; reject sends write back to think)."""
    return load_workflow(hub.root / "openspec" / "workflows" / "mini.yaml", hub_root=hub.root, use_cache=False)


@pytest.fixture
def fork(tmp_path: Path) -> Workflow:
    path = tmp_path / "fork.yaml"
    path.write_text(FORK, encoding="utf-8")
    return load_workflow(path, use_cache=False)


def machine_for(wf: Workflow, state: str, calls: Calls) -> tuple[object, MachineModel]:
    model = MachineModel(state)
    return build_machine(wf, model, check_given=calls.check_given, run_phase=calls.run_phase), model


def test_a_transition_whose_given_steps_hold_runs_the_phase_then_moves(mini: Workflow) -> None:
    calls = Calls(holds={"think"})
    machine, model = machine_for(mini, "draft", calls)
    assert fire(machine, model, "advance") is True
    assert model.state == "think"
    assert calls.checked == ["Think first"] and calls.ran == ["Think first"]


def test_a_failing_phase_leaves_the_state_unchanged(mini: Workflow) -> None:
    calls = Calls(holds={"think"}, fail_phase=True)
    machine, model = machine_for(mini, "draft", calls)
    with pytest.raises(RuntimeError, match="the think phase failed"):
        fire(machine, model, "advance")
    assert model.state == "draft"
    assert calls.ran == ["Think first"]
    calls.fail_phase = False  # the same machine, fired again once the phase succeeds
    assert fire(machine, model, "advance") is True
    assert model.state == "think"


def test_given_steps_that_fail_block_the_transition_without_running_the_phase(mini: Workflow) -> None:
    calls = Calls(holds=set())
    machine, model = machine_for(mini, "write", calls)
    assert fire(machine, model, "advance") is False
    assert model.state == "write"
    assert calls.checked == ["Finish once approved"] and calls.ran == []
    assert [sc.scenario for sc in model.tried] == ["Finish once approved"]


def test_of_two_scenarios_on_one_trigger_the_first_whose_given_holds_is_taken(fork: Workflow) -> None:
    calls = Calls(holds={"right"})
    machine, model = machine_for(fork, "draft", calls)
    assert fire(machine, model, "advance") is True
    assert model.state == "right"
    assert calls.checked == ["Go left", "Go right"] and calls.ran == ["Go right"]


def test_a_target_state_skips_the_other_scenarios_given_steps(fork: Workflow) -> None:
    calls = Calls(holds={"left", "right"})
    machine, model = machine_for(fork, "draft", calls)
    assert fire(machine, model, "advance", target="right") is True
    assert model.state == "right"
    assert calls.checked == ["Go right"]
    assert [sc.scenario for sc in model.tried] == ["Go right"]


def test_an_unknown_trigger_is_refused_naming_the_known_ones(mini: Workflow) -> None:
    calls = Calls(holds={"think"})
    machine, model = machine_for(mini, "draft", calls)
    with pytest.raises(TransitionError) as caught:
        fire(machine, model, "launch")
    assert caught.value.message == "the workflow has no trigger 'launch'"
    assert caught.value.fix == "known triggers: advance, reject"
    assert model.state == "draft" and calls.checked == [] and calls.ran == []


def test_a_trigger_with_no_scenario_from_the_current_state_is_refused(mini: Workflow) -> None:
    calls = Calls(holds={"think"})
    machine, model = machine_for(mini, "draft", calls)
    with pytest.raises(TransitionError) as caught:
        fire(machine, model, "reject")
    assert "reject" in caught.value.message and "draft" in caught.value.message
    assert model.state == "draft" and calls.checked == [] and calls.ran == []
