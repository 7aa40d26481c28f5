"""The rules ``openspec validate <change>`` applies to a change, as two ordered lists.

``DELTA_RULES`` run on each delta spec (``specs/<capability>/spec.md``) in turn; ``CHANGE_RULES``
then run once on the change as a whole.  Each rule is a small function returning its issues; the
order of the lists is the order OpenSpec reports them in, so a reader can scan what is checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from specflow.openspec import discovery
from specflow.openspec.deltas import DeltaPlan, parse_delta_spec
from specflow.openspec.issues import ERROR, INFO, WARNING, Issue, Report
from specflow.openspec.mainspecs import MainSpecs
from specflow.openspec.merge import MergeError, build_updated_spec
from specflow.openspec.meta import METADATA_FILE, ChangeMeta, Marker
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
from specflow.openspec.taskcheck import task_file_issues

GUIDE_NO_DELTAS = (
    "No deltas found. Ensure your change has a specs/ directory with capability folders (e.g."
    " specs/http-server/spec.md) containing .md files that use delta headers"
    " (## ADDED/MODIFIED/REMOVED/RENAMED Requirements) and that each requirement includes at least"
    ' one "#### Scenario:" block. If this change intentionally modifies no specs (pure refactor,'
    ' tooling, docs), set "skip_specs: true" in the change\'s .openspec.yaml instead. Tip: run'
    ' "openspec change show <change-id> --json --deltas-only" to inspect parsed deltas.'
)
CHANGE_NO_DELTAS = "Change must have at least one delta"
SKIP_SPECS_CONFLICT = (
    "skip_specs is set in .openspec.yaml but spec files exist under specs/. Remove skip_specs or"
    " delete the delta spec files"
)
SKIP_SPECS_ACCEPTED = (
    "skip_specs is set in .openspec.yaml: change declares no spec-level behavior changes, zero deltas accepted"
)
SKIP_SPECS_INVALID = (
    "skip_specs is set but .openspec.yaml is not valid change metadata, so the marker is not honored. Fix the metadata"
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


@dataclass
class Delta:
    """One delta spec of the change: where it is, what it says, and its normalised names."""

    spec_id: str
    entry: str  # OpenSpec's issue path: ``<capability>/spec.md``
    plan: DeltaPlan
    content: str

    @cached_property
    def added(self) -> dict[str, None]:
        """Normalised ADDED names, first occurrence order."""
        return _first_seen(b.name for b in self.plan.added)

    @cached_property
    def modified(self) -> dict[str, None]:
        """Normalised MODIFIED names, first occurrence order."""
        return _first_seen(b.name for b in self.plan.modified)

    @cached_property
    def removed(self) -> dict[str, None]:
        """Normalised REMOVED names, first occurrence order."""
        return _first_seen(self.plan.removed)


@dataclass
class ChangeCheck:
    """The state of validating one change: its files, its deltas and the issues found so far."""

    change_dir: Path
    main: MainSpecs | None
    project_root: Path | None
    scan: discovery.SpecsScan
    deltas: list[Delta] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @classmethod
    def read(cls, change_dir: Path, main: MainSpecs | None, project_root: Path | None) -> ChangeCheck:
        """Walk the change's ``specs/`` and parse every readable delta spec."""
        check = cls(change_dir, main, project_root, discovery.scan_specs(os.path.join(change_dir, "specs")))
        for spec in check.scan.specs:
            try:
                with open(spec.file, encoding="utf-8", errors="replace") as fh:
                    content = fh.read()
            except OSError:
                continue
            check.deltas.append(Delta(spec.id, f"{spec.id}/spec.md", parse_delta_spec(content), content))
        return check

    @cached_property
    def root_spec(self) -> bool:
        """True when a ``spec.md`` sits at the root of ``specs/``."""
        return os.path.isfile(os.path.join(self.change_dir, "specs", "spec.md"))

    @cached_property
    def unread(self) -> list[discovery.UnreadDelta]:
        """Markdown files with delta sections that archive would never read."""
        return discovery.unread_deltas(self.scan) if self.scan.other_md else []

    @cached_property
    def meta(self) -> ChangeMeta:
        """The change's ``.openspec.yaml``."""
        return ChangeMeta.load(self.change_dir, self.project_root)

    @cached_property
    def skip_specs(self) -> Marker:
        """The ``skip_specs`` marker, honoured or not."""
        return self.meta.marker("skip_specs")

    @property
    def total_entries(self) -> int:
        """Delta operations across every delta spec."""
        return sum(d.plan.entry_count for d in self.deltas)

    @property
    def empty_sections(self) -> list[Delta]:
        """Deltas with section headers but no entries under them."""
        return [d for d in self.deltas if d.plan.entry_count == 0 and d.plan.has_sections]

    @property
    def without_sections(self) -> list[Delta]:
        """Deltas with no delta section header at all."""
        return [d for d in self.deltas if d.plan.entry_count == 0 and not d.plan.has_sections]


# -- rules on one delta spec, in OpenSpec's order ----------------------------------------------


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
    text = extract_requirement_body(body)
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
    if count_scenarios(body) < 1:
        hint = EMPTY_SCENARIO_HINT if count_empty_scenarios(body) else ""
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


# -- rules on the change as a whole, after every delta ------------------------------------------


def root_spec_md(check: ChangeCheck) -> list[Issue]:
    """ERROR: a ``spec.md`` directly under ``specs/`` (archive ignores it)."""
    if not check.root_spec:
        return []
    message = (
        "Delta spec found at specs/spec.md. Delta specs must live under a capability path"
        " (e.g. specs/<capability-path>/spec.md) — a file at the specs/ root is ignored when"
        " the change is applied or archived."
    )
    return [Issue(ERROR, "spec.md", message)]


def archive_dry_run(check: ChangeCheck) -> list[Issue]:
    """INFO: where archive would refuse a delta that has no ERROR of its own."""
    main = check.main
    if main is None:
        return []
    reported = {i.path for i in check.issues if i.level == ERROR}
    reported.update(d.entry for d in check.empty_sections + check.without_sections)
    out = []
    for d in check.deltas:
        if d.entry in reported:
            continue
        text, err = main.read(d.spec_id)
        if text is None and err is not None:
            continue
        try:
            build_updated_spec(
                d.spec_id,
                d.content,
                text,
                check.change_dir.name,
                compose=False,
                plan=d.plan,
                target_structure=main.structure(d.spec_id, text) if text is not None else None,
                target_parts=main.parts(d.spec_id, text) if text is not None else None,
                target_index=main.index(d.spec_id, text) if text is not None else None,
            )
        except MergeError as exc:
            out.append(Issue(INFO, d.entry, f"Archive would refuse this delta: {exc}"))
    return out


def unread_delta_files(check: ChangeCheck) -> list[Issue]:
    """ERROR: a Markdown file with delta sections that is not a capability's ``spec.md``."""
    out = []
    for stray in check.unread:
        message = (
            f"Delta spec found at specs/{stray.path}. Delta specs must be a spec.md inside a capability"
            " folder — this file is ignored when the change is applied or archived. Move its"
            f" requirements into specs/{stray.expected}."
        )
        out.append(Issue(ERROR, stray.path, message))
    return out


def _format_sections(sections: list[str]) -> str:
    if len(sections) <= 1:
        return "".join(sections)
    return ", ".join(sections[:-1]) + " and " + sections[-1]


def empty_sections(check: ChangeCheck) -> list[Issue]:
    """ERROR: delta section headers with no requirement entry under any of them."""
    out = []
    for d in check.empty_sections:
        message = (
            f"Delta sections {_format_sections(d.plan.section_names())} were found, but no requirement entries"
            ' parsed. Ensure each section includes at least one "### Requirement:" block (REMOVED'
            " may use bullet list syntax)."
        )
        out.append(Issue(ERROR, d.entry, message))
    return out


def missing_delta_headers(check: ChangeCheck) -> list[Issue]:
    """ERROR: a delta spec with no delta section header at all."""
    message = (
        'No delta sections found. Add headers such as "## ADDED Requirements" or move non-delta notes outside specs/.'
    )
    return [Issue(ERROR, d.entry, message) for d in check.without_sections]


def invalid_skip_marker(check: ChangeCheck) -> list[Issue]:
    """ERROR: ``skip_specs`` is set but the metadata is unusable, so it is not honoured."""
    invalid = check.skip_specs.invalid
    return [] if invalid is None else [Issue(ERROR, METADATA_FILE, f"{SKIP_SPECS_INVALID} ({invalid})")]


def skip_specs_with_files(check: ChangeCheck) -> list[Issue]:
    """ERROR: ``skip_specs`` is declared yet files exist under ``specs/``."""
    if check.skip_specs.declared and check.scan.has_any_file:
        return [Issue(ERROR, "file", SKIP_SPECS_CONFLICT)]
    return []


def no_deltas(check: ChangeCheck) -> list[Issue]:
    """ERROR when the change has no delta at all; INFO when ``skip_specs`` accepts that."""
    if check.total_entries or check.root_spec or check.unread:
        return []
    if not check.skip_specs.declared:
        return [Issue(ERROR, "file", f"{CHANGE_NO_DELTAS}. {GUIDE_NO_DELTAS}")]
    if not check.scan.has_any_file:
        return [Issue(INFO, "file", SKIP_SPECS_ACCEPTED)]
    return []


def task_files(check: ChangeCheck) -> list[Issue]:
    """WARNING: task files OpenSpec would count as zero tasks, or whose numbering is ambiguous."""
    return task_file_issues(check.meta) if check.project_root is not None else []


ChangeRule = Callable[[ChangeCheck], list[Issue]]

CHANGE_RULES: tuple[ChangeRule, ...] = (
    archive_dry_run,
    unread_delta_files,
    empty_sections,
    missing_delta_headers,
    invalid_skip_marker,
    skip_specs_with_files,
    no_deltas,
    task_files,
)


def validate_change_dir(
    change_dir: Path,
    *,
    main: MainSpecs | None = None,
    project_root: Path | None = None,
) -> Report:
    """Validate a change's delta specs (and, with ``project_root``, its task files).

    With ``main`` the MODIFIED blocks are checked against the main specs for lost scenarios and
    the archive merge is dry-run (its refusals reported as INFO), as ``openspec validate`` does.
    """
    check = ChangeCheck.read(change_dir, main, project_root)
    check.issues.extend(root_spec_md(check))
    for delta in check.deltas:
        for delta_rule in DELTA_RULES:
            check.issues.extend(delta_rule(delta, main))
    for change_rule in CHANGE_RULES:
        check.issues.extend(change_rule(check))
    return Report(check.issues)


__all__ = [
    "CHANGE_RULES",
    "DELTA_RULES",
    "ChangeCheck",
    "Delta",
    "missing_keyword",
    "validate_change_dir",
]
