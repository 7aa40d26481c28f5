"""The rules ``openspec validate <change>`` applies to each delta spec, as one ordered list.

``DELTA_RULES`` run on every ``specs/<capability>/spec.md`` of a change in turn, in the order
OpenSpec reports their issues; each is a small function of the delta (and of the main specs, for
the rules that compare against them) returning its issues.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from specflow.openspec.deltas import DeltaPlan
from specflow.openspec.issues import ERROR, INFO, WARNING, Issue
from specflow.openspec.mainspecs import MainSpecs
from specflow.openspec.markdown import fence_mask
from specflow.openspec.requirements import (
    RequirementBlock,
    contains_shall_or_must,
    count_empty_scenarios,
    count_scenarios,
    describe_scenario_balance,
    diff_scenario_names,
    extract_requirement_body,
    fold_requirement_name,
    normalize_requirement_name,
)

EMPTY_SCENARIO_HINT = (
    ' (a scenario header with no body under it does not count; add its steps, e.g. "- **WHEN** ..."'
    ' and "- **THEN** ...")'
)
_UNREADABLE_SPEC_ERRORS = ("EACCES", "EPERM", "EISDIR", "ELOOP", "ENAMETOOLONG")


def missing_keyword(prefix: str, name: str, guidance: bool = False) -> str:
    """OpenSpec's message for a requirement without SHALL/MUST (``guidance``: the WARNING form)."""
    base = f"{prefix} {'should' if guidance else 'must'} contain SHALL or MUST"
    suffix = " (RFC 2119 best practice for English specs)" if guidance else ""
    if contains_shall_or_must(name):
        return (
            f"{base} in the requirement body, not only in the header. Move the SHALL/MUST statement"
            f' to the line immediately after the "### Requirement: ..." header.{suffix}'
        )
    return base + suffix


def _first_seen(names: Iterable[str]) -> dict[str, None]:
    return dict.fromkeys(normalize_requirement_name(n) for n in names)


class Delta:
    """One delta spec of the change: where it is, what it says, and its normalised names.

    The names are keyed at once: the conflict rules read all three for every delta.
    """

    def __init__(self, spec_id: str, entry: str, plan: DeltaPlan, content: str) -> None:
        self.spec_id = spec_id
        self.entry = entry  # OpenSpec's issue path: ``<capability>/spec.md``
        self.plan = plan
        self.content = content
        #: Normalised ADDED, MODIFIED and REMOVED names, in first occurrence order.
        self.added = _first_seen(b.name for b in plan.added)
        self.modified = _first_seen(b.name for b in plan.modified)
        self.removed = _first_seen(plan.removed)


def skipped_headers(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """INFO: a ``###`` header in a delta section that is not a ``### Requirement:``."""
    out = []
    for stray in d.plan.skipped_headers:
        if stray.nameless:
            msg = (
                f'Header "### {stray.header}" in {stray.section} is missing a requirement name and'
                ' is ignored by validation. Add a name, e.g. "### Requirement: <name>".'
            )
        else:
            msg = (
                f'Header "### {stray.header}" in {stray.section} is not a "### Requirement:"'
                " header and is ignored by validation. Use"
                f' "### Requirement: {stray.header}" if it should be validated as a requirement.'
            )
        out.append(Issue(INFO, d.entry, msg, stray.line))
    return out


def unpaired_renames(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """ERROR: a RENAMED ``FROM:`` line without its ``TO:`` line, or the reverse."""
    out = []
    for u in d.plan.unpaired_renames:
        missing = "TO" if u.side == "FROM" else "FROM"
        message = (
            f'RENAMED {u.side}: "{u.name}" has no matching {missing}: line. Write each rename'
            " as a FROM: line followed immediately by its TO: line."
        )
        out.append(Issue(ERROR, d.entry, message, u.line))
    return out


def orphan_requirements(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """WARNING: a requirement outside any delta section, which archive ignores."""
    out = []
    for o in d.plan.orphans:
        where = f'under "## {o.section}"' if o.section else 'above the first "## " section'
        message = (
            f'Requirement "{o.name}" is {where}, which is not a delta section, so it is'
            ' ignored. Move it under "## ADDED Requirements", "## MODIFIED Requirements",'
            ' "## REMOVED Requirements", or "## RENAMED Requirements".'
        )
        out.append(Issue(WARNING, d.entry, message, o.line))
    return out


def _block_issues(kind: str, blocks: list[RequirementBlock], entry: str) -> list[Issue]:
    out: list[Issue] = []
    seen: set[str] = set()
    for block in blocks:
        key = normalize_requirement_name(block.name)
        if key in seen:
            out.append(Issue(ERROR, entry, f'Duplicate requirement in {kind}: "{block.name}"'))
        seen.add(key)
        out.extend(_block_text_issues(kind, block, entry))
    return out


def _block_text_issues(kind: str, block: RequirementBlock, entry: str) -> list[Issue]:
    body = block.raw.split("\n")[1:]
    mask = fence_mask(body, block.raw)  # once for the statement and the scenarios
    text = extract_requirement_body(body, mask)
    label = f'{kind} "{block.name}"'
    out = []
    if not text:
        message = (
            missing_keyword(label, block.name)
            if contains_shall_or_must(block.name)
            else f"{label} is missing requirement text"
        )
        out.append(Issue(ERROR, entry, message))
    elif not contains_shall_or_must(text):
        out.append(Issue(WARNING, entry, missing_keyword(label, block.name, True)))
    if count_scenarios(body, mask) < 1:
        hint = EMPTY_SCENARIO_HINT if count_empty_scenarios(body, mask) else ""
        out.append(Issue(ERROR, entry, f"{label} must include at least one scenario{hint}"))
    return out


def added_blocks(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """ADDED requirements: duplicates, missing text, no SHALL/MUST, no scenario."""
    return _block_issues("ADDED", d.plan.added, d.entry)


def modified_blocks(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """MODIFIED requirements: duplicates, missing text, no SHALL/MUST, no scenario."""
    return _block_issues("MODIFIED", d.plan.modified, d.entry)


def lost_scenarios(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """ERROR: a MODIFIED block omits scenarios the main spec's requirement still has."""
    if main is None or not d.plan.modified:
        return []
    text, err = main.read(d.spec_id)
    if text is None:
        return _unreadable_main_spec(d, main, err)
    current = main.index(d.spec_id, text).by_name
    renamed_from = {normalize_requirement_name(r.dst): normalize_requirement_name(r.src) for r in d.plan.renamed}
    renamed_away = {normalize_requirement_name(r.src) for r in d.plan.renamed}
    out = []
    for block in d.plan.modified:
        key = normalize_requirement_name(block.name)
        found = None if key in renamed_away else _follow_renames(key, current, renamed_from)
        diff = diff_scenario_names(found.raw, block.raw) if found is not None else None
        if diff is None or not diff.missing:
            continue
        names = ", ".join(f'"{n}"' for n in diff.missing)
        message = (
            f'MODIFIED "{block.name}" omits scenario(s) the current spec still has: {names}.'
            f" {describe_scenario_balance(diff)} Copy the omitted scenarios into the MODIFIED"
            " block (a MODIFIED requirement replaces the whole block, so archive refuses to"
            " drop them)."
        )
        out.append(Issue(ERROR, d.entry, message))
    return out


def _unreadable_main_spec(d: Delta, main: MainSpecs, err: str | None) -> list[Issue]:
    if err not in _UNREADABLE_SPEC_ERRORS:
        return []
    where = main.path(d.spec_id).as_posix()
    message = (
        f"Could not read {where} to check the MODIFIED requirements against it ({err})."
        " Archive reads the same file, so fix the file before archiving."
    )
    return [Issue(ERROR, d.entry, message)]


def _follow_renames(
    key: str, current: Mapping[str, RequirementBlock], renamed_from: dict[str, str]
) -> RequirementBlock | None:
    """The main spec's requirement ``key`` stands for, following this delta's renames back."""
    visited: set[str] = set()
    walk: str | None = key
    while walk is not None and walk not in visited:
        found = current.get(walk)
        if found is not None:
            return found
        visited.add(walk)
        walk = renamed_from.get(walk)
    return None


def duplicate_removals(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """ERROR: the same requirement REMOVED twice."""
    out = []
    seen: set[str] = set()
    for name in d.plan.removed:
        key = normalize_requirement_name(name)
        if key in seen:
            out.append(Issue(ERROR, d.entry, f'Duplicate requirement in REMOVED: "{name}"'))
        seen.add(key)
    return out


def duplicate_renames(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """ERROR: two renames FROM the same name, or TO the same name."""
    out = []
    froms: set[str] = set()
    tos: set[str] = set()
    for r in d.plan.renamed:
        f, t = normalize_requirement_name(r.src), normalize_requirement_name(r.dst)
        if f in froms:
            out.append(Issue(ERROR, d.entry, f'Duplicate FROM in RENAMED: "{r.src}"'))
        if t in tos:
            out.append(Issue(ERROR, d.entry, f'Duplicate TO in RENAMED: "{r.dst}"'))
        froms.add(f)
        tos.add(t)
    return out


def modified_conflicts(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """ERROR: a requirement both MODIFIED and REMOVED, or both MODIFIED and ADDED."""
    out = []
    for n in d.modified:
        if n in d.removed:
            out.append(Issue(ERROR, d.entry, f'Requirement present in both MODIFIED and REMOVED: "{n}"'))
        if n in d.added:
            out.append(Issue(ERROR, d.entry, f'Requirement present in both MODIFIED and ADDED: "{n}"'))
    return out


def added_conflicts(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """ERROR: a requirement both ADDED and REMOVED."""
    message = 'Requirement present in both ADDED and REMOVED: "{}"'
    return [Issue(ERROR, d.entry, message.format(n)) for n in d.added if n in d.removed]


def rename_conflicts(d: Delta, main: MainSpecs | None) -> list[Issue]:
    """ERROR: MODIFIED under a renamed-away name; a rename onto an ADDED name or a REMOVED one."""
    out = []
    for r in d.plan.renamed:
        f, t = normalize_requirement_name(r.src), normalize_requirement_name(r.dst)
        if f in d.modified:
            message = f'MODIFIED references old name from RENAMED. Use new header for "{r.dst}"'
            out.append(Issue(ERROR, d.entry, message))
        if t in d.added:
            out.append(Issue(ERROR, d.entry, f'RENAMED TO collides with ADDED for "{r.dst}"'))
        folded = fold_requirement_name(f)
        match = next((x for x in d.removed if fold_requirement_name(x) == folded), None)
        if match is not None:
            spelled = "" if match == f else f' (REMOVED spells it "{match}")'
            message = f'Requirement present in both RENAMED and REMOVED: "{r.src}"{spelled}'
            out.append(Issue(ERROR, d.entry, message))
    return out


DeltaRule = Callable[[Delta, MainSpecs | None], list[Issue]]

DELTA_RULES: tuple[DeltaRule, ...] = (
    skipped_headers,
    unpaired_renames,
    orphan_requirements,
    added_blocks,
    modified_blocks,
    lost_scenarios,
    duplicate_removals,
    duplicate_renames,
    modified_conflicts,
    added_conflicts,
    rename_conflicts,
)


__all__ = [
    "DELTA_RULES",
    "EMPTY_SCENARIO_HINT",
    "Delta",
    "DeltaRule",
    "added_blocks",
    "added_conflicts",
    "duplicate_removals",
    "duplicate_renames",
    "lost_scenarios",
    "missing_keyword",
    "modified_blocks",
    "modified_conflicts",
    "orphan_requirements",
    "rename_conflicts",
    "skipped_headers",
    "unpaired_renames",
]
