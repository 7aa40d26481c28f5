"""A hub whose changes run phases: ``RunnerHub`` loads workflows and steps, ``RunnableChange``
fires transitions through the engine.

The third of three layers: ``HubView`` / ``ChangeView`` read (``status``); these run phases
(``advance``, ``prompt``); ``Hub`` / ``Change`` add every other operation (approvals, merges,
remotes, the dashboard).  ``specflow advance`` loads this layer only, not the machinery of
operations it does not run.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack

from specflow.agents.base import EventCallback
from specflow.definitions.workflow import Workflow, load_workflow_by_name
from specflow.engine.engine import Engine, PromptInfo
from specflow.engine.results import AdvanceResult
from specflow.engine.view import BaseHub, ChangeView
from specflow.steps.registry import StepRegistry, build_registry
from specflow.workspace.workspaces import Workspaces


class RunOptions(TypedDict, total=False):
    """How ``advance`` or a trigger runs; every key may be left out."""

    to: str | None
    """Fire it again and again until the change reaches this state."""
    agent: str | None
    """The agent to run instead of the phase's (a name under ``agents:`` in ``specflow.yaml``)."""
    on_event: EventCallback | None
    """Called with every event of the run: steps, the agent's tool calls and output, results."""
    dry_run: bool
    """Check the ``given`` steps and say what would run, running nothing."""
    fresh: bool
    """Start a new agent session instead of resuming the last one."""
    take_over: bool
    """Take the change's lease another machine left, once it has expired."""


class RunnableChange(ChangeView):
    """A change that runs through its workflow: ``advance``, any trigger, its next prompt."""

    hub: RunnerHub[Any]

    def advance(self, **options: Unpack[RunOptions]) -> list[AdvanceResult]:
        """Run the ``advance`` transition (repeatedly up to state ``to``); see ``RunOptions``.

        Returns one result per transition taken.  Raises ``GuardFailed`` when a ``given`` step
        does not hold and ``PhaseFailed`` when the phase ran but failed; both carry ``results``.
        """
        return self.trigger("advance", **options)

    def trigger(self, name: str, **options: Unpack[RunOptions]) -> list[AdvanceResult]:
        """Fire the workflow trigger ``name`` (e.g. ``reject``); see ``RunOptions``."""
        return Engine(self).run(name, **options)

    def prompt(self, state: str | None = None) -> str:
        """The prompt the next transition (or the phase ``state``) would send, rendered."""
        return self.prompt_info(state).prompt

    def prompt_info(self, state: str | None = None) -> PromptInfo:
        """``prompt`` with the phase it renders, its template (name and file) and gate, for tools."""
        return Engine(self).prompt_info(state)


R = TypeVar("R", bound=RunnableChange)


class RunnerHub(BaseHub[R]):
    """A hub whose changes run phases: its steps and workflows, checked and cached."""

    @cached_property
    def steps(self) -> StepRegistry:
        """Every step this hub's workflows may use: specflow's own, entry points, ``steps:`` modules."""
        return build_registry(self.root, self.config.steps)

    def workflow(self, name: str | None = None) -> Workflow:
        """Load workflow ``name`` (default: the hub's default) with every check."""
        cache: dict[str, Workflow] = self.__dict__.setdefault("_workflows", {})
        key = name or self.config.default_workflow
        if key not in cache:
            cache[key] = load_workflow_by_name(key, self.root, registry=self.steps)
        return cache[key]

    def _reopen(self, change_id: str) -> bool:
        """Its branch is here but its worktree is not (removed, or the branch was pulled): make it."""
        Workspaces(self.root, self.config, change_id, []).ensure_hub()
        return True


class PhaseRunner(RunnerHub[RunnableChange]):
    """A hub opened to run its changes' phases (``specflow advance``), without the other operations."""

    def _change(self, change_id: str, folder: Path) -> RunnableChange:
        return RunnableChange(self, change_id, folder)
