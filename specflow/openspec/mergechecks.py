"""The checks archive runs on a delta spec before it looks at the main spec, as an ordered list.

``PRECHECKS`` holds them in OpenSpec's order; the first that fails raises ``MergeError`` with
OpenSpec's message, so ``validate`` (its archive dry run) and ``archive`` refuse alike.
"""

from __future__ import annotations

from collections.abc import Callable

from specflow.openspec.deltas import DeltaPlan
from specflow.openspec.requirements import fold_requirement_name, normalize_requirement_name


class MergeError(Exception):
    """Archive would refuse this delta; the message is OpenSpec's."""


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


def unpaired_rename(plan: DeltaPlan, spec_id: str) -> None:
    """A RENAMED ``FROM:`` without its ``TO:`` (or the reverse)."""
    if plan.unpaired_renames:
        first = plan.unpaired_renames[0]
        missing = "TO" if first.side == "FROM" else "FROM"
        raise MergeError(
            f"{spec_id} validation failed - RENAMED entry on line {first.line} has no matching"
            f' {missing}: for header "### Requirement: {first.name}". Write each rename as a FROM:'
            " line followed immediately by its TO: line."
        )


def duplicate_in_section(plan: DeltaPlan, spec_id: str) -> None:
    """The same requirement twice in ADDED, MODIFIED or REMOVED."""
    _unique_names([b.name for b in plan.added], "ADDED", spec_id)
    _unique_names([b.name for b in plan.modified], "MODIFIED", spec_id)
    _unique_names(list(plan.removed), "REMOVED", spec_id)


def duplicate_rename(plan: DeltaPlan, spec_id: str) -> None:
    """Two renames from the same name, or to the same name."""
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


def _names(items: list[str]) -> dict[str, None]:
    return dict.fromkeys(normalize_requirement_name(n) for n in items)


def rename_conflict(plan: DeltaPlan, spec_id: str) -> None:
    """A rename whose source is REMOVED or MODIFIED, or whose target is ADDED."""
    added = _names([b.name for b in plan.added])
    modified = _names([b.name for b in plan.modified])
    removed = _names(list(plan.removed))
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


def section_conflict(plan: DeltaPlan, spec_id: str) -> None:
    """A requirement in two of ADDED, MODIFIED and REMOVED."""
    added = _names([b.name for b in plan.added])
    modified = _names([b.name for b in plan.modified])
    removed = _names(list(plan.removed))
    conflicts = [
        (n, "MODIFIED", other)
        for n in modified
        for other, names in (("REMOVED", removed), ("ADDED", added))
        if n in names
    ]
    conflicts += [(n, "ADDED", "REMOVED") for n in added if n in removed]
    if conflicts:
        n, a, b = conflicts[0]
        raise MergeError(
            f"{spec_id} validation failed - requirement present in multiple sections ({a} and {b})"
            f' for header "### Requirement: {n}"'
        )


def no_operations(plan: DeltaPlan, spec_id: str) -> None:
    """A delta spec with nothing to apply."""
    if plan.entry_count == 0:
        raise MergeError(
            f"Delta parsing found no operations for {spec_id}. Provide ADDED/MODIFIED/REMOVED/RENAMED"
            " sections in change spec."
        )


PRECHECKS: tuple[Callable[[DeltaPlan, str], None], ...] = (
    unpaired_rename,
    duplicate_in_section,
    duplicate_rename,
    rename_conflict,
    section_conflict,
    no_operations,
)


def precheck(plan: DeltaPlan, spec_id: str) -> None:
    """The checks archive runs on a delta before looking at the main spec (``PRECHECKS``, in order)."""
    for check in PRECHECKS:
        check(plan, spec_id)


__all__ = [
    "PRECHECKS",
    "MergeError",
    "duplicate_in_section",
    "duplicate_rename",
    "no_operations",
    "precheck",
    "rename_conflict",
    "section_conflict",
    "unpaired_rename",
]
