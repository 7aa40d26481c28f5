"""The adapter registry: built-in adapters by name, more through the ``specflow.adapters`` group.

Nothing registers itself by being imported: built-ins are listed here and imported lazily, and
third-party adapters are entry points (``name = "package.module:AdapterClass"``).
"""

from __future__ import annotations

import importlib
from typing import Any

from specflow.agents.base import (
    Adapter,
    AgentEvent,
    AgentRequest,
    AgentResult,
    EventCallback,
    ignore_event,
)
from specflow.entrypoints import entry_points
from specflow.errors import AgentError

ENTRY_POINT_GROUP = "specflow.adapters"

_BUILTIN: dict[str, str] = {
    "command": "specflow.agents.command:CommandAdapter",
    "claude-code": "specflow.agents.claude.adapter:ClaudeCodeAdapter",
}


def _load(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


def adapter_names() -> list[str]:
    """Every adapter name known: built-ins first, then entry points."""
    names = list(_BUILTIN)
    for ep in entry_points(ENTRY_POINT_GROUP):
        if ep.name not in names:
            names.append(ep.name)
    return names


def is_adapter(name: str) -> bool:
    """True when an adapter is registered as ``name`` (a built-in is known without reading the
    installed packages' entry points)."""
    return name in _BUILTIN or any(ep.name == name for ep in entry_points(ENTRY_POINT_GROUP))


def get_adapter(name: str) -> Adapter:
    """Instantiate the adapter registered as ``name``."""
    if name in _BUILTIN:
        factory = _load(_BUILTIN[name])
    else:
        matches = [ep for ep in entry_points(ENTRY_POINT_GROUP) if ep.name == name]
        if not matches:
            known = ", ".join(adapter_names())
            raise AgentError(
                f"unknown adapter {name!r} (known: {known})",
                fix=f"use one of {known}, or install a package that provides {name!r} in the"
                f" '{ENTRY_POINT_GROUP}' entry-point group",
            )
        try:
            factory = matches[0].load()
        except Exception as exc:
            raise AgentError(f"adapter {name!r} failed to load: {exc}") from exc
    adapter = factory() if isinstance(factory, type) else factory
    if not isinstance(adapter, Adapter):
        raise AgentError(f"adapter {name!r} does not implement run(request, on_event)")
    return adapter


__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "AgentEvent",
    "AgentRequest",
    "AgentResult",
    "EventCallback",
    "adapter_names",
    "get_adapter",
    "ignore_event",
    "is_adapter",
]
