"""The change a phase runs on, as the engine sees it: what ``Engine``, ``Attempt`` and the steps
around them read of it.  ``RunnableChange`` is one (``specflow.engine.runnable``); the engine names
the ``Protocol``, not the class, because that class builds the engine.  It is what ``status`` reads
of a change (``ChangeLike``) and more."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from specflow.changestate.recordtypes import HistoryEvent, StateRecord
from specflow.definitions.workflow import Workflow
from specflow.engine.status import ChangeLike, HubLike
from specflow.steps.registry import StepRegistry


class PhaseHub(HubLike, Protocol):
    """The hub of a change a phase runs on: besides its folder and config, its workflows and steps."""

    @property
    def on_branches(self) -> bool: ...

    @property
    def steps(self) -> StepRegistry: ...

    def workflow(self, name: str | None = None) -> Workflow: ...


class PhaseChange(ChangeLike, Protocol):
    """A change a phase runs on: besides what ``status`` reads, where its files are and its history."""

    dir: Path
    """Its folder: moved when the change moves onto its branch, or is archived."""

    @property
    def root(self) -> Path: ...

    @property
    def hub(self) -> PhaseHub: ...

    @property
    def on_branch(self) -> bool: ...

    def require_record(self) -> StateRecord: ...

    def follow_archive(self) -> None: ...

    def history(self) -> list[HistoryEvent]: ...
