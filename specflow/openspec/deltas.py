"""Delta specs: the ``## ADDED / MODIFIED / REMOVED / RENAMED Requirements`` files of a change.

A delta spec lives at ``openspec/changes/<id>/specs/<capability-path>/spec.md``.  Section titles
match case-insensitively and a repeated section is merged; requirement names match exactly.
REMOVED accepts a header or a bullet (``- ### Requirement: X``, backticks optional); RENAMED is a
``FROM:`` line followed by its ``TO:`` line.  Everything inside fenced code is ignored.
"""

from __future__ import annotations

import os
import re
from bisect import bisect_left
from itertools import compress, repeat
from pathlib import Path
from typing import NamedTuple

from specflow.openspec.discovery import SpecsScan, scan_specs
from specflow.openspec.jsre import lazy_compile
from specflow.openspec.markdown import DOT, JS_WS, S, fence_mask, js_trim, normalize
from specflow.openspec.requirements import (
    REQUIREMENT_HEADER_RE,
    RequirementBlock,
    normalize_requirement_name,
)
from specflow.openspec.textfile import read_text

_SECTION_RE = lazy_compile(rf"^(##){S}+({DOT}+)$")
_TOP_LEVEL_RE = lazy_compile(rf"^##{S}+")
_H3_RE = lazy_compile(rf"^###{S}+({DOT}+?){S}*$")
_REMOVED_BULLET_RE = lazy_compile(rf"^{S}*[-*+]{S}*`?###{S}*Requirement:{S}*({DOT}+?)`?{S}*$", re.I | re.A)
_FROM_RE = lazy_compile(rf"^{S}*[-*+]?{S}*FROM:{S}*`?###{S}*Requirement:{S}*({DOT}+?)`?{S}*$")
_TO_RE = lazy_compile(rf"^{S}*[-*+]?{S}*TO:{S}*`?###{S}*Requirement:{S}*({DOT}+?)`?{S}*$")
_NAMELESS_RE = lazy_compile(r"^requirement:?$", re.I | re.A)

DELTA_SECTION_TITLES = (
    "ADDED Requirements",
    "MODIFIED Requirements",
    "REMOVED Requirements",
    "RENAMED Requirements",
)
_DELTA_TITLES_LOWER = frozenset(t.lower() for t in DELTA_SECTION_TITLES)


class Rename(NamedTuple):
    """One ``FROM:`` / ``TO:`` pair."""

    src: str
    dst: str


class UnpairedRename(NamedTuple):
    """A ``FROM:`` or ``TO:`` line that never formed a pair."""

    side: str  # "FROM" or "TO"
    name: str
    line: int


class Orphan(NamedTuple):
    """A ``### Requirement:`` header outside every delta section (ignored by archive)."""

    name: str
    section: str | None
    line: int


class SkippedHeader(NamedTuple):
    """A ``### `` header in ADDED/MODIFIED that is not a ``### Requirement:`` header."""

    header: str
    section: str
    line: int

    @property
    def nameless(self) -> bool:
        """True for ``### Requirement`` / ``### Requirement:`` with no name."""
        return _NAMELESS_RE.match(self.header) is not None


class DeltaPlan:
    """Everything a delta spec says, in document order."""

    __slots__ = (
        "added",
        "has_added",
        "has_modified",
        "has_removed",
        "has_renamed",
        "modified",
        "orphans",
        "removed",
        "removed_blocks",
        "renamed",
        "skipped_headers",
        "unpaired_renames",
    )

    def __init__(self, orphans: list[Orphan] | None = None) -> None:
        self.added: list[RequirementBlock] = []
        self.modified: list[RequirementBlock] = []
        self.removed: list[str] = []
        self.removed_blocks: list[RequirementBlock] = []
        self.renamed: list[Rename] = []
        self.unpaired_renames: list[UnpairedRename] = []
        self.orphans: list[Orphan] = [] if orphans is None else orphans
        self.skipped_headers: list[SkippedHeader] = []
        self.has_added = False
        self.has_modified = False
        self.has_removed = False
        self.has_renamed = False

    @property
    def has_sections(self) -> bool:
        """True when at least one delta section header is present."""
        return self.has_added or self.has_modified or self.has_removed or self.has_renamed

    @property
    def entry_count(self) -> int:
        """How many operations the plan holds."""
        return len(self.added) + len(self.modified) + len(self.removed) + len(self.renamed)

    def section_names(self) -> list[str]:
        """The delta section headers present, in canonical order."""
        out = []
        if self.has_added:
            out.append("## ADDED Requirements")
        if self.has_modified:
            out.append("## MODIFIED Requirements")
        if self.has_removed:
            out.append("## REMOVED Requirements")
        if self.has_renamed:
            out.append("## RENAMED Requirements")
        return out


_PLAIN, _REQ, _TOP, _H3 = 0, 1, 2, 3


class _Doc(NamedTuple):
    lines: list[str]
    mask: list[bool]
    kinds: list[int]  # per line: _PLAIN, _REQ (requirement header), _TOP (## header), _H3
    names: dict[int, str]  # line index -> requirement name, for _REQ lines
    marked: list[int]  # the indexes of the lines that are not _PLAIN, in order


class _Body(NamedTuple):
    start: int  # index of the first body line (the line after the ## header)
    end: int


def _classify(lines: list[str], mask: list[bool]) -> _Doc:
    kinds = [_PLAIN] * len(lines)
    names: dict[int, str] = {}
    marked: list[int] = []
    for i in compress(range(len(lines)), map(str.startswith, lines, repeat("##"))):  # found in C
        if mask[i]:
            continue
        line = lines[i]
        if line.startswith("###"):
            m = REQUIREMENT_HEADER_RE.match(line)
            if m:
                kinds[i] = _REQ
                names[i] = normalize_requirement_name(m.group(1))
            elif _H3_RE.match(line):
                kinds[i] = _H3
            else:
                continue
        elif _TOP_LEVEL_RE.match(line):
            kinds[i] = _TOP
        else:
            continue
        marked.append(i)
    return _Doc(lines, mask, kinds, names, marked)


def _blocks(doc: _Doc, body: _Body, section: str | None, sink: list[SkippedHeader] | None) -> list[RequirementBlock]:
    """The requirement blocks of a section body: each from its header to the next header or ``##`` line.

    ``sink`` receives the ``###`` headers that are not requirements, wherever they sit in the body.
    """
    lines, kinds, marked = doc.lines, doc.kinds, doc.marked
    blocks: list[RequirementBlock] = []

    def close(first: int, end: int) -> None:
        header = lines[first]
        raw = "\n".join(lines[first:end]).rstrip(JS_WS) if end - first > 1 else header.rstrip(JS_WS)
        blocks.append(RequirementBlock(header, doc.names[first], raw))

    first = -1  # the open block's header line
    for i in marked[bisect_left(marked, body.start) : bisect_left(marked, body.end)]:
        kind = kinds[i]
        if kind == _H3:
            if sink is not None:
                h3 = _H3_RE.match(lines[i])
                assert h3 is not None and section is not None
                sink.append(SkippedHeader(js_trim(h3.group(1)), section, i + 1))
            continue
        if first != -1:  # a requirement or a ## line ends the open block
            close(first, i)
        first = i if kind == _REQ else -1
    if first != -1:
        close(first, body.end)
    return blocks


def _removed_names(doc: _Doc, body: _Body) -> list[str]:
    names: list[str] = []
    lines, mask, kinds = doc.lines, doc.mask, doc.kinds
    for i in range(body.start, body.end):
        if kinds[i] == _REQ:
            names.append(doc.names[i])
            continue
        line = lines[i]
        if "###" in line and not mask[i]:
            b = _REMOVED_BULLET_RE.match(line)
            if b:
                names.append(normalize_requirement_name(b.group(1)))
    return names


def _renamed_pairs(doc: _Doc, body: _Body, unpaired: list[UnpairedRename]) -> list[Rename]:
    pairs: list[Rename] = []
    pending: tuple[str, int] | None = None
    lines, mask = doc.lines, doc.mask
    for i in range(body.start, body.end):
        line = lines[i]
        if "###" not in line or mask[i]:
            continue
        from_m = _FROM_RE.match(line) if "FROM:" in line else None
        to_m = None if from_m else (_TO_RE.match(line) if "TO:" in line else None)
        if from_m:
            if pending is not None:
                unpaired.append(UnpairedRename("FROM", pending[0], pending[1]))
            pending = (normalize_requirement_name(from_m.group(1)), i + 1)
        elif to_m:
            to = normalize_requirement_name(to_m.group(1))
            if pending is None:
                unpaired.append(UnpairedRename("TO", to, i + 1))
                continue
            pairs.append(Rename(pending[0], to))
            pending = None
    if pending is not None:
        unpaired.append(UnpairedRename("FROM", pending[0], pending[1]))
    return pairs


def parse_delta_spec(content: str) -> DeltaPlan:
    """Read a delta spec (never raises; what it cannot read it reports in the plan)."""
    lines = normalize(content).split("\n")
    mask = fence_mask(lines, content)
    doc = _classify(lines, mask)
    n = len(lines)
    heads: list[tuple[str, int]] = []
    orphans: list[Orphan] = []
    section: str | None = None
    in_delta = False
    kinds = doc.kinds
    for i in doc.marked:
        kind = kinds[i]
        if kind == _H3:
            continue
        if kind == _TOP:
            m = _SECTION_RE.match(lines[i])
            if m:
                section = js_trim(m.group(2))
                in_delta = section.lower() in _DELTA_TITLES_LOWER
                heads.append((section, i))
            continue
        if not in_delta:
            orphans.append(Orphan(doc.names[i], section, i + 1))

    bodies: dict[str, list[_Body]] = {}
    first_title: dict[str, str] = {}
    for k, (title, index) in enumerate(heads):
        key = title.lower()
        if key not in _DELTA_TITLES_LOWER:
            continue
        end = heads[k + 1][1] if k + 1 < len(heads) else n
        bodies.setdefault(key, []).append(_Body(index + 1, end))
        first_title.setdefault(key, title)

    plan = DeltaPlan(orphans=orphans)
    skipped: list[SkippedHeader] = []
    for b in bodies.get("added requirements", ()):
        plan.added.extend(_blocks(doc, b, first_title["added requirements"], skipped))
    for b in bodies.get("modified requirements", ()):
        plan.modified.extend(_blocks(doc, b, first_title["modified requirements"], skipped))
    for b in bodies.get("removed requirements", ()):
        plan.removed.extend(_removed_names(doc, b))
        plan.removed_blocks.extend(_blocks(doc, b, None, None))
    unpaired: list[UnpairedRename] = []
    for b in bodies.get("renamed requirements", ()):
        plan.renamed.extend(_renamed_pairs(doc, b, unpaired))
    unpaired.sort(key=lambda u: u.line)
    skipped.sort(key=lambda s: s.line)
    plan.unpaired_renames = unpaired
    plan.skipped_headers = skipped
    plan.has_added = "added requirements" in bodies
    plan.has_modified = "modified requirements" in bodies
    plan.has_removed = "removed requirements" in bodies
    plan.has_renamed = "renamed requirements" in bodies
    return plan


def has_delta_sections(content: str) -> bool:
    """True when ``content`` has at least one delta section header (fenced code ignored)."""
    if "equirements" not in content and "EQUIREMENTS" not in content:
        return False
    return parse_delta_spec(content).has_sections


class UnreadDelta(NamedTuple):
    """A Markdown file with delta sections that archive would never read."""

    path: str  # relative to the change's specs/, POSIX
    expected: str  # where its requirements belong: <capability>/spec.md


def unread_deltas(scan: SpecsScan) -> list[UnreadDelta]:
    """The Markdown files of a scan that carry delta sections but are not a capability's spec.md."""
    results: list[UnreadDelta] = []
    for rel, file, link in scan.other_md:
        try:
            if link and not os.path.isfile(file):
                continue
            content = read_text(file)
        except (FileNotFoundError, IsADirectoryError):
            continue
        if not has_delta_sections(content):
            continue
        head, _, name = rel.rpartition("/")
        capability = head if head else name[: -len(".md")]
        results.append(UnreadDelta(rel, f"{capability}/spec.md"))
    return results


def find_unread_delta_files(specs_root: Path | str) -> list[UnreadDelta]:
    """``.md`` files under a change's ``specs/`` that carry delta sections but are not ``spec.md``."""
    return unread_deltas(scan_specs(specs_root))


__all__ = [
    "DELTA_SECTION_TITLES",
    "DeltaPlan",
    "Orphan",
    "Rename",
    "SkippedHeader",
    "UnpairedRename",
    "UnreadDelta",
    "find_unread_delta_files",
    "has_delta_sections",
    "parse_delta_spec",
    "unread_deltas",
]
