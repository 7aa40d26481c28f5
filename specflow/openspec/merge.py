"""Apply one delta spec to one main spec in memory: OpenSpec's ``buildUpdatedSpec``.

Pre-checks first (``mergechecks``: duplicates within a section, cross-section conflicts, unpaired
renames), then the operations (``mergeops``) in OpenSpec's order RENAMED → REMOVED → MODIFIED →
ADDED against the current spec, then the text composed again.  Requirements keep their positions
(a renamed one stays in place) and ADDED ones are appended.
Nothing is written here: the caller validates every rebuilt spec before touching a file.
"""

from __future__ import annotations

from specflow.openspec.deltas import DeltaPlan, parse_delta_spec
from specflow.openspec.leftovers import foreign_tail, unaccounted
from specflow.openspec.markdown import fence_mask, js_trim, js_trim_end
from specflow.openspec.mergechecks import MergeError, precheck
from specflow.openspec.mergeops import OPERATIONS, Counts, Merge, block_key
from specflow.openspec.requirements import (
    RequirementBlock,
    RequirementIndex,
    RequirementsSection,
    extract_requirements_section,
    index_requirements,
)
from specflow.openspec.specs import StructureIssue, structure_issues


class Built:
    """A rebuilt spec and what it took to build it."""

    __slots__ = ("counts", "is_new", "no_requirement_blocks", "rebuilt", "unaccounted", "warnings")

    def __init__(
        self,
        rebuilt: str,
        counts: Counts,
        warnings: list[str],
        *,
        no_requirement_blocks: bool = False,
        unaccounted: list[str] | None = None,
        is_new: bool = False,
    ) -> None:
        self.rebuilt = rebuilt
        self.counts = counts
        self.warnings = warnings
        self.no_requirement_blocks = no_requirement_blocks
        self.unaccounted: list[str] = [] if unaccounted is None else unaccounted
        self.is_new = is_new


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


def _check_structure(m: Merge, structure: list[StructureIssue]) -> None:
    if structure:
        details = "\n".join(f"line {i.line}: {i.message}" for i in structure)
        raise MergeError(
            f"{m.spec_id}: target spec is structurally invalid and cannot be updated until fixed:\n{details}"
        )


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
    target_index: RequirementIndex | None = None,
) -> Built:
    """Rebuild the main spec ``spec_id`` with a delta; raise ``MergeError`` where archive refuses.

    ``target_content`` is None when the main spec does not exist yet.  With ``compose=False`` only
    the checks run (the text is not rebuilt): what ``validate`` needs for its archive dry run.
    ``target_structure``, ``target_parts`` and ``target_index`` may carry cached parses of
    ``target_content``.
    """
    if plan is None:
        plan = parse_delta_spec(delta_content)
    precheck(plan, spec_id)
    m = Merge(spec_id, change_name, plan, delta_content, target_display, compose, _orphan_warnings(plan, spec_id))
    if target_content is None:
        target_content = m.new_target()
        target_structure = target_parts = target_index = None
    else:
        m.existing_target(target_content)
    _check_structure(m, target_structure if target_structure is not None else structure_issues(target_content))
    parts = target_parts if target_parts is not None else extract_requirements_section(target_content)
    m.start(parts, target_index if target_index is not None else index_requirements(parts.blocks))
    for operation in OPERATIONS:
        operation(m)
    if not compose:
        return Built("", m.counts, m.warnings, is_new=m.is_new)
    kept = _kept_blocks(m)
    return Built(
        _rebuilt_text(m.parts, kept),
        m.counts,
        m.warnings,
        no_requirement_blocks=not kept,
        unaccounted=unaccounted(m.parts),
        is_new=m.is_new,
    )


def _kept_blocks(m: Merge) -> list[RequirementBlock]:
    """The requirements in their final order: original positions first, then the ADDED ones."""
    kept: list[RequirementBlock] = []
    seen: set[str] = set()
    for index, block in enumerate(m.parts.blocks):
        slot = m.ordered[index]
        replacement = m.by_name.get(slot)
        if replacement is not None:
            kept.append(replacement)
            seen.add(slot)
        if replacement is not block:
            _warn_foreign_tail(m, block, replacement)
    kept.extend(block for key, block in m.by_name.items() if key not in seen)
    return kept


def _warn_foreign_tail(m: Merge, block: RequirementBlock, replacement: RequirementBlock | None) -> None:
    """A heading inside a replaced or removed block goes with it unless the new block keeps it."""
    foreign = foreign_tail(block.raw)
    if foreign is None:
        return
    fr = block_key(foreign[1])
    if replacement is not None and _count(block_key(replacement.raw), fr) >= _count(block_key(block.raw), fr):
        return
    m.warnings.append(
        f'{m.spec_id} - "{foreign[0]}" sits inside requirement "{block.name}" and goes'
        " with it. Move it under its own requirement, or above `## Requirements`,"
        " to keep it."
    )


def _rebuilt_text(parts: RequirementsSection, kept: list[RequirementBlock]) -> str:
    head = [js_trim_end(parts.preamble)] if js_trim(parts.preamble) else []
    req_body = js_trim_end("\n\n".join(head + [b.raw for b in kept]))
    pieces = [js_trim_end(parts.before), parts.header_line, req_body, js_trim(parts.after)]
    return js_trim_end(_collapse_blank_runs("\n\n".join(p for p in pieces if p != ""))) + "\n"


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


__all__ = ["Built", "build_updated_spec"]
