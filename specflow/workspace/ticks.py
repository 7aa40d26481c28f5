"""Tick-only files: a ``tasks.md`` an agent may only tick, ``- [ ]`` → ``- [x]`` on its existing lines.

The apply phase's gate lets the agent write its change's ``tasks.md`` so it can mark work done;
without this rule it could as well rewrite the list to one ticked task and pass having done
nothing.  ``tick_problem`` says what is wrong with an edit (None: only ticks), and
``keep_ticks`` rebuilds the checkpoint's version with the ticks of the edited one, so honest
ticks survive the put-back of a dishonest edit.
"""

from __future__ import annotations

import re

# a task line: list marker, a checkbox holding one space or x/X, then the task's text
_TASK = re.compile(r"^(?P<head>[ \t]*(?:[-*+]|[0-9]{1,9}[.)])[ \t]+\[)(?P<mark>[ xX])(?P<tail>\].*)$", re.S)


def _parts(line: str) -> tuple[str, str, str] | None:
    m = _TASK.match(line)
    return (m["head"], m["mark"], m["tail"]) if m else None


def tick_problem(before: str, after: str) -> str | None:
    """What in ``after`` is more than ticking open tasks of ``before``; None when it only ticks."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    if len(old) != len(new):
        return f"lines were added or removed ({len(old)} line(s) at the checkpoint, {len(new)} now)"
    for number, (a, b) in enumerate(zip(old, new, strict=True), 1):
        if a == b:
            continue
        was, now = _parts(a), _parts(b)
        if was is None or now is None or was[0] != now[0] or was[2] != now[2]:
            return f"line {number} was rewritten"
        if was[1] != " ":
            return f"line {number} was unticked"
    return None


def keep_ticks(before: str, after: str) -> tuple[str, int]:
    """``before`` with every open task ticked that ``after`` ticks (matched by its text); and how many."""
    ticked = set()
    for line in after.splitlines():
        parts = _parts(line)
        if parts is not None and parts[1] != " ":
            ticked.add(parts[2].rstrip())
    out: list[str] = []
    count = 0
    for line in before.splitlines(keepends=True):
        parts = _parts(line)
        if parts is not None and parts[1] == " " and parts[2].rstrip() in ticked:
            line = f"{parts[0]}x{parts[2]}"
            count += 1
        out.append(line)
    return "".join(out), count
