"""Budget steps: ``the change has cost less than ${amount}``.

The cost is the sum of ``agent.cost_usd`` over every attempt in the change's history (each
attempt records its own cost; a resumed session's earlier spending is not counted twice).  Used
in a ``given``, it stops a change from running another phase once its budget is spent.  In a
``then`` the attempt being checked counts too when the engine puts its agent result in
``ctx.extra["agent"]``.
"""

from __future__ import annotations

from collections.abc import Mapping

from specflow.changestate.history import read_history
from specflow.changestate.totals import CostSummary, summarize_costs
from specflow.steps.registry import StepCollector, StepContext, StepResult

STEPS = StepCollector()


def _current_attempt_cost(ctx: StepContext) -> float:
    agent = ctx.extra.get("agent")
    if isinstance(agent, Mapping):
        cost = agent.get("cost_usd")
        if isinstance(cost, (int, float)) and not isinstance(cost, bool):
            return float(cost)
    return 0.0


def change_cost(ctx: StepContext) -> tuple[float, CostSummary]:
    """The change's total cost so far, and the per-phase summary it came from."""
    summary = summarize_costs(read_history(ctx.change_dir))
    total = float(summary["total"]["cost_usd"]) + _current_attempt_cost(ctx)
    return total, summary


def _parse_amount(amount: str) -> float:
    text = amount.strip().replace(",", "")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"'{amount}' is not an amount of dollars (write it like $2 or $0.50)") from None
    if value <= 0:
        raise ValueError(f"a budget must be more than $0, not ${amount}")
    return value


@STEPS("the change has cost less than ${amount}")
def cost_less_than(ctx: StepContext, amount: str) -> StepResult:
    """Holds while the change's recorded agent cost is under ``amount`` US dollars."""
    try:
        limit = _parse_amount(amount)
    except ValueError as exc:
        return StepResult.failed(str(exc))
    total, summary = change_cost(ctx)
    if total < limit:
        return StepResult.passed(f"spent ${total:.4f} of ${limit:g}")
    phases = ", ".join(f"{name} ${float(data['cost_usd']):.4f}" for name, data in sorted(summary["phases"].items()))
    return StepResult.failed(
        f"the change has cost ${total:.4f} ({phases or 'no phase recorded'}), which is not less than"
        f" its budget of ${limit:g}; raise the budget in the workflow or finish the change by hand"
    )


__all__ = ["STEPS", "change_cost", "cost_less_than"]
