"""Delta specs: the ``## ADDED / MODIFIED / REMOVED / RENAMED Requirements`` files of a change.

A delta spec lives at ``openspec/changes/<id>/specs/<capability-path>/spec.md``.  Section titles
match case-insensitively and a repeated section is merged; requirement names match exactly.
REMOVED accepts a header or a bullet (``- ### Requirement: X``, backticks optional); RENAMED is a
``FROM:`` line followed by its ``TO:`` line.  Everything inside fenced code is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from specflow.openspec.markdown import DOT, JS_WS, S, fence_mask, js_trim, normalize
from specflow.openspec.requirements import (
    REQUIREMENT_HEADER_RE,
    RequirementBlock,
    normalize_requirement_name,
)

_SECTION_RE = re.compile(rf"^(##){S}+({DOT}+)$")
_TOP_LEVEL_RE = re.compile(rf"^##{S}+")
_H3_RE = re.compile(rf"^###{S}+({DOT}+?){S}*$")
_REMOVED_BULLET_RE = re.compile(
    rf"^{S}*[-*+]{S}*`?###{S}*Requirement:{S}*({DOT}+?)`?{S}*$", re.I | re.A
)
_FROM_RE = re.compile(rf"^{S}*[-*+]?{S}*FROM:{S}*`?###{S}*Requirement:{S}*({DOT}+?)`?{S}*$")
_TO_RE = re.compile(rf"^{S}*[-*+]?{S}*TO:{S}*`?###{S}*Requirement:{S}*({DOT}+?)`?{S}*$")
_NAMELESS_RE = re.compile(r"^requirement:?$", re.I | re.A)

DELTA_SECTION_TITLES = (
    "ADDED Requirements",
    "MODIFIED Requirements",
    "REMOVED Requirements",
    "RENAMED Requirements",
)
_DELTA_TITLES_LOWER = frozenset(t.lower() for t in DELTA_SECTION_TITLES)


@dataclass(frozen=True)
class Rename:
    """One ``FROM:`` / ``TO:`` pair."""

    src: str
    dst: str


@dataclass(frozen=True)
class UnpairedRename:
    """A ``FROM:`` or ``TO:`` line that never formed a pair."""

    side: str  # "FROM" or "TO"
    name: str
    line: int


@dataclass(frozen=True)
class Orphan:
    """A ``### Requirement:`` header outside every delta section (ignored by archive)."""

    name: str
    section: str | None
    line: int


@dataclass(frozen=True)
class SkippedHeader:
    """A ``### `` header in ADDED/MODIFIED that is not a ``### Requirement:`` header."""

    header: str
    section: str
    line: int

    @property
    def nameless(self) -> bool:
        """True for ``### Requirement`` / ``### Requirement:`` with no name."""
        return _NAMELESS_RE.match(self.header) is not None


@dataclass
class DeltaPlan:
    """Everything a delta spec says, in document order."""

    added: list[RequirementBlock] = field(default_factory=list)
    modified: list[RequirementBlock] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_blocks: list[RequirementBlock] = field(default_factory=list)
    renamed: list[Rename] = field(default_factory=list)
    unpaired_renames: list[UnpairedRename] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    skipped_headers: list[SkippedHeader] = field(default_factory=list)
    has_added: bool = False
    has_modified: bool = False
    has_removed: bool = False
    has_renamed: bool = False

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


@dataclass
class _Body:
    lines: list[str]
    mask: list[bool]
    start_line: int  # 1-based line number of lines[0]


def _blocks(body: _Body, section: str | None, sink: list[SkippedHeader] | None) -> list[RequirementBlock]:
    lines, mask = body.lines, body.mask
    n = len(lines)

    def is_req(i: int) -> bool:
        line = lines[i]
        return not mask[i] and line.startswith("###") and REQUIREMENT_HEADER_RE.match(line) is not None

    def is_top(i: int) -> bool:
        line = lines[i]
        return not mask[i] and line.startswith("##") and _TOP_LEVEL_RE.match(line) is not None

    def record(i: int) -> None:
        if sink is None or mask[i]:
            return
        line = lines[i]
        if not line.startswith("###"):
            return
        h3 = _H3_RE.match(line)
        if h3 and not REQUIREMENT_HEADER_RE.match(line):
            assert section is not None
            sink.append(SkippedHeader(js_trim(h3.group(1)), section, body.start_line + i))

    blocks: list[RequirementBlock] = []
    i = 0
    while i < n:
        while i < n and not is_req(i):
            record(i)
            i += 1
        if i >= n:
            break
        header = lines[i]
        m = REQUIREMENT_HEADER_RE.match(header)
        assert m is not None
        name = normalize_requirement_name(m.group(1))
        buf = [header]
        i += 1
        while i < n and not is_req(i) and not is_top(i):
            record(i)
            buf.append(lines[i])
            i += 1
        blocks.append(RequirementBlock(header, name, "\n".join(buf).rstrip(JS_WS)))
    return blocks


def _removed_names(body: _Body) -> list[str]:
    names: list[str] = []
    for i, line in enumerate(body.lines):
        if body.mask[i]:
            continue
        if line.startswith("###"):
            m = REQUIREMENT_HEADER_RE.match(line)
            if m:
                names.append(normalize_requirement_name(m.group(1)))
                continue
        if "###" in line:
            b = _REMOVED_BULLET_RE.match(line)
            if b:
                names.append(normalize_requirement_name(b.group(1)))
    return names


def _renamed_pairs(body: _Body, unpaired: list[UnpairedRename]) -> list[Rename]:
    pairs: list[Rename] = []
    pending: tuple[str, int] | None = None
    for i, line in enumerate(body.lines):
        if body.mask[i] or "###" not in line:
            continue
        from_m = _FROM_RE.match(line) if "FROM:" in line else None
        to_m = None if from_m else (_TO_RE.match(line) if "TO:" in line else None)
        if from_m:
            if pending is not None:
                unpaired.append(UnpairedRename("FROM", pending[0], pending[1]))
            pending = (normalize_requirement_name(from_m.group(1)), body.start_line + i)
        elif to_m:
            to = normalize_requirement_name(to_m.group(1))
            if pending is None:
                unpaired.append(UnpairedRename("TO", to, body.start_line + i))
                continue
            pairs.append(Rename(pending[0], to))
            pending = None
    if pending is not None:
        unpaired.append(UnpairedRename("FROM", pending[0], pending[1]))
    return pairs


def parse_delta_spec(content: str) -> DeltaPlan:
    """Read a delta spec (never raises; what it cannot read it reports in the plan)."""
    lines = normalize(content).split("\n")
    mask = fence_mask(lines)
    n = len(lines)
    heads: list[tuple[str, int]] = []
    orphans: list[Orphan] = []
    section: str | None = None
    for i, line in enumerate(lines):
        if mask[i] or not line.startswith("#"):
            continue
        if line.startswith("##") and not line.startswith("###"):
            m = _SECTION_RE.match(line)
            if m:
                section = js_trim(m.group(2))
                heads.append((section, i))
                continue
        if section is not None and section.lower() in _DELTA_TITLES_LOWER:
            continue
        if line.startswith("###"):
            r = REQUIREMENT_HEADER_RE.match(line)
            if r:
                orphans.append(Orphan(normalize_requirement_name(r.group(1)), section, i + 1))

    bodies: dict[str, list[_Body]] = {}
    first_title: dict[str, str] = {}
    for k, (title, index) in enumerate(heads):
        end = heads[k + 1][1] if k + 1 < len(heads) else n
        key = title.lower()
        if key not in _DELTA_TITLES_LOWER:
            continue
        bodies.setdefault(key, []).append(_Body(lines[index + 1 : end], mask[index + 1 : end], index + 2))
        first_title.setdefault(key, title)

    plan = DeltaPlan(orphans=orphans)
    skipped: list[SkippedHeader] = []
    for b in bodies.get("added requirements", ()):
        plan.added.extend(_blocks(b, first_title["added requirements"], skipped))
    for b in bodies.get("modified requirements", ()):
        plan.modified.extend(_blocks(b, first_title["modified requirements"], skipped))
    for b in bodies.get("removed requirements", ()):
        plan.removed.extend(_removed_names(b))
        plan.removed_blocks.extend(_blocks(b, None, None))
    unpaired: list[UnpairedRename] = []
    for b in bodies.get("renamed requirements", ()):
        plan.renamed.extend(_renamed_pairs(b, unpaired))
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


__all__ = [
    "DELTA_SECTION_TITLES",
    "DeltaPlan",
    "Orphan",
    "Rename",
    "SkippedHeader",
    "UnpairedRename",
    "has_delta_sections",
    "parse_delta_spec",
]
