"""What a rebuilt spec holds that no requirement accounts for: OpenSpec's ``contentTheMergeCannotName``.

When archive empties a capability, the lines found here are what deleting its file would take with
it: text outside ``## Purpose`` before ``## Requirements``, loose text around the requirements, and
inside a requirement anything that is neither its statement nor a scenario step.
"""

from __future__ import annotations

import re

from specflow.openspec.jsre import lazy_compile
from specflow.openspec.markdown import DOT, S, fence_mask, js_trim, js_trim_end, normalize, normalize_newlines
from specflow.openspec.requirements import RequirementsSection

_SECTION_LINE_RE = lazy_compile(rf"^ {{0,3}}##{S}+({DOT}+?){S}*$")
_SETEXT_RE = lazy_compile(rf"^ {{0,3}}(=+|-+){S}*$")
_HTML_HEADING_RE = lazy_compile(r"^ {0,3}<h[1-6]\b", re.I | re.A)
_TITLE_RE = lazy_compile(rf"^ {{0,3}}#{S}+{DOT}+$")
_PURPOSE_WORD_RE = lazy_compile(r"^purpose$", re.I | re.A)
_INTERRUPTS_RE = lazy_compile(r"^ {0,3}(?:>|(?:[-*_][ \t]*){3,}$|(?:[-*+]|[0-9]{1,9}[.)])(?:[ \t]|$)|[<|])")
_LIST_ITEM_RE = lazy_compile(rf"^({S}*(?:[-*+]|[0-9]{{1,9}}[.)]){S}+)")
_HEADING_RE = lazy_compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_HTML_HEADING_ANY_RE = lazy_compile(rf"^{S}*<h[1-6]\b", re.I | re.A)
_SCENARIO_LINE_RE = lazy_compile(rf"^ {{0,3}}####{S}+Scenario:", re.I | re.A)
_LEADING_WS_RE = lazy_compile(r"^[ \t]*")
_TABLE_OR_HTML_RE = lazy_compile(rf"^{S}*[|<]")
_FOREIGN_HEADING_RE = lazy_compile(r"^ {0,3}#{1,3}(?:[ \t]|$)")


def unaccounted(parts: RequirementsSection) -> list[str]:
    """The trimmed lines of a spec that no requirement or Purpose accounts for, first seen first."""
    left = _outside_purpose(parts.before)
    for piece in (parts.preamble, parts.after):
        left.extend(js_trim(line) for line in piece.split("\n") if js_trim(line))
    for block in parts.blocks:
        left.extend(_inside_requirement(block.raw))
    return list(dict.fromkeys(left))


def foreign_tail(raw: str) -> tuple[str, str] | None:
    """A heading (``#`` to ``###``) inside a requirement block, and the text from it on."""
    lines = normalize_newlines(raw).split("\n")
    mask = fence_mask(lines)
    for i in range(1, len(lines)):
        if not mask[i] and _FOREIGN_HEADING_RE.match(lines[i]):
            return js_trim(lines[i]), js_trim_end("\n".join(lines[i:]))
    return None


# -- before ``## Requirements``: the title and the Purpose are accounted for ----------------------


class _BeforeScan:
    def __init__(self) -> None:
        self.left: list[str] = []
        self.in_purpose = False
        self.title_seen = False
        self.previous = ""

    def feed(self, line: str, fenced: bool) -> None:
        if not js_trim(line):
            self.previous = ""
            return
        heading = not fenced and self._heading(line)
        self.previous = line
        if not heading and not self.in_purpose:
            self.left.append(js_trim(line))

    def _heading(self, line: str) -> bool:
        """Handle ``line`` when it is a heading; False when it is not one."""
        sec = _SECTION_LINE_RE.match(line)
        if sec:
            self.in_purpose = bool(_PURPOSE_WORD_RE.match(js_trim(sec.group(1))))
            if not self.in_purpose:
                self.left.append(js_trim(line))
            return True
        setext = self.in_purpose and bool(js_trim(self.previous)) and bool(_SETEXT_RE.match(line))
        if setext or _HTML_HEADING_RE.match(line):
            self.left.append(js_trim(self.previous if setext else line))
            self.in_purpose = False
            return True
        if _TITLE_RE.match(line):
            if self.title_seen or self.in_purpose:
                self.left.append(js_trim(line))
                self.in_purpose = False
            else:
                self.title_seen = True
            return True
        return False


def _outside_purpose(before: str) -> list[str]:
    lines = normalize(before).split("\n")
    mask = fence_mask(lines)
    scan = _BeforeScan()
    for i, line in enumerate(lines):
        scan.feed(line, mask[i])
    return scan.left


# -- inside a requirement: its statement, its scenarios and their steps are accounted for ----------


def _column(prefix: str) -> int:
    col = 0
    for ch in prefix:
        col += 4 - (col % 4) if ch == "\t" else 1
    return col


def _drop_indent(line: str, columns: int) -> str:
    col = 0
    i = 0
    while i < len(line) and col < columns:
        ch = line[i]
        if ch == " ":
            col += 1
        elif ch == "\t":
            col += 4 - (col % 4)
        else:
            break
        i += 1
    return line[i:]


def _is_heading(line: str) -> bool:
    return bool(_HEADING_RE.match(line) or _HTML_HEADING_ANY_RE.match(line))


class _BlockScan:
    """Markdown list structure inside one requirement block, line by line."""

    def __init__(self, left: list[str]) -> None:
        self.left = left
        self.seen_scenario = False
        self.in_bullets = False  # under a scenario header, where bullets are its steps
        self.bullets_seen = False
        self.item_indent: int | None = None  # content column of the open list item
        self.paragraph = False  # a paragraph is open, so a plain line continues it

    def feed(self, i: int, line: str, fenced: bool, above: str) -> None:
        if not js_trim(line):
            self._blank()
            return
        if i == 0:
            return
        inside, within = self._within_item(line)
        if fenced:
            if not inside:
                self.item_indent = None
            self.paragraph = False
        elif i > 1 and _SETEXT_RE.match(within) and js_trim(above):
            self.left.append(js_trim(above))
            self.item_indent = None
            self.paragraph = False
        elif self._continues(inside, within):
            self.paragraph = not _INTERRUPTS_RE.match(within)
        else:
            self._starts(line)

    def _blank(self) -> None:
        if self.bullets_seen:
            self.in_bullets = False
        self.item_indent = None
        self.paragraph = False

    def _within_item(self, line: str) -> tuple[bool, str]:
        """Whether ``line`` is indented into the open list item, and its text relative to it."""
        lead = _LEADING_WS_RE.match(line)
        indent = _column(lead.group(0) if lead else "")
        if self.item_indent is not None and indent >= self.item_indent:
            return True, _drop_indent(line, self.item_indent)
        return False, line

    def _continues(self, inside: bool, within: str) -> bool:
        lazy = self.paragraph and self.in_bullets and not _INTERRUPTS_RE.match(within)
        return (inside or lazy) and not _is_heading(within)

    def _starts(self, line: str) -> None:
        """``line`` starts something new: a scenario, a list item or a paragraph."""
        bullet = _LIST_ITEM_RE.match(line)
        self.item_indent = _column(bullet.group(1)) if bullet else None
        self.paragraph = bullet is not None
        if _SCENARIO_LINE_RE.match(line):
            self.seen_scenario = True
            self.in_bullets = True
            self.bullets_seen = False
        elif bullet and self.in_bullets:
            self.bullets_seen = True
        elif bullet:
            if self.seen_scenario:
                self.left.append(js_trim(line))
        elif self.seen_scenario or _TABLE_OR_HTML_RE.match(line):
            self.left.append(js_trim(line))


def _inside_requirement(raw: str) -> list[str]:
    foreign = foreign_tail(raw)
    scan = _BlockScan([foreign[0]] if foreign is not None else [])
    lines = normalize_newlines(raw).split("\n")
    mask = fence_mask(lines)
    for i, line in enumerate(lines):
        scan.feed(i, line, mask[i], lines[i - 1] if i else "")
    return scan.left


__all__ = ["foreign_tail", "unaccounted"]
