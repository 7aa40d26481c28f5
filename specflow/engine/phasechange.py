"""The change a phase runs on, as the engine sees it: what ``Engine``, ``Attempt`` and the steps
around them read of it.  ``RunnableChange`` is one (``specflow.engine.runnable``); the engine names
the ``Protocol``, not the class, because that class builds the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from specflow.changestate.recordtypes import HistoryEvent, StateRecord
from specflow.definitions.config import HubConfig
from specflow.definitions.workflow import Workflow
from specflow.steps.registry import StepRegistry


class PhaseHub(Protocol):
    """The hub of a change a phase runs on: its folder, config, workflows and steps."""

    @property
    def root(self) -> Path: ...

    @property
    def config(self) -> HubConfig: ...

    @property
    def on_branches(self) -> bool: ...

    @property
    def steps(self) -> StepRegistry: ...

    def workflow(self, name: str | None = None) -> Workflow: ...


class PhaseChange(Protocol):
    """A change a phase runs on: where it is, its records, and its hub."""

    @property
    def id(self) -> str: ...

    dir: Path
    """Its folder: moved when the change moves onto its branch, or is archived."""

    @property
    def root(self) -> Path: ...

    @property
    def hub(self) -> PhaseHub: ...

    @property
    def archived(self) -> bool: ...

    @property
    def on_branch(self) -> bool: ...

    @property
    def record(self) -> StateRecord | None: ...

    def require_record(self) -> StateRecord: ...

    def follow_archive(self) -> None: ...

    def history(self) -> list[HistoryEvent]: ...
