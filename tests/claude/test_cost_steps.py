"""The budget step ``the change has cost less than ${amount}`` over a change's history."""

from __future__ import annotations

from pathlib import Path

import pytest

from specflow.changestate.records import append_event
from specflow.definitions.config import HubConfig
from specflow.steps.cost import change_cost
from specflow.steps.registry import StepContext, build_registry


@pytest.fixture
def ctx(tmp_path: Path) -> StepContext:
    change = tmp_path / "openspec" / "changes" / "add-x"
    change.mkdir(parents=True)
    append_event(change, {"trigger": "new", "to": "draft", "outcome": "created"})
    append_event(
        change, {"to": "explore", "outcome": "succeeded", "agent": {"cost_usd": 0.25, "tokens": {"input_tokens": 10}}}
    )
    append_event(change, {"to": "propose", "outcome": "failed", "agent": {"cost_usd": 0.5}})
    append_event(change, {"to": "propose", "outcome": "succeeded", "agent": {"cost_usd": 0.25}})
    return StepContext(hub_root=tmp_path, change_id="add-x", change_dir=change, state="propose", config=HubConfig())


def check(ctx: StepContext, text: str) -> tuple[bool, str]:
    outcome = build_registry().evaluate(text, ctx)
    return outcome.ok, outcome.reason


def test_the_budget_counts_every_attempt(ctx: StepContext) -> None:
    assert change_cost(ctx)[0] == pytest.approx(1.0)
    assert check(ctx, "the change has cost less than $2") == (True, "spent $1.0000 of $2")
    ok, reason = check(ctx, "the change has cost less than $1")
    assert not ok
    assert reason == (
        "the change has cost $1.0000 (explore $0.2500, propose $0.7500), which is not less than its budget"
        " of $1; raise the budget in the workflow or finish the change by hand"
    )


def test_the_attempt_being_checked_counts_when_the_engine_passes_it(ctx: StepContext) -> None:
    ctx.extra["agent"] = {"cost_usd": 0.75}
    assert check(ctx, "the change has cost less than $1.50")[0] is False
    assert check(ctx, "the change has cost less than $1,000")[0] is True


@pytest.mark.parametrize(("amount", "message"), [("ten", "'ten' is not an amount of dollars"), ("0", "more than $0")])
def test_a_bad_amount_fails_with_the_fix(ctx: StepContext, amount: str, message: str) -> None:
    ok, reason = check(ctx, f"the change has cost less than ${amount}")
    assert not ok and message in reason


def test_a_change_without_history_has_cost_nothing(tmp_path: Path) -> None:
    ctx = StepContext(hub_root=tmp_path, change_id="x", change_dir=tmp_path / "x", state="draft", config=HubConfig())
    assert check(ctx, "the change has cost less than $0.01") == (True, "spent $0.0000 of $0.01")
