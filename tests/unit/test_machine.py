"""Choosing and firing: the chooser evaluates given steps, the machine runs the chosen phase.

Both are driven over real workflow files; the callbacks stand for the engine's step evaluation
and phase run, and record what was asked of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from specflow.definitions.workflow import Scenario, Workflow, load_workflow
from specflow.engine.chooser import Choice, choose
from specflow.engine.machine import MachineModel, build_machine, fire
from specflow.errors import TransitionError
from specflow.steps.registry import StepOutcome
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
    """The engine's side: which given steps hold, and what each phase run does."""

    def __init__(self, holds: set[str], fail_phase: bool = False) -> None:
        self.holds = holds
        self.fail_phase = fail_phase
        self.checked: list[str] = []
        self.ran: list[str] = []

    def check_given(self, scenario: Scenario) -> list[StepOutcome]:
        self.checked.append(scenario.scenario)
        ok = scenario.to in self.holds
        return [StepOutcome(text, ok, "" if ok else "does not hold") for text in scenario.given or ("(none)",)]

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


def choose_and_fire(wf: Workflow, model: MachineModel, calls: Calls, trigger: str, to: str | None = None) -> Choice:
    """What the engine does: choose, and fire the chosen scenario when there is one."""
    choice = choose(wf, model.state, trigger, calls.check_given, to=to)
    if choice.chosen is not None:
        machine = build_machine(wf, model, run_phase=calls.run_phase)
        assert fire(machine, model, choice.chosen) is True
    return choice


def test_a_transition_whose_given_steps_hold_runs_the_phase_then_moves(mini: Workflow) -> None:
    calls = Calls(holds={"think"})
    model = MachineModel("draft")
    choice = choose_and_fire(mini, model, calls, "advance")
    assert choice.chosen is not None and choice.chosen.scenario == "Think first"
    assert model.state == "think"
    assert calls.checked == ["Think first"] and calls.ran == ["Think first"]


def test_a_failing_phase_leaves_the_state_unchanged(mini: Workflow) -> None:
    calls = Calls(holds={"think"}, fail_phase=True)
    model = MachineModel("draft")
    machine = build_machine(mini, model, run_phase=calls.run_phase)
    think = mini.scenarios_from("draft", "advance")[0]
    with pytest.raises(RuntimeError, match="the think phase failed"):
        fire(machine, model, think)
    assert model.state == "draft"
    assert calls.ran == ["Think first"]
    calls.fail_phase = False  # the same machine, fired again once the phase succeeds
    assert fire(machine, model, think) is True
    assert model.state == "think"


def test_given_steps_that_fail_block_the_transition_without_running_the_phase(mini: Workflow) -> None:
    calls = Calls(holds=set())
    model = MachineModel("write")
    choice = choose_and_fire(mini, model, calls, "advance")
    assert choice.blocked and choice.shown.scenario == "Finish once approved"
    assert [o.text for o in choice.failed_steps] == ["the proposal is approved"]
    assert model.state == "write"
    assert calls.checked == ["Finish once approved"] and calls.ran == []


def test_of_two_scenarios_on_one_trigger_the_first_whose_given_holds_is_taken(fork: Workflow) -> None:
    calls = Calls(holds={"right"})
    model = MachineModel("draft")
    choose_and_fire(fork, model, calls, "advance")
    assert model.state == "right"
    assert calls.checked == ["Go left", "Go right"] and calls.ran == ["Go right"]


def test_when_no_scenario_holds_the_first_tried_is_the_one_shown(fork: Workflow) -> None:
    choice = choose(fork, "draft", "advance", Calls(holds=set()).check_given)
    assert choice.blocked and choice.shown.scenario == "Go left"
    assert [sc.scenario for sc, _ in choice.tried] == ["Go left", "Go right"]


def test_a_target_state_skips_the_other_scenarios_given_steps(fork: Workflow) -> None:
    calls = Calls(holds={"left", "right"})
    model = MachineModel("draft")
    choice = choose_and_fire(fork, model, calls, "advance", to="right")
    assert model.state == "right"
    assert calls.checked == ["Go right"]
    assert [sc.scenario for sc, _ in choice.tried] == ["Go right"]


def test_showing_a_prompt_does_not_evaluate_a_single_candidate(mini: Workflow) -> None:
    calls = Calls(holds=set())
    choice = choose(mini, "write", "advance", calls.check_given, check_single=False)
    assert choice.chosen is not None and choice.chosen.to == "done"
    assert calls.checked == []


def test_an_unknown_trigger_is_refused_naming_the_ones_that_work_from_here(mini: Workflow) -> None:
    calls = Calls(holds={"think"})
    with pytest.raises(TransitionError) as caught:
        choose(mini, "draft", "launch", calls.check_given)
    assert caught.value.message == "no scenario for 'launch' from state 'draft' in workflow 'mini'"
    assert caught.value.fix == "triggers from here: advance"
    assert calls.checked == [] and calls.ran == []


def test_a_trigger_with_no_scenario_from_the_current_state_is_refused(mini: Workflow) -> None:
    calls = Calls(holds={"think"})
    with pytest.raises(TransitionError) as caught:
        choose(mini, "draft", "reject", calls.check_given)
    assert "reject" in caught.value.message and "draft" in caught.value.message
    assert calls.checked == [] and calls.ran == []


def test_nothing_leaves_a_final_state(mini: Workflow) -> None:
    with pytest.raises(TransitionError, match="the change is in the final state 'done'; nothing leaves it"):
        choose(mini, "done", "advance", Calls(holds=set()).check_given)
