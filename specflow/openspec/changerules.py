"""``openspec validate <change>``: the rules on each delta spec, then the rules on the change.

``DELTA_RULES`` (``deltarules``) run on each delta spec in turn; ``CHANGE_RULES`` then run once on
the change as a whole.  Each rule is a small function returning its issues; the order of the lists
is the order OpenSpec reports them in, so a reader can scan what is checked.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from specflow.openspec import discovery
from specflow.openspec.deltarules import DELTA_RULES, Delta
from specflow.openspec.deltas import UnreadDelta, parse_delta_spec, unread_deltas
from specflow.openspec.issues import ERROR, INFO, Issue, Report
from specflow.openspec.mainspecs import MainSpecs
from specflow.openspec.merge import build_updated_spec
from specflow.openspec.mergechecks import MergeError
from specflow.openspec.meta import METADATA_FILE, ChangeMeta, Marker
from specflow.openspec.taskcheck import task_file_issues
from specflow.openspec.textfile import read_text

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


class ChangeCheck:
    """The state of validating one change: its files, its deltas and the issues found so far."""

    def __init__(
        self,
        change_dir: Path,
        main: MainSpecs | None,
        project_root: Path | None,
        scan: discovery.SpecsScan,
        listing: discovery.Listing | None = None,
    ) -> None:
        self.change_dir = change_dir
        self.main = main
        self.project_root = project_root
        self.scan = scan
        self.listing = listing  # the change's folders listed already in this run
        self.deltas: list[Delta] = []
        self.issues: list[Issue] = []

    @classmethod
    def read(
        cls,
        change_dir: Path,
        main: MainSpecs | None,
        project_root: Path | None,
        listing: discovery.Listing | None = None,
    ) -> ChangeCheck:
        """Walk the change's ``specs/`` and parse every readable delta spec (``listing``: folders listed already)."""
        scan = discovery.scan_specs(os.path.join(change_dir, "specs"), listing)
        check = cls(change_dir, main, project_root, scan, listing)
        for spec in check.scan.specs:
            try:
                content = read_text(spec.file)
            except OSError:
                continue
            check.deltas.append(Delta(spec.id, f"{spec.id}/spec.md", parse_delta_spec(content), content))
        return check

    @cached_property
    def root_spec(self) -> bool:
        """True when a ``spec.md`` sits at the root of ``specs/``."""
        return discovery.is_file(os.path.join(self.change_dir, "specs", "spec.md"), self.listing)

    @cached_property
    def unread(self) -> list[UnreadDelta]:
        """Markdown files with delta sections that archive would never read."""
        return unread_deltas(self.scan) if self.scan.other_md else []

    @cached_property
    def meta(self) -> ChangeMeta:
        """The change's ``.openspec.yaml``."""
        return ChangeMeta.load(self.change_dir, self.project_root, self.listing)

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
    listing: discovery.Listing | None = None,
) -> Report:
    """Validate a change's delta specs (and, with ``project_root``, its task files).

    With ``main`` the MODIFIED blocks are checked against the main specs for lost scenarios and
    the archive merge is dry-run (its refusals reported as INFO), as ``openspec validate`` does.
    ``listing``: the change's folders listed already in this run.
    """
    check = ChangeCheck.read(change_dir, main, project_root, listing)
    check.issues.extend(root_spec_md(check))
    for delta in check.deltas:
        for delta_rule in DELTA_RULES:
            check.issues.extend(delta_rule(delta, main))
    for change_rule in CHANGE_RULES:
        check.issues.extend(change_rule(check))
    return Report(check.issues)


__all__ = [
    "CHANGE_RULES",
    "ChangeCheck",
    "validate_change_dir",
]
