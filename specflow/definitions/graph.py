"""Pure helpers over a directed graph given as ``{node: successors}``; nothing here knows workflows."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping


def successors(edges: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """``{source: {targets}}`` of ``(source, target)`` pairs."""
    out: dict[str, set[str]] = {}
    for source, target in edges:
        out.setdefault(source, set()).add(target)
    return out


def reverse(graph: Mapping[str, Collection[str]]) -> dict[str, set[str]]:
    """The same graph with every edge turned around."""
    return successors((target, source) for source, targets in graph.items() for target in targets)


def reachable(starts: Iterable[str], graph: Mapping[str, Collection[str]]) -> set[str]:
    """Every node reachable from ``starts`` (which are included)."""
    seen = set(starts)
    frontier = list(seen)
    while frontier:
        for nxt in graph.get(frontier.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


def reaching(targets: Iterable[str], graph: Mapping[str, Collection[str]]) -> set[str]:
    """Every node from which one of ``targets`` can be reached (``targets`` included)."""
    return reachable(targets, reverse(graph))


def first_repeat(items: Iterable[Hashable]) -> int | None:
    """The position of the first item equal to an earlier one, or None."""
    seen: set[Hashable] = set()
    for position, item in enumerate(items):
        if item in seen:
            return position
        seen.add(item)
    return None
