"""Validation with OpenSpec's rules, levels and messages: main specs here, changes in ``changerules``.

Levels are ``ERROR``, ``WARNING`` and ``INFO``; a report is valid when it has no ERROR, or in
strict mode no ERROR and no WARNING.  ``validate_selection`` is ``openspec validate``: one item or
whole kinds; ``validate_tree`` produces exactly the JSON document ``openspec validate --all --json``
prints.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from typing import Any

from specflow.openspec import discovery
from specflow.openspec.bulk import map_in_halves
from specflow.openspec.changerules import validate_change_dir
from specflow.openspec.collate import collation_key
from specflow.openspec.deltarules import missing_keyword
from specflow.openspec.gcpause import paused_gc
from specflow.openspec.issues import ERROR, INFO, WARNING, Issue, Report
from specflow.openspec.mainspecs import MainSpecs
from specflow.openspec.markdown import fence_mask, js_len
from specflow.openspec.requirements import (
    RequirementsSection,
    contains_shall_or_must,
    extract_requirement_body,
    extract_requirements_section,
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
from specflow.openspec.textfile import read_text
from specflow.openspec.validindex import IssueRow, Stamp, ValidationIndex, stamp, tree_stamps

MIN_PURPOSE_LENGTH = 50
MAX_REQUIREMENT_TEXT_LENGTH = 500

GUIDE_MISSING_SPEC_SECTIONS = (
    'Missing required sections. Expected headers: "## Purpose" and "## Requirements". Example:\n'
    "## Purpose\n[brief purpose]\n\n## Requirements\n### Requirement: Clear requirement statement\n"
    "Users SHALL ...\n\n#### Scenario: Descriptive name\n- **WHEN** ...\n- **THEN** ..."
)
GUIDE_SCENARIO_FORMAT = (
    "Scenarios must use level-4 headers. Convert bullet lists into:\n#### Scenario: Short name\n"
    "- **WHEN** ...\n- **THEN** ...\n- **AND** ..."
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
        body = block.raw.split("\n")[1:]
        text = extract_requirement_body(body, fence_mask(body, block.raw))  # no fence in the block: no join
        label = f'Requirement "{block.name}"'
        if not text:
            issues.append(Issue(ERROR, f"requirements[{i}]", missing_keyword(label, block.name)))
        elif not contains_shall_or_must(text):
            issues.append(Issue(WARNING, f"requirements[{i}]", missing_keyword(label, block.name, True)))
    return issues


def validate_spec_file(path: Path, spec_id: str) -> Report:
    """Validate the main spec at ``path``."""
    try:
        content = read_text(path)
    except OSError as exc:
        return Report([Issue(ERROR, "file", _node_error(exc, path))])
    return validate_spec_content(spec_id, content)


def _node_error(exc: OSError, path: Path) -> str:
    code = errno.errorcode.get(exc.errno or 0, "EIO")
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"{code}: {text.lower()}, open '{path}'"


# -- whole trees --------------------------------------------------------------------------------


class ItemResult:
    """One validated item, as in ``validate --json``'s ``items``."""

    __slots__ = ("duration_ms", "id", "report", "strict", "type")

    def __init__(self, id: str, type: str, report: Report, duration_ms: int, strict: bool = False) -> None:
        self.id = id
        self.type = type
        self.report = report
        self.duration_ms = duration_ms
        self.strict = strict

    def __repr__(self) -> str:
        return f"ItemResult({self.id!r}, {self.type!r}, {self.report!r}, {self.duration_ms!r}, {self.strict!r})"

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


def validate_change(
    root: Path, change_id: str, *, main: MainSpecs | None = None, listing: discovery.Listing | None = None
) -> Report:
    """Validate the open change ``change_id`` of the tree at ``root`` as ``openspec validate`` does.

    ``listing``: the change's folders listed already in this run.
    """
    changes_dir = root / "openspec" / "changes"
    nested = discovery.nested_changes(changes_dir, change_id, listing)
    if nested is not None:
        return Report([Issue(ERROR, "file", discovery.describe_nested(change_id, nested))])
    main = main or MainSpecs(root / "openspec" / "specs")
    return validate_change_dir(changes_dir / change_id, main=main, project_root=root, listing=listing)


def validate_spec(root: Path, spec_id: str) -> Report:
    """Validate the main spec ``spec_id`` of the tree at ``root``."""
    main = MainSpecs(root / "openspec" / "specs")
    return validate_spec_file(main.path(spec_id), spec_id)


def validate_items(
    root: Path, *, changes: bool = True, specs: bool = True, strict: bool = False, remember: bool = False
) -> list[ItemResult]:
    """Validate every open change and/or main spec, sorted as OpenSpec sorts them.

    ``remember``: read back and keep the issues in the hub's validation index (``validindex``),
    as the ``validate`` command does.  Off for a workflow's steps: a gate judges the files
    themselves, never an index the agent it judges could have written.
    """
    with pinned(), paused_gc():
        return _validate_items(root, changes, specs, strict, remember)


Job = tuple[str, str, Path | None]
"""``(kind, id, spec file)``: one item of a bulk run (the file only for a spec)."""
Done = tuple[list[IssueRow], int, list[Stamp] | None]
"""An item's issues as plain data, its milliseconds, and the stamps of what it read (when kept)."""


def _validate_items(root: Path, changes: bool, specs: bool, strict: bool, remember: bool) -> list[ItemResult]:
    main = MainSpecs(root / "openspec" / "specs")
    jobs: list[Job] = []
    if changes:
        jobs += [("change", cid, None) for cid in discovery.change_ids(root / "openspec" / "changes")]
    if specs:
        jobs += [("spec", spec.id, Path(spec.path)) for spec in discovery.discover_spec_files(main.specs_dir)]
    index = ValidationIndex.open(root) if remember else None
    done = _kept(index, jobs) if index is not None else {}
    specs_dir = str(main.specs_dir)
    main_stamps: dict[str, Stamp] = {}  # a main spec is read once a run: stamped once too

    def main_stamp(spec_id: str) -> Stamp:
        hit = main_stamps.get(spec_id)
        if hit is None:
            hit = main_stamps[spec_id] = stamp(os.path.join(specs_dir, *spec_id.split("/"), "spec.md"))
        return hit

    def one(n: int) -> Done:
        _, item, path = jobs[n]
        if path is not None:
            start = time.perf_counter()
            issues = _rows(_main_spec_report(main, item, path))
            return issues, _ms(start), None if index is None else [main_stamp(item)]
        # a change kept in the index: its files stamped before they are read, and the folders
        # listed for the stamps are the ones its checks walk (each folder listed once)
        listing: discovery.Listing = {}
        own = tree_stamps(os.path.join(root, "openspec", "changes", item), listing) if index is not None else None
        start = time.perf_counter()
        asked = len(main.asked)
        issues = _rows(validate_change(root, item, main=main, listing=listing))
        ms = _ms(start)
        if own is None:  # no index, or a link or an unreadable folder among the change's files
            return issues, ms, None
        return issues, ms, own + [main_stamp(s) for s in dict.fromkeys(main.asked[asked:])]

    # every item stands alone: two cores do twice the items (the child sends back plain data); the
    # first of each kind is done before the fork, so the child inherits the patterns it compiled
    todo = [n for n in range(len(jobs)) if n not in done]
    first: dict[str, int] = {}  # kind -> its first position in todo
    for k, n in enumerate(todo):
        first.setdefault(jobs[n][0], k)
    done.update(zip(todo, map_in_halves(one, todo, list(first.values())), strict=True))
    if index is not None:
        _update(index, jobs, todo, done, changes, specs)
    results = [
        ItemResult(item, kind, Report([Issue(*i) for i in done[n][0]]), done[n][1], strict)
        for n, (kind, item, _) in enumerate(jobs)
    ]
    results.sort(key=lambda r: collation_key(r.id))
    return results


def _kept(index: ValidationIndex, jobs: list[Job]) -> dict[int, Done]:
    """The items whose files did not change since the index kept their issues, read back."""
    done: dict[int, Done] = {}
    for n, (kind, item, _) in enumerate(jobs):
        start = time.perf_counter()
        kept = index.kept(kind, item)
        if kept is not None:
            done[n] = (kept, int((time.perf_counter() - start) * 1000), None)
    return done


def _rows(report: Report) -> list[IssueRow]:
    return [(i.level, i.path, i.message, i.line) for i in report.issues]


def _ms(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)


def _update(index: ValidationIndex, jobs: list[Job], todo: list[int], done: dict[int, Done], *kinds: bool) -> None:
    for n in todo:
        kind, item, _ = jobs[n]
        issues, _, stamps = done[n]
        index.keep(kind, item, stamps, issues)
    covered = [kind for kind, on in zip(("change", "spec"), kinds, strict=True) if on]
    index.forget_all_but({f"{kind}:{item}" for kind, item, _ in jobs}, covered)
    index.save()


def _main_spec_report(main: MainSpecs, spec_id: str, path: Path) -> Report:
    text, _ = main.read(spec_id)
    if text is None:
        return validate_spec_file(path, spec_id)
    return validate_spec_content(
        spec_id, text, parts=main.parts(spec_id, text), structure=main.structure(spec_id, text)
    )


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


class Validation:
    """The outcome of one ``validate`` run: its items, and which kinds it covered."""

    def __init__(self, root: Path, results: list[ItemResult], changes: bool = True, specs: bool = True) -> None:
        self.root = root
        self.results = results
        self.changes = changes
        self.specs = specs

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
    remember: bool = False,
) -> Validation:
    """``openspec validate [item] [--type] [--changes] [--specs] [--strict]``: one item, or every one of the kinds.

    Without ``item`` every open change (``changes``) and/or main spec (``specs``) is validated
    (``remember``: through the validation index, see ``validate_items``).
    Raises ``ItemError`` for an unknown, ambiguous or path-escaping item.
    """
    if item is None:
        results = validate_items(root, changes=changes, specs=specs, strict=strict, remember=remember)
        return Validation(root, results, changes, specs)
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
