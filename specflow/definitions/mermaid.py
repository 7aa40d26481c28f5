"""A workflow drawn as a Mermaid state diagram (``specflow graph``)."""

from __future__ import annotations

from specflow.definitions.workflow_types import Workflow

CURRENT_STYLE = "fill:#f9d71c,stroke:#333,stroke-width:2px"


def mermaid(wf: Workflow, current: str | None = None) -> str:
    """The workflow as a ``stateDiagram-v2``, with the state ``current`` highlighted."""
    lines = ["stateDiagram-v2", f"    [*] --> {wf.initial}"]
    lines += [f"    {t.source} --> {t.target}: {t.trigger}" for t in wf.transitions()]
    lines += [f"    {state} --> [*]" for state in wf.final_states]
    if current and current in wf.states:
        lines += [f"    classDef current {CURRENT_STYLE}", f"    class {current} current"]
    return "\n".join(lines) + "\n"
