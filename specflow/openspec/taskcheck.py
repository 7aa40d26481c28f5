"""Lint of a change's task files, as ``openspec validate <change>`` does it.

Two warnings: a tracked task file written as plain bullets (so OpenSpec counts zero tasks), and
ambiguous task numbering inside ``## N.`` groups (built-in ``spec-driven`` schema only).
"""

from __future__ import annotations

import os
import re

from specflow.openspec.collate import collation_key
from specflow.openspec.issues import WARNING, Issue
from specflow.openspec.jsre import lazy_compile
from specflow.openspec.markdown import JS_WS
from specflow.openspec.meta import ChangeMeta
from specflow.openspec.tasks import LIST_ITEM_PATTERN, TASK_LINE_RE, count_tasks
from specflow.openspec.textfile import read_text

LIST_ITEM_RE = lazy_compile(LIST_ITEM_PATTERN)
_FENCE_RE = lazy_compile(r"^ {0,3}(`{3,}|~{3,})([^\n\r\u2028\u2029]*)")
_FRONT_MATTER_RE = lazy_compile(rf"^-{{3}}[{re.escape(JS_WS)}]*\Z")
_LEVEL_TWO_RE = lazy_compile(r"^ {0,3}##(?!#)(?:[ \t]+|[ \t]*\r?\Z)")
_GROUP_RE = lazy_compile(r"^ {0,3}##[ \t]+([0-9]+)\.(?:[ \t]|\r?\Z)")
_TASK_ID_RE = lazy_compile(rf"^([0-9]+(?:\.[0-9]+)+(?:[A-Za-z]+)?)(?=[{re.escape(JS_WS)}]|\Z)")

CHECKBOX_MESSAGE = (
    "This change counts as 0 tasks: no line in its tracked task files is a checkbox, so"
    ' "openspec list" and "openspec status" report no work and "openspec archive" has nothing to'
    ' flag as incomplete. Write each task as "- [ ] 1.1 Description".'
)


def _indent_columns(line: str) -> int:
    col = 0
    for ch in line:
        if ch == " ":
            col += 1
        elif ch == "\t":
            col += 4 - (col % 4)
        else:
            break
    return col


def _skip_front_matter(lines: list[str]) -> int:
    if not lines or not _FRONT_MATTER_RE.match(lines[0].lstrip("\ufeff").rstrip(JS_WS)):
        return 0
    for i in range(1, len(lines)):
        if _FRONT_MATTER_RE.match(lines[i].rstrip(JS_WS)):
            return i + 1
    return 0


def first_list_item_line(content: str) -> int | None:
    """1-based line of the first rendered list item (fences, comments, front matter skipped)."""
    lines = content.split("\n")
    fence: tuple[str, int] | None = None
    in_comment = False
    for index in range(_skip_front_matter(lines), len(lines)):
        line = lines[index]
        if in_comment:
            if "-->" in line:
                in_comment = False
            continue
        m = _FENCE_RE.match(line)
        if m:
            marker, length = m.group(1)[0], len(m.group(1))
            if fence is None:
                fence = (marker, length)
            elif marker == fence[0] and length >= fence[1] and not m.group(2).strip(JS_WS):
                fence = None
            continue
        if fence is not None:
            continue
        if line.lstrip(JS_WS).startswith("<!--"):
            if "-->" not in line[line.index("<!--") + 4 :]:
                in_comment = True
            continue
        if LIST_ITEM_RE.match(line) and _indent_columns(line) < 4:
            return index + 1
    return None


def checkbox_issues(documents: list[tuple[str, str]]) -> list[tuple[str, int, str]]:
    """``(path, line, message)`` when no tracked file holds a checkbox but one holds a list."""
    if not documents:
        return []
    if any(count_tasks(content)[0] > 0 for _, content in documents):
        return []
    out = []
    for path, content in documents:
        line = first_list_item_line(content)
        if line is not None:
            out.append((path, line, CHECKBOX_MESSAGE))
    return out


def numbering_issues(documents: list[tuple[str, str]]) -> list[tuple[str, int, str]]:
    """Tasks whose number points at another ``## N.`` group, and duplicated task ids."""
    out: list[tuple[str, int, str]] = []
    first: dict[str, tuple[str, int]] = {}
    for path, content in documents:
        if "##" not in content:
            continue
        lines = content.split("\n")
        if not any("##" in line and _GROUP_RE.match(line) for line in lines):
            continue
        group: str | None = None
        for index, line in enumerate(lines):
            if "##" in line[:6] and _LEVEL_TWO_RE.match(line):
                g = _GROUP_RE.match(line)
                group = g.group(1) if g else None
            if group is None:
                continue
            m = TASK_LINE_RE.match(line) if "[" in line else None
            if m is None:
                continue
            description = m.group(2).strip(JS_WS)
            tid = _TASK_ID_RE.match(description)
            if tid is None:
                continue
            task_id = tid.group(1)
            number = index + 1
            task_group = task_id.split(".")[0]
            if (task_group.lstrip("0") or "0") != (group.lstrip("0") or "0"):
                out.append(
                    (
                        path,
                        number,
                        f'Task "{task_id}" is under group {group}, but its leading number points to'
                        f" group {task_group}. Move it to group {task_group} or renumber it.",
                    )
                )
            if task_id in first:
                fpath, fline = first[task_id]
                where = f"on line {fline}" if fpath == path else f"in {fpath} on line {fline}"
                out.append((path, number, f'Task ID "{task_id}" is duplicated; it was first declared {where}.'))
            else:
                first[task_id] = (path, number)
    return out


def _relative(file: str, change_dir: str) -> str:
    prefix = change_dir.rstrip("/") + "/"
    if file.startswith(prefix):
        return file[len(prefix) :]
    try:
        rel = os.path.relpath(os.path.realpath(file), os.path.realpath(change_dir))
    except ValueError:
        return os.path.basename(file)
    if rel == "." or rel.startswith(".."):
        return os.path.basename(file)
    return rel.replace(os.sep, "/")


def task_file_issues(meta: ChangeMeta) -> list[Issue]:
    """The task-file warnings of the change whose metadata is ``meta``."""
    tracked = meta.tracked_task_files()
    files = tracked or [meta.change_dir / "tasks.md"]
    documents: list[tuple[str, str]] = []
    unreadable = 0
    for f in files:
        try:
            content = read_text(f)
        except FileNotFoundError:
            continue
        except OSError:
            unreadable += 1
            continue
        rel = _relative(str(f), str(meta.change_dir))
        documents.append((rel, content))
    if len(documents) > 1:
        documents.sort(key=lambda d: collation_key(d[0]))
    found: list[tuple[str, int, str]] = []
    if tracked and unreadable == 0:
        found.extend(checkbox_issues(documents))
    if meta.uses_builtin_spec_driven():
        found.extend(numbering_issues(documents))
    return [Issue(WARNING, path, message, line) for path, line, message in found]


__all__ = ["CHECKBOX_MESSAGE", "checkbox_issues", "first_list_item_line", "numbering_issues", "task_file_issues"]
