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
    from specflow.definitions.workflow import Workflow, load_workflow
    from specflow.engine.background import BackgroundRun
    from specflow.engine.events import EventReader, LoggedEvent
    from specflow.engine.hub import Change, Hub
    from specflow.engine.results import AdvanceResult
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
    from specflow.steps.registry import StepContext, StepResult, step
    from specflow.ui.board import Action, Board, Card
    from specflow.ui.timeline import Entry, RefusedWrite, StepCheck, Timeline
    from specflow.workspace.gates import GatePolicy

_EXPORTS = {
    "Hub": "specflow.engine.hub",
    "Change": "specflow.engine.hub",
    "AdvanceResult": "specflow.engine.results",
    "Workflow": "specflow.definitions.workflow",
    "load_workflow": "specflow.definitions.workflow",
    "step": "specflow.steps.registry",
    "StepContext": "specflow.steps.registry",
    "StepResult": "specflow.steps.registry",
    "GatePolicy": "specflow.workspace.gates",
    "Adapter": "specflow.agents.base",
    "AgentEvent": "specflow.agents.base",
    "AgentRequest": "specflow.agents.base",
    "AgentResult": "specflow.agents.base",
    "EventReader": "specflow.engine.events",
    "LoggedEvent": "specflow.engine.events",
    "BackgroundRun": "specflow.engine.background",
    "Board": "specflow.ui.board",
    "Card": "specflow.ui.board",
    "Action": "specflow.ui.board",
    "Timeline": "specflow.ui.timeline",
    "Entry": "specflow.ui.timeline",
    "StepCheck": "specflow.ui.timeline",
    "RefusedWrite": "specflow.ui.timeline",
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
