"""The four operations of a merge, each a pass over one merge state, in OpenSpec's order.

``Merge`` holds what applying one delta spec to one main spec has reached: the requirements by
normalised name with their positions, the warnings and the ``Counts``.  ``OPERATIONS`` (RENAMED →
REMOVED → MODIFIED → ADDED) each refuse with archive's message, warn, or apply and count; a new
capability starts from ``spec_skeleton``.  ``merge.build_updated_spec`` runs them after the
pre-checks (``mergechecks``) and composes the rebuilt text from the state they leave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from specflow.openspec.deltas import DeltaPlan
from specflow.openspec.markdown import js_len, js_trim, normalize_newlines
from specflow.openspec.mergechecks import MergeError
from specflow.openspec.requirements import (
    REQUIREMENT_HEADER_RE,
    RequirementBlock,
    RequirementIndex,
    RequirementsSection,
    describe_scenario_balance,
    diff_scenario_names,
    fold_requirement_name,
    normalize_requirement_name,
)
from specflow.openspec.specs import (
    PURPOSE_PLACEHOLDER_PREFIX,
    PURPOSE_PLACEHOLDER_SUFFIX,
    SpecParseError,
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


def block_key(raw: str) -> str:
    """A requirement block's text as compared for sameness: newlines normalised, ends trimmed."""
    return js_trim(normalize_newlines(raw))


# -- the merge: one state object, passes in OpenSpec's order ------------------------------------


class Merge:
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


def apply_renames(m: Merge) -> None:
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


def _missing_rename_source(m: Merge, src: str, f: str, t: str) -> None:
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


def apply_removals(m: Merge) -> None:
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


def apply_modifications(m: Merge) -> None:
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
        if block_key(current.raw) != block_key(mod.raw):
            m.counts.modified += 1
        m.by_name[key] = mod


def apply_additions(m: Merge) -> None:
    """ADDED: appended; an identical block is a no-op, a different or near-miss one a refusal."""
    for add in m.plan.added:
        key = normalize_requirement_name(add.name)
        existing_block = m.by_name.get(key)
        if existing_block is not None:
            if block_key(existing_block.raw) == block_key(add.raw):
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


OPERATIONS: tuple[Callable[[Merge], None], ...] = (apply_renames, apply_removals, apply_modifications, apply_additions)

__all__ = [
    "MIN_PURPOSE_LENGTH",
    "OPERATIONS",
    "Counts",
    "Merge",
    "apply_additions",
    "apply_modifications",
    "apply_removals",
    "apply_renames",
    "block_key",
    "spec_skeleton",
]
