"""specflow: run OpenSpec changes through enforced phases — explore, propose, apply, archive.

The public API (everything else is private)::

    from specflow import Hub, step, StepResult

    hub = Hub.open(".")
    change = hub.new_change("add-login")
    change.advance(on_event=print)

Names are imported lazily so ``import specflow`` (and the CLI) start fast; type checkers see them
through the imports below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from specflow._version import __version__

if TYPE_CHECKING:
    from specflow.agents.base import Adapter, AgentEvent, AgentRequest, AgentResult
    from specflow.definitions.workflow import Workflow, load_workflow
    from specflow.engine.change import Change
    from specflow.engine.hub import Hub
    from specflow.engine.results import AdvanceResult
    from specflow.errors import (
        AgentError,
        ChangeExistsError,
        ChangeIdError,
        ChangeNotFoundError,
        ConfigError,
        DefinitionError,
        DemoError,
        GitError,
        GuardFailed,
        HubNotFoundError,
        LockedError,
        NoChangeIdError,
        OpenSpecError,
        PhaseFailed,
        SpecflowError,
        StateError,
        StepError,
        TemplateError,
        TransitionError,
        WorkflowError,
        WorkspaceError,
    )
    from specflow.steps.registry import StepContext, StepResult, step
    from specflow.workspace.gates import GatePolicy

__all__ = [
    "Adapter",
    "AdvanceResult",
    "AgentError",
    "AgentEvent",
    "AgentRequest",
    "AgentResult",
    "Change",
    "ChangeExistsError",
    "ChangeIdError",
    "ChangeNotFoundError",
    "ConfigError",
    "DefinitionError",
    "DemoError",
    "GatePolicy",
    "GitError",
    "GuardFailed",
    "Hub",
    "HubNotFoundError",
    "LockedError",
    "NoChangeIdError",
    "OpenSpecError",
    "PhaseFailed",
    "SpecflowError",
    "StateError",
    "StepContext",
    "StepError",
    "StepResult",
    "TemplateError",
    "TransitionError",
    "Workflow",
    "WorkflowError",
    "WorkspaceError",
    "__version__",
    "load_workflow",
    "step",
]

# where each lazily imported public name lives
_HOMES = {
    "specflow.agents.base": ("Adapter", "AgentEvent", "AgentRequest", "AgentResult"),
    "specflow.definitions.workflow": ("Workflow", "load_workflow"),
    "specflow.engine.change": ("Change",),
    "specflow.engine.hub": ("Hub",),
    "specflow.engine.results": ("AdvanceResult",),
    "specflow.steps.registry": ("StepContext", "StepResult", "step"),
    "specflow.workspace.gates": ("GatePolicy",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = "specflow.errors" if name in __all__ and name not in _MODULE_OF else _MODULE_OF.get(name, "")
    if not module:
        raise AttributeError(f"module 'specflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
