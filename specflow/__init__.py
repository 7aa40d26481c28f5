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
    from specflow.changestate.recordtypes import HistoryEvent, StateRecord
    from specflow.changestate.totals import CostSummary
    from specflow.definitions.workflow import Workflow, load_workflow
    from specflow.engine.background import BackgroundRun
    from specflow.engine.board import Action, Board, Card
    from specflow.engine.change import Change
    from specflow.engine.eventreader import EventReader
    from specflow.engine.events import LoggedEvent
    from specflow.engine.hub import Hub
    from specflow.engine.results import AdvanceResult
    from specflow.engine.status import ChangeStatus
    from specflow.engine.timeline import Entry, RefusedWrite, StepCheck, Timeline
    from specflow.errors import (
        AgentError,
        ArchiveBlocked,
        ArchiveCancelled,
        ChangeExistsError,
        ChangeIdError,
        ChangeNotFoundError,
        ConfigError,
        DefinitionError,
        DemoError,
        GitError,
        GuardFailed,
        HubNotFoundError,
        ItemError,
        LeaseHeldError,
        LockedError,
        NoChangeIdError,
        OpenSpecError,
        PhaseFailed,
        QueueError,
        RemoteError,
        SandboxError,
        ServerError,
        SetupError,
        ShowError,
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
    from specflow.workspace.pull import PullResult
    from specflow.workspace.push import PushResult

__all__ = [
    "Action",
    "Adapter",
    "AdvanceResult",
    "AgentError",
    "AgentEvent",
    "AgentRequest",
    "AgentResult",
    "ArchiveBlocked",
    "ArchiveCancelled",
    "BackgroundRun",
    "Board",
    "Card",
    "Change",
    "ChangeExistsError",
    "ChangeIdError",
    "ChangeNotFoundError",
    "ChangeStatus",
    "ConfigError",
    "CostSummary",
    "DefinitionError",
    "DemoError",
    "Entry",
    "EventReader",
    "GatePolicy",
    "GitError",
    "GuardFailed",
    "HistoryEvent",
    "Hub",
    "HubNotFoundError",
    "ItemError",
    "LeaseHeldError",
    "LockedError",
    "LoggedEvent",
    "NoChangeIdError",
    "OpenSpecError",
    "PhaseFailed",
    "PullResult",
    "PushResult",
    "QueueError",
    "RefusedWrite",
    "RemoteError",
    "SandboxError",
    "ServerError",
    "SetupError",
    "ShowError",
    "SpecflowError",
    "StateError",
    "StateRecord",
    "StepCheck",
    "StepContext",
    "StepError",
    "StepResult",
    "TemplateError",
    "Timeline",
    "TransitionError",
    "Workflow",
    "WorkflowError",
    "WorkspaceError",
    "__version__",
    "load_workflow",
    "step",
]

# where each lazily imported public name lives (every other one is an error class of specflow.errors)
_HOMES = {
    "specflow.agents.base": (
        "Adapter",
        "AgentEvent",
        "AgentRequest",
        "AgentResult",
    ),
    "specflow.changestate.recordtypes": ("HistoryEvent", "StateRecord"),
    "specflow.changestate.totals": ("CostSummary",),
    "specflow.definitions.workflow": (
        "Workflow",
        "load_workflow",
    ),
    "specflow.engine.background": ("BackgroundRun",),
    "specflow.engine.board": (
        "Action",
        "Board",
        "Card",
    ),
    "specflow.engine.change": ("Change",),
    "specflow.engine.eventreader": ("EventReader",),
    "specflow.engine.events": ("LoggedEvent",),
    "specflow.engine.hub": ("Hub",),
    "specflow.engine.results": ("AdvanceResult",),
    "specflow.engine.status": ("ChangeStatus",),
    "specflow.engine.timeline": (
        "Entry",
        "RefusedWrite",
        "StepCheck",
        "Timeline",
    ),
    "specflow.steps.registry": (
        "StepContext",
        "StepResult",
        "step",
    ),
    "specflow.workspace.gates": ("GatePolicy",),
    "specflow.workspace.pull": ("PullResult",),
    "specflow.workspace.push": ("PushResult",),
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
