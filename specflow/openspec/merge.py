"""Apply one delta spec to one main spec in memory: OpenSpec's ``buildUpdatedSpec``.

Pre-checks first (duplicates within a section, cross-section conflicts, unpaired renames), then the
operations in OpenSpec's order RENAMED → REMOVED → MODIFIED → ADDED against the current spec.
Requirements keep their positions (a renamed one stays in place) and ADDED ones are appended.
Nothing is written here: the caller validates every rebuilt spec before touching a file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from specflow.openspec.deltas import DeltaPlan, parse_delta_spec
from specflow.openspec.markdown import (
    DOT,
    S,
    fence_mask,
    js_len,
    js_trim,
    js_trim_end,
    normalize,
    normalize_newlines,
)
from specflow.openspec.requirements import (
    REQUIREMENT_HEADER_RE,
    RequirementBlock,
    RequirementsSection,
    describe_scenario_balance,
    diff_scenario_names,
    extract_requirements_section,
    fold_requirement_name,
    normalize_requirement_name,
)
from specflow.openspec.specs import (
    PURPOSE_PLACEHOLDER_PREFIX,
    PURPOSE_PLACEHOLDER_SUFFIX,
    SpecParseError,
    StructureIssue,
    extract_purpose,
    parse_spec,
    structure_issues,
)

MIN_PURPOSE_LENGTH = 50


class MergeError(Exception):
    """Archive would refuse this delta; the message is OpenSpec's."""


@dataclass
class Counts:
    """Operations actually applied to one spec."""

    added: int = 0
    modified: int = 0
    removed: int = 0
    renamed: int = 0

    @property
    def total(self) -> int:
        """All applied operations."""
        return self.added + self.modified + self.removed + self.renamed

    def to_json(self) -> dict[str, int]:
        """``{added, modified, removed, renamed}``."""
        return {
            "added": self.added,
            "modified": self.modified,
            "removed": self.removed,
            "renamed": self.renamed,
        }


@dataclass
class Built:
    """A rebuilt spec and what it took to build it."""

    rebuilt: str
    counts: Counts
    warnings: list[str] = field(default_factory=list)
    no_requirement_blocks: bool = False
    unaccounted: list[str] = field(default_factory=list)
    is_new: bool = False


def spec_skeleton(spec_id: str, change_name: str, purpose: str | None = None) -> str:
    """The text of a main spec archive creates for a new capability."""
    body = js_trim(purpose) if purpose else ""
    if not body:
        body = f"{PURPOSE_PLACEHOLDER_PREFIX}{change_name}{PURPOSE_PLACEHOLDER_SUFFIX}"
    return f"# {spec_id} Specification\n\n## Purpose\n{body}\n\n## Requirements\n"


def _readable_overview(skeleton: str, spec_id: str) -> str | None:
    if "<!--" in skeleton or structure_issues(skeleton):
        return None
    try:
        return js_trim(parse_spec(skeleton, spec_id).overview) or None
    except SpecParseError:
        return None


def _case_twin(by_name: Mapping[str, object], name: str, skip: str | None = None) -> str | None:
    """The existing requirement whose name differs from ``name`` only in case or spacing."""
    folded = fold_requirement_name(name)
    return next((k for k in by_name if k != skip and fold_requirement_name(k) == folded), None)


def _block_key(raw: str) -> str:
    return js_trim(normalize_newlines(raw))


def _unique_names(names: list[str], section: str, spec_id: str) -> dict[str, None]:
    """The normalised names of one delta section, in order; a duplicate is archive's refusal."""
    seen: dict[str, None] = {}
    for raw in names:
        name = normalize_requirement_name(raw)
        if name in seen:
            raise MergeError(
                f'{spec_id} validation failed - duplicate requirement in {section} for header "### Requirement: {raw}"'
            )
        seen[name] = None
    return seen


def precheck(plan: DeltaPlan, spec_id: str) -> None:
    """The checks archive runs on a delta before looking at the main spec."""
    if plan.unpaired_renames:
        first = plan.unpaired_renames[0]
        missing = "TO" if first.side == "FROM" else "FROM"
        raise MergeError(
            f"{spec_id} validation failed - RENAMED entry on line {first.line} has no matching"
            f' {missing}: for header "### Requirement: {first.name}". Write each rename as a FROM:'
            " line followed immediately by its TO: line."
        )
    added = _unique_names([b.name for b in plan.added], "ADDED", spec_id)
    modified = _unique_names([b.name for b in plan.modified], "MODIFIED", spec_id)
    removed = _unique_names(list(plan.removed), "REMOVED", spec_id)
    froms: set[str] = set()
    tos: set[str] = set()
    for r in plan.renamed:
        f, t = normalize_requirement_name(r.src), normalize_requirement_name(r.dst)
        if f in froms:
            raise MergeError(
                f'{spec_id} validation failed - duplicate FROM in RENAMED for header "### Requirement: {r.src}"'
            )
        if t in tos:
            raise MergeError(
                f'{spec_id} validation failed - duplicate TO in RENAMED for header "### Requirement: {r.dst}"'
            )
        froms.add(f)
        tos.add(t)
    conflicts: list[tuple[str, str, str]] = []
    for n in modified:
        if n in removed:
            conflicts.append((n, "MODIFIED", "REMOVED"))
        if n in added:
            conflicts.append((n, "MODIFIED", "ADDED"))
    for n in added:
        if n in removed:
            conflicts.append((n, "ADDED", "REMOVED"))
    for r in plan.renamed:
        f, t = normalize_requirement_name(r.src), normalize_requirement_name(r.dst)
        folded = fold_requirement_name(f)
        match = next((x for x in removed if fold_requirement_name(x) == folded), None)
        if match is not None:
            spelled = "" if match == f else f' (REMOVED spells it "{match}")'
            raise MergeError(
                f"{spec_id} validation failed - requirement present in multiple sections (RENAMED"
                f' and REMOVED) for header "### Requirement: {r.src}"{spelled}'
            )
        if f in modified:
            raise MergeError(
                f"{spec_id} validation failed - when a rename exists, MODIFIED must reference the NEW"
                f' header "### Requirement: {r.dst}"'
            )
        if t in added:
            raise MergeError(
                f'{spec_id} validation failed - RENAMED TO header collides with ADDED for "### Requirement: {r.dst}"'
            )
    if conflicts:
        n, a, b = conflicts[0]
        raise MergeError(
            f"{spec_id} validation failed - requirement present in multiple sections ({a} and {b})"
            f' for header "### Requirement: {n}"'
        )
    if plan.entry_count == 0:
        raise MergeError(
            f"Delta parsing found no operations for {spec_id}. Provide ADDED/MODIFIED/REMOVED/RENAMED"
            " sections in change spec."
        )


def _orphan_warnings(plan: DeltaPlan, spec_id: str) -> list[str]:
    out = []
    for o in plan.orphans:
        where = f'under "## {o.section}"' if o.section else 'above the first "## " section'
        out.append(
            f'{spec_id} - requirement "{o.name}" (line {o.line}) is {where}, which is not a delta'
            " section, so it was not applied. Move it under ADDED/MODIFIED/REMOVED/RENAMED"
            " Requirements."
        )
    return out


def build_updated_spec(
    spec_id: str,
    delta_content: str,
    target_content: str | None,
    change_name: str,
    *,
    target_display: str = "",
    compose: bool = True,
    plan: DeltaPlan | None = None,
    target_structure: list[StructureIssue] | None = None,
    target_parts: RequirementsSection | None = None,
) -> Built:
    """Rebuild the main spec ``spec_id`` with a delta; raise ``MergeError`` where archive refuses.

    ``target_content`` is None when the main spec does not exist yet.  With ``compose=False`` only
    the checks run (the text is not rebuilt): what ``validate`` needs for its archive dry run.
    ``target_structure`` and ``target_parts`` may carry cached parses of ``target_content``.
    """
    if plan is None:
        plan = parse_delta_spec(delta_content)
    precheck(plan, spec_id)
    warnings = _orphan_warnings(plan, spec_id)
    delta_purpose = extract_purpose(delta_content) if compose else None
    is_new = target_content is None
    if target_content is not None:
        if delta_purpose:
            existing = extract_purpose(target_content)
            if existing and existing != delta_purpose:
                warnings.append(
                    f"{spec_id} - delta Purpose ignored; {spec_id} already has one. Edit"
                    f" {target_display} directly to change it."
                )
    else:
        if plan.modified or plan.renamed:
            raise MergeError(
                f"{spec_id}: target spec does not exist; only ADDED requirements are allowed for new"
                " specs. MODIFIED and RENAMED operations require an existing spec."
            )
        if plan.removed:
            warnings.append(
                f"{spec_id} - {len(plan.removed)} REMOVED requirement(s) ignored for new spec (nothing to remove)."
            )
        if not compose:
            delta_purpose = extract_purpose(delta_content)
        target_content = spec_skeleton(spec_id, change_name, delta_purpose)
        overview = _readable_overview(target_content, spec_id) if delta_purpose else None
        if delta_purpose and not overview:
            target_content = spec_skeleton(spec_id, change_name)
            warnings.append(
                f"{spec_id} - delta Purpose ignored (it would leave the new spec unreadable); wrote"
                " the placeholder Purpose instead."
            )
        elif overview and js_len(overview) < MIN_PURPOSE_LENGTH:
            warnings.append(
                f"{spec_id} - carried Purpose is under {MIN_PURPOSE_LENGTH} characters; openspec"
                " validate --strict reports it as too brief."
            )
        target_structure = None
        target_parts = None

    issues = target_structure if target_structure is not None else structure_issues(target_content)
    if issues:
        details = "\n".join(f"line {i.line}: {i.message}" for i in issues)
        raise MergeError(
            f"{spec_id}: target spec is structurally invalid and cannot be updated until fixed:\n{details}"
        )
    parts = target_parts if target_parts is not None else extract_requirements_section(target_content)
    by_name: dict[str, RequirementBlock] = {}
    for block in parts.blocks:
        by_name[normalize_requirement_name(block.name)] = block
    ordered = [normalize_requirement_name(b.name) for b in parts.blocks]
    counts = Counts()

    for r in plan.renamed:
        f, t = normalize_requirement_name(r.src), normalize_requirement_name(r.dst)
        if f not in by_name:
            if t in by_name:
                near = _case_twin(by_name, f, skip=t)
                if near is not None:
                    raise MergeError(
                        f'{spec_id} RENAMED failed for header "### Requirement: {r.src}" - source not'
                        f' found, but "### Requirement: {by_name[near].name}" exists; fix the header'
                        " to match it exactly"
                    )
                continue
            raise MergeError(f'{spec_id} RENAMED failed for header "### Requirement: {r.src}" - source not found')
        if t in by_name:
            raise MergeError(f'{spec_id} RENAMED failed for header "### Requirement: {r.dst}" - target already exists')
        near = _case_twin(by_name, t, skip=f)
        if near is not None:
            raise MergeError(
                f'{spec_id} RENAMED failed for header "### Requirement: {r.dst}" -'
                f' "### Requirement: {by_name[near].name}" already exists and differs only in case'
                " or spacing; choose a distinct name"
            )
        block = by_name.pop(f)
        header = f"### Requirement: {t}"
        raw_lines = block.raw.split("\n")
        raw_lines[0] = header
        by_name[t] = RequirementBlock(header, t, "\n".join(raw_lines))
        if f in ordered:
            ordered[ordered.index(f)] = t
        counts.renamed += 1

    for name in plan.removed:
        key = normalize_requirement_name(name)
        if key not in by_name:
            if not is_new:
                near = _case_twin(by_name, key)
                if near is not None:
                    raise MergeError(
                        f'{spec_id} REMOVED failed for header "### Requirement: {name}" - not found,'
                        f' but "### Requirement: {by_name[near].name}" exists; fix the header to'
                        " match it exactly"
                    )
                warnings.append(
                    f'{spec_id} - REMOVED requirement "{name}" is not in the current spec; treating'
                    " it as already removed."
                )
            continue
        del by_name[key]
        counts.removed += 1

    for mod in plan.modified:
        key = normalize_requirement_name(mod.name)
        current = by_name.get(key)
        if current is None:
            raise MergeError(f'{spec_id} MODIFIED failed for header "### Requirement: {mod.name}" - not found')
        hm = REQUIREMENT_HEADER_RE.match(mod.raw.split("\n")[0])
        if hm is None or normalize_requirement_name(hm.group(1)) != key:
            raise MergeError(
                f'{spec_id} MODIFIED failed for header "### Requirement: {mod.name}" - header mismatch in content'
            )
        diff = diff_scenario_names(current.raw, mod.raw)
        if diff.missing:
            names = ", ".join(f'"{n}"' for n in diff.missing)
            raise MergeError(
                f'{spec_id} MODIFIED failed for header "### Requirement: {mod.name}" - current spec'
                f" contains scenario(s) not present in the modified block: {names}."
                f" {describe_scenario_balance(diff)} Refresh the change spec before archiving to"
                " avoid dropping scenarios."
            )
        if _block_key(current.raw) != _block_key(mod.raw):
            counts.modified += 1
        by_name[key] = mod

    for add in plan.added:
        key = normalize_requirement_name(add.name)
        existing_block = by_name.get(key)
        if existing_block is not None:
            if _block_key(existing_block.raw) == _block_key(add.raw):
                continue
            raise MergeError(f'{spec_id} ADDED failed for header "### Requirement: {add.name}" - already exists')
        near = _case_twin(by_name, key)
        if near is not None:
            raise MergeError(
                f'{spec_id} ADDED failed for header "### Requirement: {add.name}" -'
                f' "### Requirement: {by_name[near].name}" already exists and differs only in case or'
                " spacing; use MODIFIED with that exact header to change it, or choose a distinct"
                " name"
            )
        by_name[key] = add
        counts.added += 1

    if not compose:
        return Built("", counts, warnings, is_new=is_new)

    kept: list[RequirementBlock] = []
    seen: set[str] = set()
    for index, block in enumerate(parts.blocks):
        slot = ordered[index]
        replacement = by_name.get(slot)
        if replacement is not None:
            kept.append(replacement)
            seen.add(slot)
        if replacement is not block:
            foreign = _foreign_tail(block.raw)
            if foreign is not None:
                fr = _block_key(foreign[1])
                keeps = replacement is not None and _count(_block_key(replacement.raw), fr) >= _count(
                    _block_key(block.raw), fr
                )
                if not keeps:
                    warnings.append(
                        f'{spec_id} - "{foreign[0]}" sits inside requirement "{block.name}" and goes'
                        " with it. Move it under its own requirement, or above `## Requirements`,"
                        " to keep it."
                    )
    for key, block in by_name.items():
        if key not in seen:
            kept.append(block)

    head = [js_trim_end(parts.preamble)] if js_trim(parts.preamble) else []
    req_body = js_trim_end("\n\n".join(head + [b.raw for b in kept]))
    pieces = [js_trim_end(parts.before), parts.header_line, req_body, js_trim(parts.after)]
    rebuilt = js_trim_end(_collapse_blank_runs("\n\n".join(p for p in pieces if p != ""))) + "\n"
    return Built(
        rebuilt,
        counts,
        warnings,
        no_requirement_blocks=not kept,
        unaccounted=_unaccounted(parts),
        is_new=is_new,
    )


def _count(haystack: str, needle: str) -> int:
    if not needle:
        return 0
    count = start = 0
    while True:
        at = haystack.find(needle, start)
        if at == -1:
            return count
        count += 1
        start = at + len(needle)


_FOREIGN_HEADING_RE = re.compile(r"^ {0,3}#{1,3}(?:[ \t]|$)")


def _foreign_tail(raw: str) -> tuple[str, str] | None:
    lines = normalize_newlines(raw).split("\n")
    mask = fence_mask(lines)
    for i in range(1, len(lines)):
        if not mask[i] and _FOREIGN_HEADING_RE.match(lines[i]):
            return js_trim(lines[i]), js_trim_end("\n".join(lines[i:]))
    return None


def _collapse_blank_runs(content: str) -> str:
    lines = content.split("\n")
    mask = fence_mask(lines)
    kept: list[str] = []
    run = 0
    for i, line in enumerate(lines):
        if mask[i]:
            run = 0
            kept.append(line)
            continue
        if line == "":
            run += 1
            if run > 1:
                continue
            kept.append(line)
            continue
        run = 0
        kept.append(line)
    return "\n".join(kept)


# -- what a retirement could not name (OpenSpec's contentTheMergeCannotName) -----------------

_SECTION_LINE_RE = re.compile(rf"^ {{0,3}}##{S}+({DOT}+?){S}*$")
_SETEXT_RE = re.compile(rf"^ {{0,3}}(=+|-+){S}*$")
_HTML_HEADING_RE = re.compile(r"^ {0,3}<h[1-6]\b", re.I | re.A)
_TITLE_RE = re.compile(rf"^ {{0,3}}#{S}+{DOT}+$")
_PURPOSE_WORD_RE = re.compile(r"^purpose$", re.I | re.A)
_INTERRUPTS_RE = re.compile(r"^ {0,3}(?:>|(?:[-*_][ \t]*){3,}$|(?:[-*+]|[0-9]{1,9}[.)])(?:[ \t]|$)|[<|])")
_LIST_ITEM_RE = re.compile(rf"^({S}*(?:[-*+]|[0-9]{{1,9}}[.)]){S}+)")
_HEADING_RE = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_HTML_HEADING_ANY_RE = re.compile(rf"^{S}*<h[1-6]\b", re.I | re.A)
_SCENARIO_LINE_RE = re.compile(rf"^ {{0,3}}####{S}+Scenario:", re.I | re.A)
_LEADING_WS_RE = re.compile(r"^[ \t]*")
_TABLE_OR_HTML_RE = re.compile(rf"^{S}*[|<]")


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


def _unaccounted(parts: RequirementsSection) -> list[str]:
    left: list[str] = []
    before = normalize(parts.before).split("\n")
    bmask = fence_mask(before)
    in_purpose = False
    title_seen = False
    previous = ""
    for i, line in enumerate(before):
        if not js_trim(line):
            previous = ""
            continue
        if not bmask[i]:
            sec = _SECTION_LINE_RE.match(line)
            if sec:
                in_purpose = bool(_PURPOSE_WORD_RE.match(js_trim(sec.group(1))))
                if not in_purpose:
                    left.append(js_trim(line))
                previous = line
                continue
            setext = in_purpose and bool(js_trim(previous)) and bool(_SETEXT_RE.match(line))
            html = bool(_HTML_HEADING_RE.match(line))
            if setext or html:
                left.append(js_trim(previous if setext else line))
                in_purpose = False
                previous = line
                continue
            if _TITLE_RE.match(line):
                if not title_seen and not in_purpose:
                    title_seen = True
                else:
                    left.append(js_trim(line))
                    in_purpose = False
                previous = line
                continue
        previous = line
        if in_purpose:
            continue
        left.append(js_trim(line))
    for piece in (parts.preamble, parts.after):
        for line in piece.split("\n"):
            if js_trim(line):
                left.append(js_trim(line))
    for block in parts.blocks:
        foreign = _foreign_tail(block.raw)
        if foreign is not None:
            left.append(foreign[0])
        lines = normalize_newlines(block.raw).split("\n")
        mask = fence_mask(lines)
        seen_scenario = False
        in_bullets = False
        bullets_seen = False
        item_indent: int | None = None
        paragraph = False
        for i, line in enumerate(lines):
            if not js_trim(line):
                if bullets_seen:
                    in_bullets = False
                item_indent = None
                paragraph = False
                continue
            if i == 0:
                continue
            lead = _LEADING_WS_RE.match(line)
            indent = _column(lead.group(0) if lead else "")
            inside = item_indent is not None and indent >= item_indent
            within = _drop_indent(line, item_indent) if inside and item_indent is not None else line
            lazy = paragraph and in_bullets and not _INTERRUPTS_RE.match(within)
            continues = (inside or lazy) and not _is_heading(within)
            if mask[i]:
                if not inside:
                    item_indent = None
                paragraph = False
                continue
            if i > 1 and _SETEXT_RE.match(within) and js_trim(lines[i - 1]):
                left.append(js_trim(lines[i - 1]))
                item_indent = None
                paragraph = False
                continue
            if continues:
                paragraph = not _INTERRUPTS_RE.match(within)
                continue
            bullet = _LIST_ITEM_RE.match(line)
            item_indent = _column(bullet.group(1)) if bullet else None
            paragraph = bullet is not None
            if _SCENARIO_LINE_RE.match(line):
                seen_scenario = True
                in_bullets = True
                bullets_seen = False
                continue
            if bullet:
                if in_bullets:
                    bullets_seen = True
                    continue
                if not seen_scenario:
                    continue
                left.append(js_trim(line))
                continue
            if not seen_scenario and not _TABLE_OR_HTML_RE.match(line):
                continue
            left.append(js_trim(line))
    return list(dict.fromkeys(left))


__all__ = [
    "Built",
    "Counts",
    "MergeError",
    "build_updated_spec",
    "precheck",
    "spec_skeleton",
]
