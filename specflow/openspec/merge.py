"""Apply one delta spec to one main spec in memory: OpenSpec's ``buildUpdatedSpec``.

Pre-checks first (``mergechecks``: duplicates within a section, cross-section conflicts, unpaired
renames), then the operations in OpenSpec's order RENAMED → REMOVED → MODIFIED → ADDED against the
current spec.  Requirements keep their positions (a renamed one stays in place) and ADDED ones are appended.
Nothing is written here: the caller validates every rebuilt spec before touching a file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from specflow.openspec.deltas import DeltaPlan, parse_delta_spec
from specflow.openspec.leftovers import foreign_tail, unaccounted
from specflow.openspec.markdown import (
    fence_mask,
    js_len,
    js_trim,
    js_trim_end,
    normalize_newlines,
)
from specflow.openspec.mergechecks import PRECHECKS, MergeError, precheck
from specflow.openspec.requirements import (
    REQUIREMENT_HEADER_RE,
    RequirementBlock,
    RequirementIndex,
    RequirementsSection,
    describe_scenario_balance,
    diff_scenario_names,
    extract_requirements_section,
    fold_requirement_name,
    index_requirements,
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


class Counts:
    """Operations actually applied to one spec."""

    __slots__ = ("added", "modified", "removed", "renamed")

    def __init__(self, added: int = 0, modified: int = 0, removed: int = 0, renamed: int = 0) -> None:
        self.added = added
        self.modified = modified
        self.removed = removed
        self.renamed = renamed

    def __repr__(self) -> str:
        return f"Counts({self.to_json()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Counts) and self.to_json() == other.to_json()

    __hash__ = None  # type: ignore[assignment]  # mutable, so not hashable

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


def _block_key(raw: str) -> str:
    return js_trim(normalize_newlines(raw))


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


# -- the merge: one state object, passes in OpenSpec's order ------------------------------------


class _Merge:
    """The state of applying one delta to one main spec."""

    def __init__(
        self,
        spec_id: str,
        change_name: str,
        plan: DeltaPlan,
        delta_content: str,
        target_display: str,
        compose: bool,
        warnings: list[str],
    ) -> None:
        self.spec_id = spec_id
        self.change_name = change_name
        self.plan = plan
        self.delta_content = delta_content
        self.target_display = target_display
        self.compose = compose
        self.warnings = warnings
        self.counts = Counts()
        self.is_new = False
        self.parts = RequirementsSection("", "", "", [], "")
        self.by_name: dict[str, RequirementBlock] = {}
        self.ordered: list[str] = []
        self.by_fold: Mapping[str, tuple[str, ...]] = {}  # the target's, before any operation
        self.appended: list[str] = []  # names put in by this merge, in order

    def refuse(self, op: str, name: str, why: str) -> MergeError:
        """Archive's refusal of one operation."""
        return MergeError(f'{self.spec_id} {op} failed for header "### Requirement: {name}" - {why}')

    def existing_target(self, target: str) -> None:
        """Note a delta Purpose that the existing main spec's Purpose overrides."""
        delta_purpose = extract_purpose(self.delta_content) if self.compose else None
        if delta_purpose:
            existing = extract_purpose(target)
            if existing and existing != delta_purpose:
                self.warnings.append(
                    f"{self.spec_id} - delta Purpose ignored; {self.spec_id} already has one. Edit"
                    f" {self.target_display} directly to change it."
                )

    def new_target(self) -> str:
        """The skeleton of a capability archive creates; only ADDED may apply to it."""
        spec_id, plan = self.spec_id, self.plan
        self.is_new = True
        if plan.modified or plan.renamed:
            raise MergeError(
                f"{spec_id}: target spec does not exist; only ADDED requirements are allowed for new"
                " specs. MODIFIED and RENAMED operations require an existing spec."
            )
        if plan.removed:
            self.warnings.append(
                f"{spec_id} - {len(plan.removed)} REMOVED requirement(s) ignored for new spec (nothing to remove)."
            )
        delta_purpose = extract_purpose(self.delta_content)
        skeleton = spec_skeleton(spec_id, self.change_name, delta_purpose)
        overview = _readable_overview(skeleton, spec_id) if delta_purpose else None
        if delta_purpose and not overview:
            self.warnings.append(
                f"{spec_id} - delta Purpose ignored (it would leave the new spec unreadable); wrote"
                " the placeholder Purpose instead."
            )
            return spec_skeleton(spec_id, self.change_name)
        if overview and js_len(overview) < MIN_PURPOSE_LENGTH:
            self.warnings.append(
                f"{spec_id} - carried Purpose is under {MIN_PURPOSE_LENGTH} characters; openspec"
                " validate --strict reports it as too brief."
            )
        return skeleton

    def start(self, parts: RequirementsSection, index: RequirementIndex) -> None:
        """Begin from the target's requirements, keyed by normalised name, with their positions."""
        self.parts = parts
        self.ordered = list(index.ordered)
        self.by_name = dict(index.by_name)
        self.by_fold = index.by_fold

    def put(self, key: str, block: RequirementBlock) -> None:
        """Set requirement ``key``; a name new to ``by_name`` goes to its end."""
        if key not in self.by_name:
            self.appended.append(key)
        self.by_name[key] = block

    def case_twin(self, name: str, skip: str | None = None) -> str | None:
        """The first current requirement (in ``by_name`` order) whose name differs from ``name``
        only in case or spacing; the target's index answers for the names this merge did not put in.
        """
        folded = fold_requirement_name(name)
        put = set(self.appended)
        for key in self.by_fold.get(folded, ()):
            if key != skip and key in self.by_name and key not in put:
                return key
        for key in self.appended:
            if key != skip and key in self.by_name and fold_requirement_name(key) == folded:
                return key
        return None


def _check_structure(m: _Merge, structure: list[StructureIssue]) -> None:
    if structure:
        details = "\n".join(f"line {i.line}: {i.message}" for i in structure)
        raise MergeError(
            f"{m.spec_id}: target spec is structurally invalid and cannot be updated until fixed:\n{details}"
        )


def apply_renames(m: _Merge) -> None:
    """RENAMED: the requirement keeps its place under its new header."""
    for r in m.plan.renamed:
        f, t = normalize_requirement_name(r.src), normalize_requirement_name(r.dst)
        if f not in m.by_name:
            _missing_rename_source(m, r.src, f, t)
            continue
        if t in m.by_name:
            raise m.refuse("RENAMED", r.dst, "target already exists")
        near = m.case_twin(t, skip=f)
        if near is not None:
            raise m.refuse(
                "RENAMED",
                r.dst,
                f'"### Requirement: {m.by_name[near].name}" already exists and differs only in case'
                " or spacing; choose a distinct name",
            )
        block = m.by_name.pop(f)
        header = f"### Requirement: {t}"
        raw_lines = block.raw.split("\n")
        raw_lines[0] = header
        m.put(t, RequirementBlock(header, t, "\n".join(raw_lines)))
        if f in m.ordered:
            m.ordered[m.ordered.index(f)] = t
        m.counts.renamed += 1


def _missing_rename_source(m: _Merge, src: str, f: str, t: str) -> None:
    """A rename whose source is gone: already applied when the target exists, else refused."""
    if t not in m.by_name:
        raise m.refuse("RENAMED", src, "source not found")
    near = m.case_twin(f, skip=t)
    if near is not None:
        raise m.refuse(
            "RENAMED",
            src,
            f'source not found, but "### Requirement: {m.by_name[near].name}" exists; fix the header'
            " to match it exactly",
        )


def apply_removals(m: _Merge) -> None:
    """REMOVED: a requirement already gone is a warning, a near-miss name a refusal."""
    for name in m.plan.removed:
        key = normalize_requirement_name(name)
        if key in m.by_name:
            del m.by_name[key]
            m.counts.removed += 1
            continue
        if m.is_new:
            continue
        near = m.case_twin(key)
        if near is not None:
            raise m.refuse(
                "REMOVED",
                name,
                f'not found, but "### Requirement: {m.by_name[near].name}" exists; fix the header to match it exactly',
            )
        m.warnings.append(
            f'{m.spec_id} - REMOVED requirement "{name}" is not in the current spec; treating it as already removed.'
        )


def apply_modifications(m: _Merge) -> None:
    """MODIFIED: the block replaces the current one whole, and may not drop its scenarios."""
    for mod in m.plan.modified:
        key = normalize_requirement_name(mod.name)
        current = m.by_name.get(key)
        if current is None:
            raise m.refuse("MODIFIED", mod.name, "not found")
        hm = REQUIREMENT_HEADER_RE.match(mod.raw.split("\n")[0])
        if hm is None or normalize_requirement_name(hm.group(1)) != key:
            raise m.refuse("MODIFIED", mod.name, "header mismatch in content")
        diff = diff_scenario_names(current.raw, mod.raw)
        if diff.missing:
            names = ", ".join(f'"{n}"' for n in diff.missing)
            raise m.refuse(
                "MODIFIED",
                mod.name,
                f"current spec contains scenario(s) not present in the modified block: {names}."
                f" {describe_scenario_balance(diff)} Refresh the change spec before archiving to"
                " avoid dropping scenarios.",
            )
        if _block_key(current.raw) != _block_key(mod.raw):
            m.counts.modified += 1
        m.by_name[key] = mod


def apply_additions(m: _Merge) -> None:
    """ADDED: appended; an identical block is a no-op, a different or near-miss one a refusal."""
    for add in m.plan.added:
        key = normalize_requirement_name(add.name)
        existing_block = m.by_name.get(key)
        if existing_block is not None:
            if _block_key(existing_block.raw) == _block_key(add.raw):
                continue
            raise m.refuse("ADDED", add.name, "already exists")
        near = m.case_twin(key)
        if near is not None:
            raise m.refuse(
                "ADDED",
                add.name,
                f'"### Requirement: {m.by_name[near].name}" already exists and differs only in case or'
                " spacing; use MODIFIED with that exact header to change it, or choose a distinct"
                " name",
            )
        m.put(key, add)
        m.counts.added += 1


OPERATIONS: tuple[Callable[[_Merge], None], ...] = (apply_renames, apply_removals, apply_modifications, apply_additions)


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
    m = _Merge(spec_id, change_name, plan, delta_content, target_display, compose, _orphan_warnings(plan, spec_id))
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


def _kept_blocks(m: _Merge) -> list[RequirementBlock]:
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


def _warn_foreign_tail(m: _Merge, block: RequirementBlock, replacement: RequirementBlock | None) -> None:
    """A heading inside a replaced or removed block goes with it unless the new block keeps it."""
    foreign = foreign_tail(block.raw)
    if foreign is None:
        return
    fr = _block_key(foreign[1])
    if replacement is not None and _count(_block_key(replacement.raw), fr) >= _count(_block_key(block.raw), fr):
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


__all__ = [
    "OPERATIONS",
    "PRECHECKS",
    "Built",
    "Counts",
    "MergeError",
    "build_updated_spec",
    "precheck",
    "spec_skeleton",
]
