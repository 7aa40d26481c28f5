"""Validation with OpenSpec's rules, levels and messages: changes (their deltas) and main specs.

Levels are ``ERROR``, ``WARNING`` and ``INFO``; a report is valid when it has no ERROR, or in
strict mode no ERROR and no WARNING.  ``validate_tree`` produces exactly the JSON document
``openspec validate --all --json`` prints.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specflow.openspec import discovery
from specflow.openspec.collate import collation_key
from specflow.openspec.deltas import DeltaPlan, parse_delta_spec
from specflow.openspec.issues import ERROR, INFO, WARNING, Issue, Report
from specflow.openspec.markdown import js_len
from specflow.openspec.merge import MergeError, build_updated_spec
from specflow.openspec.meta import METADATA_FILE, ChangeMeta
from specflow.openspec.requirements import (
    RequirementBlock,
    RequirementsSection,
    contains_shall_or_must,
    count_empty_scenarios,
    count_scenarios,
    describe_scenario_balance,
    diff_scenario_names,
    extract_requirement_body,
    extract_requirements_section,
    fold_requirement_name,
    normalize_requirement_name,
)
from specflow.openspec.schemas import pinned
from specflow.openspec.specs import (
    ParsedSpec,
    SpecParseError,
    StructureIssue,
    parse_spec,
    purpose_placeholder,
    structure_issues,
)
from specflow.openspec.taskcheck import task_file_issues

MIN_PURPOSE_LENGTH = 50
MAX_REQUIREMENT_TEXT_LENGTH = 500

GUIDE_NO_DELTAS = (
    "No deltas found. Ensure your change has a specs/ directory with capability folders (e.g."
    " specs/http-server/spec.md) containing .md files that use delta headers"
    " (## ADDED/MODIFIED/REMOVED/RENAMED Requirements) and that each requirement includes at least"
    ' one "#### Scenario:" block. If this change intentionally modifies no specs (pure refactor,'
    ' tooling, docs), set "skip_specs: true" in the change\'s .openspec.yaml instead. Tip: run'
    ' "openspec change show <change-id> --json --deltas-only" to inspect parsed deltas.'
)
GUIDE_MISSING_SPEC_SECTIONS = (
    'Missing required sections. Expected headers: "## Purpose" and "## Requirements". Example:\n'
    "## Purpose\n[brief purpose]\n\n## Requirements\n### Requirement: Clear requirement statement\n"
    "Users SHALL ...\n\n#### Scenario: Descriptive name\n- **WHEN** ...\n- **THEN** ..."
)
GUIDE_SCENARIO_FORMAT = (
    "Scenarios must use level-4 headers. Convert bullet lists into:\n#### Scenario: Short name\n"
    "- **WHEN** ...\n- **THEN** ...\n- **AND** ..."
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
PURPOSE_TOO_BRIEF = f"Purpose section is too brief (less than {MIN_PURPOSE_LENGTH} characters)"
PURPOSE_IS_PLACEHOLDER = (
    "Purpose section is still a placeholder rather than a Purpose anyone wrote (the sentence"
    " `openspec archive` writes for a new capability, or a `TBD`/`TODO` marker left in its place)."
    " Replace it with what this capability is for, editing the main spec directly: a `## Purpose`"
    " in a delta is read only when the capability is created, so it cannot replace this one."
)
REQUIREMENT_TOO_LONG = (
    f"Requirement text is very long (>{MAX_REQUIREMENT_TEXT_LENGTH} characters). Consider breaking it down."
)
SPEC_NO_REQUIREMENTS = "Spec must have at least one requirement"
REQUIREMENT_NO_SCENARIOS = "Requirement must have at least one scenario"
EMPTY_SCENARIO_HINT = (
    ' (a scenario header with no body under it does not count; add its steps, e.g. "- **WHEN** ..."'
    ' and "- **THEN** ...")'
)


class MainSpecs:
    """Read-once access to the main specs of a tree (shared by the checks of many changes)."""

    def __init__(self, specs_dir: Path) -> None:
        self.specs_dir = specs_dir
        self._text: dict[str, tuple[str | None, str | None]] = {}
        self._parts: dict[str, RequirementsSection] = {}
        self._structure: dict[str, list[StructureIssue]] = {}

    def path(self, spec_id: str) -> Path:
        """Where the main spec of ``spec_id`` lives."""
        return self.specs_dir.joinpath(*spec_id.split("/"), "spec.md")

    def read(self, spec_id: str) -> tuple[str | None, str | None]:
        """``(text, None)``, ``(None, None)`` when absent, ``(None, errno-name)`` when unreadable."""
        hit = self._text.get(spec_id)
        if hit is None:
            try:
                hit = (self.path(spec_id).read_text(encoding="utf-8", errors="replace"), None)
            except (FileNotFoundError, NotADirectoryError):
                hit = (None, None)
            except OSError as exc:
                hit = (None, errno.errorcode.get(exc.errno or 0, "EIO"))
            self._text[spec_id] = hit
        return hit

    def parts(self, spec_id: str, text: str) -> RequirementsSection:
        """The cached ``## Requirements`` split of a main spec."""
        hit = self._parts.get(spec_id)
        if hit is None:
            hit = self._parts[spec_id] = extract_requirements_section(text)
        return hit

    def structure(self, spec_id: str, text: str) -> list[StructureIssue]:
        """The cached structure issues of a main spec."""
        hit = self._structure.get(spec_id)
        if hit is None:
            hit = self._structure[spec_id] = structure_issues(text)
        return hit


def _missing_keyword(prefix: str, name: str, guidance: bool = False) -> str:
    base = f"{prefix} {'should' if guidance else 'must'} contain SHALL or MUST"
    suffix = " (RFC 2119 best practice for English specs)" if guidance else ""
    if contains_shall_or_must(name):
        return (
            f"{base} in the requirement body, not only in the header. Move the SHALL/MUST statement"
            f' to the line immediately after the "### Requirement: ..." header.{suffix}'
        )
    return base + suffix


def _check_blocks(kind: str, blocks: list[RequirementBlock], path: str, issues: list[Issue]) -> dict[str, None]:
    names: dict[str, None] = {}
    for block in blocks:
        key = normalize_requirement_name(block.name)
        if key in names:
            issues.append(Issue(ERROR, path, f'Duplicate requirement in {kind}: "{block.name}"'))
        else:
            names[key] = None
        body = block.raw.split("\n")[1:]
        text = extract_requirement_body(body)
        label = f'{kind} "{block.name}"'
        if not text:
            message = (
                _missing_keyword(label, block.name)
                if contains_shall_or_must(block.name)
                else f"{label} is missing requirement text"
            )
            issues.append(Issue(ERROR, path, message))
        elif not contains_shall_or_must(text):
            issues.append(Issue(WARNING, path, _missing_keyword(label, block.name, True)))
        if count_scenarios(body) < 1:
            hint = EMPTY_SCENARIO_HINT if count_empty_scenarios(body) else ""
            issues.append(Issue(ERROR, path, f"{label} must include at least one scenario{hint}"))
    return names


def _scenario_loss(plan: DeltaPlan, spec_id: str, entry: str, main: MainSpecs) -> list[Issue]:
    text, err = main.read(spec_id)
    if text is None:
        if err in ("EACCES", "EPERM", "EISDIR", "ELOOP", "ENAMETOOLONG"):
            where = main.path(spec_id).as_posix()
            return [
                Issue(
                    ERROR,
                    entry,
                    f"Could not read {where} to check the MODIFIED requirements against it ({err})."
                    " Archive reads the same file, so fix the file before archiving.",
                )
            ]
        return []
    current = {normalize_requirement_name(b.name): b for b in main.parts(spec_id, text).blocks}
    renamed_from = {normalize_requirement_name(r.dst): normalize_requirement_name(r.src) for r in plan.renamed}
    renamed_away = {normalize_requirement_name(r.src) for r in plan.renamed}
    issues = []
    for block in plan.modified:
        key = normalize_requirement_name(block.name)
        if key in renamed_away:
            continue
        visited: set[str] = set()
        walk: str | None = key
        found = None
        while walk is not None and walk not in visited:
            found = current.get(walk)
            if found is not None:
                break
            visited.add(walk)
            walk = renamed_from.get(walk)
        if found is None:
            continue
        diff = diff_scenario_names(found.raw, block.raw)
        if not diff.missing:
            continue
        names = ", ".join(f'"{n}"' for n in diff.missing)
        issues.append(
            Issue(
                ERROR,
                entry,
                f'MODIFIED "{block.name}" omits scenario(s) the current spec still has: {names}.'
                f" {describe_scenario_balance(diff)} Copy the omitted scenarios into the MODIFIED"
                " block (a MODIFIED requirement replaces the whole block, so archive refuses to"
                " drop them).",
            )
        )
    return issues


def _format_sections(sections: list[str]) -> str:
    if len(sections) <= 1:
        return "".join(sections)
    return ", ".join(sections[:-1]) + " and " + sections[-1]


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
    issues: list[Issue] = []
    specs_dir = os.path.join(change_dir, "specs")
    scan = discovery.scan_specs(specs_dir)
    total = 0
    root_spec = os.path.isfile(os.path.join(specs_dir, "spec.md"))
    missing_headers: list[str] = []
    empty_sections: list[tuple[str, list[str]]] = []
    plans: list[tuple[str, str, DeltaPlan, str]] = []
    if root_spec:
        issues.append(
            Issue(
                ERROR,
                "spec.md",
                "Delta spec found at specs/spec.md. Delta specs must live under a capability path"
                " (e.g. specs/<capability-path>/spec.md) — a file at the specs/ root is ignored when"
                " the change is applied or archived.",
            )
        )
    for spec in scan.specs:
        try:
            with open(spec.file, encoding="utf-8", errors="replace") as fh:
                content = fh.read()
        except OSError:
            continue
        plan = parse_delta_spec(content)
        entry = f"{spec.id}/spec.md"
        plans.append((spec.id, entry, plan, content))
        for stray in plan.skipped_headers:
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
            issues.append(Issue(INFO, entry, msg, stray.line))
        for u in plan.unpaired_renames:
            missing = "TO" if u.side == "FROM" else "FROM"
            issues.append(
                Issue(
                    ERROR,
                    entry,
                    f'RENAMED {u.side}: "{u.name}" has no matching {missing}: line. Write each rename'
                    " as a FROM: line followed immediately by its TO: line.",
                    u.line,
                )
            )
        for o in plan.orphans:
            where = f'under "## {o.section}"' if o.section else 'above the first "## " section'
            issues.append(
                Issue(
                    WARNING,
                    entry,
                    f'Requirement "{o.name}" is {where}, which is not a delta section, so it is'
                    ' ignored. Move it under "## ADDED Requirements", "## MODIFIED Requirements",'
                    ' "## REMOVED Requirements", or "## RENAMED Requirements".',
                    o.line,
                )
            )
        if plan.entry_count == 0:
            if plan.has_sections:
                empty_sections.append((entry, plan.section_names()))
            else:
                missing_headers.append(entry)
        total += plan.entry_count
        added = _check_blocks("ADDED", plan.added, entry, issues)
        modified = _check_blocks("MODIFIED", plan.modified, entry, issues)
        if main is not None and plan.modified:
            issues.extend(_scenario_loss(plan, spec.id, entry, main))
        removed: dict[str, None] = {}
        for name in plan.removed:
            key = normalize_requirement_name(name)
            if key in removed:
                issues.append(Issue(ERROR, entry, f'Duplicate requirement in REMOVED: "{name}"'))
            else:
                removed[key] = None
        froms: set[str] = set()
        tos: set[str] = set()
        for r in plan.renamed:
            f, t = normalize_requirement_name(r.src), normalize_requirement_name(r.dst)
            if f in froms:
                issues.append(Issue(ERROR, entry, f'Duplicate FROM in RENAMED: "{r.src}"'))
            else:
                froms.add(f)
            if t in tos:
                issues.append(Issue(ERROR, entry, f'Duplicate TO in RENAMED: "{r.dst}"'))
            else:
                tos.add(t)
        for n in modified:
            if n in removed:
                issues.append(Issue(ERROR, entry, f'Requirement present in both MODIFIED and REMOVED: "{n}"'))
            if n in added:
                issues.append(Issue(ERROR, entry, f'Requirement present in both MODIFIED and ADDED: "{n}"'))
        for n in added:
            if n in removed:
                issues.append(Issue(ERROR, entry, f'Requirement present in both ADDED and REMOVED: "{n}"'))
        for r in plan.renamed:
            f, t = normalize_requirement_name(r.src), normalize_requirement_name(r.dst)
            if f in modified:
                issues.append(
                    Issue(ERROR, entry, f'MODIFIED references old name from RENAMED. Use new header for "{r.dst}"')
                )
            if t in added:
                issues.append(Issue(ERROR, entry, f'RENAMED TO collides with ADDED for "{r.dst}"'))
            folded = fold_requirement_name(f)
            match = next((x for x in removed if fold_requirement_name(x) == folded), None)
            if match is not None:
                spelled = "" if match == f else f' (REMOVED spells it "{match}")'
                issues.append(
                    Issue(ERROR, entry, f'Requirement present in both RENAMED and REMOVED: "{r.src}"{spelled}')
                )
    if main is not None:
        reported = {i.path for i in issues if i.level == ERROR}
        reported.update(missing_headers)
        reported.update(e for e, _ in empty_sections)
        change_name = change_dir.name
        for spec_id, entry, plan, content in plans:
            if entry in reported:
                continue
            text, err = main.read(spec_id)
            if text is None and err is not None:
                continue
            try:
                build_updated_spec(
                    spec_id,
                    content,
                    text,
                    change_name,
                    compose=False,
                    plan=plan,
                    target_structure=main.structure(spec_id, text) if text is not None else None,
                    target_parts=main.parts(spec_id, text) if text is not None else None,
                )
            except MergeError as exc:
                issues.append(Issue(INFO, entry, f"Archive would refuse this delta: {exc}"))
    unread = discovery.unread_deltas(scan) if scan.other_md else []
    for stray_file in unread:
        issues.append(
            Issue(
                ERROR,
                stray_file.path,
                f"Delta spec found at specs/{stray_file.path}. Delta specs must be a spec.md inside a capability"
                " folder — this file is ignored when the change is applied or archived. Move its"
                f" requirements into specs/{stray_file.expected}.",
            )
        )
    for entry, sections in empty_sections:
        issues.append(
            Issue(
                ERROR,
                entry,
                f"Delta sections {_format_sections(sections)} were found, but no requirement entries"
                ' parsed. Ensure each section includes at least one "### Requirement:" block (REMOVED'
                " may use bullet list syntax).",
            )
        )
    for entry in missing_headers:
        issues.append(
            Issue(
                ERROR,
                entry,
                'No delta sections found. Add headers such as "## ADDED Requirements" or move non-delta'
                " notes outside specs/.",
            )
        )
    meta = ChangeMeta.load(change_dir, project_root)
    marker = meta.marker("skip_specs")
    if marker.invalid is not None:
        issues.append(Issue(ERROR, METADATA_FILE, f"{SKIP_SPECS_INVALID} ({marker.invalid})"))
    skip = marker.declared
    has_files = False
    if skip:
        has_files = scan.has_any_file
        if has_files:
            issues.append(Issue(ERROR, "file", SKIP_SPECS_CONFLICT))
    if total == 0 and not root_spec and not unread:
        if skip and not has_files:
            issues.append(Issue(INFO, "file", SKIP_SPECS_ACCEPTED))
        elif not skip:
            issues.append(Issue(ERROR, "file", f"{CHANGE_NO_DELTAS}. {GUIDE_NO_DELTAS}"))
    if project_root is not None:
        issues.extend(task_file_issues(meta))
    return Report(issues)


def validate_spec_content(
    spec_id: str,
    content: str,
    *,
    parts: RequirementsSection | None = None,
    structure: list[StructureIssue] | None = None,
) -> Report:
    """Validate main-spec text (used before archive writes a rebuilt spec).

    ``parts`` and ``structure`` may carry cached parses of ``content``.
    """
    issues: list[Issue] = []
    try:
        spec = parse_spec(content, spec_id)
    except SpecParseError as exc:
        return Report([Issue(ERROR, "file", f"{exc}. {GUIDE_MISSING_SPEC_SECTIONS}")])
    issues.extend(_schema_issues(spec))
    issues.extend(_spec_rules(spec, content, parts, structure))
    return Report(issues)


def _schema_issues(spec: ParsedSpec) -> list[Issue]:
    if not spec.requirements:
        return [Issue(ERROR, "requirements", SPEC_NO_REQUIREMENTS)]
    out = []
    for i, req in enumerate(spec.requirements):
        if not req.text:
            out.append(Issue(ERROR, f"requirements.{i}.text", "Requirement text cannot be empty"))
        if not req.scenarios:
            out.append(Issue(ERROR, f"requirements.{i}.scenarios", REQUIREMENT_NO_SCENARIOS))
    return out


def _spec_rules(
    spec: ParsedSpec,
    content: str,
    parts: RequirementsSection | None = None,
    structure: list[StructureIssue] | None = None,
) -> list[Issue]:
    if structure is None:
        structure = structure_issues(content)
    issues = [Issue(ERROR, "file", s.message, s.line) for s in structure]
    is_placeholder, line = purpose_placeholder(spec.overview, content)
    if is_placeholder:
        issues.append(Issue(WARNING, "overview", PURPOSE_IS_PLACEHOLDER, line))
    elif js_len(spec.overview) < MIN_PURPOSE_LENGTH:
        issues.append(Issue(WARNING, "overview", PURPOSE_TOO_BRIEF))
    for i, req in enumerate(spec.requirements):
        if js_len(req.text) > MAX_REQUIREMENT_TEXT_LENGTH:
            issues.append(Issue(INFO, f"requirements[{i}]", REQUIREMENT_TOO_LONG))
        if not req.scenarios:
            issues.append(
                Issue(
                    WARNING,
                    f"requirements[{i}].scenarios",
                    f"{REQUIREMENT_NO_SCENARIOS}. {GUIDE_SCENARIO_FORMAT}",
                )
            )
    if parts is None:
        parts = extract_requirements_section(content)
    for i, block in enumerate(parts.blocks):
        text = extract_requirement_body(block.raw.split("\n")[1:])
        label = f'Requirement "{block.name}"'
        if not text:
            issues.append(Issue(ERROR, f"requirements[{i}]", _missing_keyword(label, block.name)))
        elif not contains_shall_or_must(text):
            issues.append(Issue(WARNING, f"requirements[{i}]", _missing_keyword(label, block.name, True)))
    return issues


def validate_spec_file(path: Path, spec_id: str) -> Report:
    """Validate the main spec at ``path``."""
    try:
        content = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return Report([Issue(ERROR, "file", _node_error(exc, path))])
    return validate_spec_content(spec_id, content)


def _node_error(exc: OSError, path: Path) -> str:
    code = errno.errorcode.get(exc.errno or 0, "EIO")
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"{code}: {text.lower()}, open '{path}'"


# -- whole trees --------------------------------------------------------------------------------


@dataclass
class ItemResult:
    """One validated item, as in ``validate --json``'s ``items``."""

    id: str
    type: str
    report: Report
    duration_ms: int
    strict: bool = False

    @property
    def valid(self) -> bool:
        """The verdict under the run's strictness."""
        return self.report.valid(self.strict)

    def to_json(self) -> dict[str, Any]:
        """``{id, type, valid, issues, durationMs}``."""
        return {
            "id": self.id,
            "type": self.type,
            "valid": self.valid,
            "issues": [i.to_json() for i in self.report.issues],
            "durationMs": self.duration_ms,
        }


def validate_change(root: Path, change_id: str, *, main: MainSpecs | None = None) -> Report:
    """Validate the open change ``change_id`` of the tree at ``root`` as ``openspec validate`` does."""
    changes_dir = root / "openspec" / "changes"
    nested = discovery.nested_changes(changes_dir, change_id)
    if nested is not None:
        return Report([Issue(ERROR, "file", discovery.describe_nested(change_id, nested))])
    main = main or MainSpecs(root / "openspec" / "specs")
    return validate_change_dir(changes_dir / change_id, main=main, project_root=root)


def validate_spec(root: Path, spec_id: str) -> Report:
    """Validate the main spec ``spec_id`` of the tree at ``root``."""
    main = MainSpecs(root / "openspec" / "specs")
    return validate_spec_file(main.path(spec_id), spec_id)


def validate_items(root: Path, *, changes: bool = True, specs: bool = True, strict: bool = False) -> list[ItemResult]:
    """Validate every open change and/or main spec, sorted as OpenSpec sorts them."""
    with pinned():
        return _validate_items(root, changes, specs, strict)


def _validate_items(root: Path, changes: bool, specs: bool, strict: bool) -> list[ItemResult]:
    main = MainSpecs(root / "openspec" / "specs")
    results: list[ItemResult] = []
    if changes:
        for cid in discovery.change_ids(root / "openspec" / "changes"):
            start = time.perf_counter()
            report = validate_change(root, cid, main=main)
            ms = int((time.perf_counter() - start) * 1000)
            results.append(ItemResult(cid, "change", report, ms, strict))
    if specs:
        for spec in discovery.discover_spec_files(main.specs_dir):
            start = time.perf_counter()
            text, _ = main.read(spec.id)
            report = (
                validate_spec_file(spec.path, spec.id)
                if text is None
                else validate_spec_content(
                    spec.id,
                    text,
                    parts=main.parts(spec.id, text),
                    structure=main.structure(spec.id, text),
                )
            )
            ms = int((time.perf_counter() - start) * 1000)
            results.append(ItemResult(spec.id, "spec", report, ms, strict))
    results.sort(key=lambda r: collation_key(r.id))
    return results


def root_json(root: Path) -> dict[str, str]:
    """OpenSpec's ``root`` object for a project found from the working directory."""
    return {"path": str(root), "source": "nearest"}


def _tally(items: list[ItemResult]) -> dict[str, int]:
    passed = sum(1 for r in items if r.valid)
    return {"items": len(items), "passed": passed, "failed": len(items) - passed}


def report_json(results: list[ItemResult], root: Path, *, changes: bool = True, specs: bool = True) -> dict[str, Any]:
    """The document ``openspec validate --all --json`` prints."""
    by_type: dict[str, dict[str, int]] = {}
    if changes:
        by_type["change"] = _tally([r for r in results if r.type == "change"])
    if specs:
        by_type["spec"] = _tally([r for r in results if r.type == "spec"])
    return {
        "items": [r.to_json() for r in results],
        "summary": {"totals": _tally(results), "byType": by_type},
        "version": "1.0",
        "root": root_json(root),
    }


@dataclass
class Validation:
    """The outcome of one ``validate`` run: its items, and which kinds it covered."""

    root: Path
    results: list[ItemResult]
    changes: bool = True
    specs: bool = True

    @property
    def failed(self) -> list[ItemResult]:
        """The items that did not pass."""
        return [r for r in self.results if not r.valid]

    def to_json(self) -> dict[str, Any]:
        """The document ``openspec validate --json`` prints."""
        return report_json(self.results, self.root, changes=self.changes, specs=self.specs)


def validate_selection(
    root: Path,
    item: str | None = None,
    *,
    type_: str | None = None,
    changes: bool = False,
    specs: bool = False,
    strict: bool = False,
) -> Validation:
    """``openspec validate [item] [--type] [--changes] [--specs] [--strict]``: one item, or every one of the kinds.

    Without ``item`` every open change (``changes``) and/or main spec (``specs``) is validated.
    Raises ``ItemError`` for an unknown, ambiguous or path-escaping item.
    """
    if item is None:
        return Validation(root, validate_items(root, changes=changes, specs=specs, strict=strict), changes, specs)
    kind = discovery.resolve_item(root, item, type_)
    discovery.check_item_path(kind, item)
    start = time.perf_counter()
    report = validate_change(root, item) if kind == "change" else validate_spec(root, item)
    result = ItemResult(item, kind, report, int((time.perf_counter() - start) * 1000), strict)
    return Validation(root, [result], changes=kind == "change", specs=kind == "spec")


def validate_tree(root: Path, *, changes: bool = True, specs: bool = True, strict: bool = False) -> dict[str, Any]:
    """Validate a whole tree and return OpenSpec's JSON report."""
    results = validate_items(root, changes=changes, specs=specs, strict=strict)
    return report_json(results, root, changes=changes, specs=specs)


__all__ = [
    "ERROR",
    "INFO",
    "WARNING",
    "Issue",
    "ItemResult",
    "MainSpecs",
    "Report",
    "Validation",
    "report_json",
    "root_json",
    "validate_change",
    "validate_change_dir",
    "validate_items",
    "validate_selection",
    "validate_spec",
    "validate_spec_content",
    "validate_spec_file",
    "validate_tree",
]
