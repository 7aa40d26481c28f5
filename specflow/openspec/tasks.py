"""``tasks.md``: OpenSpec's checkbox lines, counted exactly as ``openspec list`` counts them.

A task is a list item (``-``, ``*``, ``+``, ``1.`` or ``1)``) carrying a checkbox that holds at most
one non-space marker.  Only ``x`` / ``X`` means done; every other marker (``[ ]``, ``[~]``, ``[]``)
is open work.  Fenced code is *not* skipped, as in OpenSpec: a checkbox in an example still counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from specflow.openspec.jsre import DOT, JS_SPACE, S, js_trim

_NS = f"[^{JS_SPACE}]"

TASK_LINE_RE = re.compile(
    rf"^{S}*(?:[-*+]|[0-9]{{1,9}}[.)]){S}*\[(?:{S}*([^\]{JS_SPACE}]?){S}*\](?![(\[])|{S}+\])"
    rf"{S}*({DOT}*)"
)
#: A plain list item without a checkbox (for the "0 tasks" warning of ``validate``).
LIST_ITEM_PATTERN = rf"^{S}*(?:[-*+]|[0-9]{{1,9}}[.)]){S}+{_NS}"

# The same pattern over a whole text: ``^`` per line, whitespace that never crosses a newline.
_SL = "[" + JS_SPACE.replace("\\n", "") + "]"
_TASK_LINES_RE = re.compile(
    rf"^{_SL}*(?:[-*+]|[0-9]{{1,9}}[.)]){_SL}*\[(?:{_SL}*([^\]{JS_SPACE}]?){_SL}*\](?![(\[])|{_SL}+\])",
    re.M,
)

TaskStatus = Literal["no-tasks", "complete", "in-progress"]


@dataclass(frozen=True)
class Task:
    """One checkbox line: its 1-based line number, whether it is done, and its text."""

    line: int
    done: bool
    text: str


@dataclass(frozen=True)
class TaskList:
    """Every task of a ``tasks.md`` in document order, with OpenSpec's totals."""

    items: tuple[Task, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        """How many checkbox lines there are."""
        return len(self.items)

    @property
    def done(self) -> int:
        """How many are ticked with ``x`` or ``X``."""
        return sum(1 for t in self.items if t.done)

    @property
    def status(self) -> TaskStatus:
        """``no-tasks``, ``complete`` or ``in-progress`` (``openspec list --json``'s status)."""
        return task_status(self.total, self.done)


def parse_tasks(text: str) -> TaskList:
    """Every checkbox task in ``text`` (never raises)."""
    items: list[Task] = []
    if "[" not in text:
        return TaskList(())
    match = TASK_LINE_RE.match
    for number, line in enumerate(text.split("\n"), 1):
        if "[" not in line:
            continue
        m = match(line)
        if m:
            marker = m.group(1) or ""
            items.append(Task(number, marker in ("x", "X"), js_trim(m.group(2))))
    return TaskList(tuple(items))


def count_tasks(text: str) -> tuple[int, int]:
    """``(total, done)`` without building task objects: the fast path for ``list``."""
    if "[" not in text:
        return 0, 0
    total = done = 0
    for m in _TASK_LINES_RE.finditer(text):
        total += 1
        if m.group(1) in ("x", "X"):
            done += 1
    return total, done


def task_status(total: int, done: int) -> TaskStatus:
    """OpenSpec's list status for a change with ``done`` of ``total`` tasks."""
    if total == 0:
        return "no-tasks"
    if done == total:
        return "complete"
    return "in-progress"


__all__ = ["Task", "TaskList", "TaskStatus", "count_tasks", "parse_tasks", "task_status"]
