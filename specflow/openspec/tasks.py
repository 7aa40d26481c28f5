"""``tasks.md``: OpenSpec's checkbox lines, counted exactly as ``openspec list`` counts them.

A task is a list item (``-``, ``*``, ``+``, ``1.`` or ``1)``) carrying a checkbox that holds at most
one non-space marker.  Only ``x`` / ``X`` means done; every other marker (``[ ]``, ``[~]``, ``[]``)
is open work.  Fenced code is *not* skipped, as in OpenSpec: a checkbox in an example still counts.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple

from specflow.openspec.jsre import DOT, JS_SPACE, JS_WS, S, lazy_compile

#: A plain list item without a checkbox (for the "0 tasks" warning of ``validate``).
LIST_ITEM_PATTERN = rf"^{S}*(?:[-*+]|[0-9]{{1,9}}[.)]){S}+[^{JS_SPACE}]"

# OpenSpec's task-line pattern, usable on one line or (multi-line mode) on a whole text:
# whitespace never crosses a newline, so every match lies within one line.
_SL = "[" + JS_SPACE.replace("\\n", "") + "]"
TASK_LINE_RE = lazy_compile(
    rf"^{_SL}*(?:[-*+]|[0-9]{{1,9}}[.)]){_SL}*\[(?:{_SL}*([^\]{JS_SPACE}]?){_SL}*\](?![(\[])|{_SL}+\])"
    rf"{_SL}*({DOT}*)",
    re.M,
)

TaskStatus = Literal["no-tasks", "complete", "in-progress"]


class Task(NamedTuple):
    """One checkbox line: its 1-based line number, whether it is done, and its text."""

    line: int
    done: bool
    text: str


class TaskList(NamedTuple):
    """Every task of a ``tasks.md`` in document order, with OpenSpec's totals."""

    items: tuple[Task, ...] = ()

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
    if "[" not in text:
        return TaskList(())
    items: list[Task] = []
    line = 1
    pos = 0
    for m in TASK_LINE_RE.finditer(text):
        line += text.count("\n", pos, m.start())
        pos = m.start()
        marker = m.group(1) or ""
        items.append(Task(line, marker in ("x", "X"), m.group(2).strip(JS_WS)))
    return TaskList(tuple(items))


def count_tasks(text: str) -> tuple[int, int]:
    """``(total, done)`` without building task objects: the fast path for ``list``."""
    if "[" not in text:
        return 0, 0
    total = done = 0
    for m in TASK_LINE_RE.finditer(text):
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
