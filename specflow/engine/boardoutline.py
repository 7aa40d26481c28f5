"""A workflow as the board reads it: its final states, its ``advance`` targets with their
``given`` steps, and the budget its scenarios set.

The board only needs these few facts of a workflow, so it reads the YAML through the YAML door
instead of the full loader and keeps each file's outline while the file is unchanged.  (The
outline ``status`` reads, with its states in order, is ``specflow.engine.status``'s.)
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from specflow.definitions.resources import search_path
from specflow.errors import SpecflowError
from specflow.structs import Struct, field
from specflow.yamlio import parse_yaml

_BUDGET = re.compile(r"cost less than \$\s*([0-9][0-9,]*(?:\.[0-9]+)?)")


class Outline(Struct, frozen=True):
    """A workflow reduced to what the board needs: final states, ``advance`` targets and givens."""

    finals: frozenset[str] = frozenset()
    advance: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)
    budget_usd: float | None = None


_outlines: dict[tuple[str, str], tuple[float, Outline]] = {}
_outline_lock = threading.Lock()


def workflow_outline(name: str, hub_root: Path) -> Outline:
    """The outline of workflow ``name`` as the hub finds it (an empty one if it cannot be read)."""
    for d in search_path("workflows", hub_root):
        for ext in (".yaml", ".yml"):
            path = d / f"{name}{ext}"
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            key = (str(hub_root), str(path))
            with _outline_lock:
                hit = _outlines.get(key)
            if hit is not None and hit[0] == mtime:
                return hit[1]
            outline = _read_outline(path)
            with _outline_lock:
                _outlines[key] = (mtime, outline)
            return outline
    return Outline()


def _read_outline(path: Path) -> Outline:
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"), path).data
    except (SpecflowError, OSError, UnicodeDecodeError):
        return Outline()
    if not isinstance(data, dict):
        return Outline()
    states: dict[str, Any] = data["states"] if isinstance(data.get("states"), dict) else {}
    finals = frozenset(n for n, s in states.items() if isinstance(s, dict) and s.get("final"))
    advance: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    budget: float | None = None
    for sc in data.get("scenarios") or []:
        if not isinstance(sc, dict):
            continue
        given = tuple(str(g) for g in sc.get("given") or [])
        for text in given:
            m = _BUDGET.search(text)
            if m:
                value = float(m.group(1).replace(",", ""))
                budget = value if budget is None else min(budget, value)
        if sc.get("when", "advance") == "advance":
            sources = sc.get("from")
            for src in sources if isinstance(sources, list) else [sources]:
                advance.setdefault(str(src), []).append((str(sc.get("to")), given))
    return Outline(finals, advance, budget)


__all__ = ["Outline", "workflow_outline"]
