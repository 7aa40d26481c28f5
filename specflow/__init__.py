"""specflow: run OpenSpec changes through enforced phases — explore, propose, apply, archive.

The public API (everything else is private)::

    from specflow import Hub, step, StepResult

    hub = Hub.open(".")
    change = hub.new_change("add-login")
    change.advance(on_event=print)

Names are imported lazily so ``import specflow`` (and the CLI) start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from specflow._version import __version__

if TYPE_CHECKING:
    from specflow.agents.base import Adapter, AgentEvent, AgentRequest, AgentResult
    from specflow.errors import (
        AgentError,
        ChangeIdError,
        ChangeNotFoundError,
        DefinitionError,
        GuardFailed,
        LockedError,
        PhaseFailed,
        SpecflowError,
        TemplateError,
        WorkflowError,
    )
    from specflow.gates import GatePolicy
    from specflow.hub import Change, Hub
    from specflow.results import AdvanceResult
    from specflow.steps import StepContext, StepResult, step
    from specflow.workflow import Workflow, load_workflow

_EXPORTS = {
    "Hub": "specflow.hub",
    "Change": "specflow.hub",
    "AdvanceResult": "specflow.results",
    "Workflow": "specflow.workflow",
    "load_workflow": "specflow.workflow",
    "step": "specflow.steps",
    "StepContext": "specflow.steps",
    "StepResult": "specflow.steps",
    "GatePolicy": "specflow.gates",
    "Adapter": "specflow.agents.base",
    "AgentEvent": "specflow.agents.base",
    "AgentRequest": "specflow.agents.base",
    "AgentResult": "specflow.agents.base",
    "SpecflowError": "specflow.errors",
    "DefinitionError": "specflow.errors",
    "WorkflowError": "specflow.errors",
    "TemplateError": "specflow.errors",
    "ChangeIdError": "specflow.errors",
    "ChangeNotFoundError": "specflow.errors",
    "GuardFailed": "specflow.errors",
    "PhaseFailed": "specflow.errors",
    "LockedError": "specflow.errors",
    "AgentError": "specflow.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'specflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
