"""Built-in actions a state can run after its agent: e.g. ``openspec-archive``.

An action is a function of a ``StepContext`` that does its work and returns a one-line summary,
or raises a ``SpecflowError`` to fail the transition.  Actions come from specflow's modules that
expose an ``ACTIONS`` mapping.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from specflow.steps.registry import StepContext, module_identity

Action = Callable[[StepContext], str]

_PROVIDERS = ("specflow.steps.openspec", "specflow.steps.workspace")


def actions_fingerprint() -> list[list[str | int]]:
    """What the known actions depend on (their modules' files), without importing them: a
    workflow's cached checks stay valid while it is unchanged."""
    return [module_identity(provider) for provider in _PROVIDERS]


def build_actions() -> dict[str, Action]:
    """Every action known, by name."""
    actions: dict[str, Action] = {}
    for provider in _PROVIDERS:
        found: Mapping[str, Action] = getattr(importlib.import_module(provider), "ACTIONS", {})
        actions.update(found)
    return actions
