"""``specflow graph``: a workflow as a Mermaid state diagram, a change's state marked."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from specflow.cli.context import CliContext
from specflow.definitions.mermaid import mermaid

if TYPE_CHECKING:
    from specflow.definitions.workflow_types import Workflow


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", nargs="?", help="a change: its workflow, with its state marked")
    p.add_argument("--workflow", "-w", help="a workflow by name")
    p.add_argument("--json", action="store_true", help="the states and transitions (and the diagram) as JSON")


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    hub = ctx.open_hub()
    change_id: str | None = None
    current: str | None = None
    if args.id:
        change = hub.change(args.id)
        record = change.require_record()
        wf = hub.workflow(record.get("workflow"))
        change_id, current = change.id, record["state"]
    else:
        wf = hub.workflow(args.workflow)
    text = mermaid(wf, current)
    if args.json:
        ctx.json(_graph(wf, change_id, current, text))
        return 0
    ctx.stdout.write(text)
    return 0


def _graph(wf: Workflow, change_id: str | None, current: str | None, text: str) -> dict[str, Any]:
    """The diagram's data: every state, and every transition from each concrete source state."""
    return {
        "workflow": wf.name,
        "source": str(wf.source),
        "initial": wf.initial,
        "change": change_id,
        "state": current,
        "states": [
            {"name": name, "initial": name == wf.initial, "final": st.final, "prompt": st.prompt}
            for name, st in wf.states.items()
        ],
        "transitions": [
            {"from": t.source, "to": t.target, "when": t.trigger, "scenario": wf.scenarios[t.scenario].scenario}
            for t in wf.transitions()
        ],
        "mermaid": text,
    }
