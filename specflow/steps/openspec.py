"""Workflow steps and actions backed by OpenSpec semantics.

Steps (for ``given`` / ``then``):

- ``the change passes validation`` / ``the change passes strict validation``
- ``the specs pass strict validation``
- ``no other open change touches the same requirements``
- ``the change is archived``
- ``every new capability has a purpose``

Action: ``openspec-archive`` merges the change's deltas into the specs and moves the change (its
``.specflow/`` state included) to ``openspec/changes/archive/YYYY-MM-DD-<id>/``.  Before moving
anything it checks, strictly, every spec it would write: a new capability left with OpenSpec's
placeholder Purpose ("TBD - created by archiving change ...") is refused while the change is still
open, so a change never sits archived with a failing check it could have known about.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from specflow.errors import OpenSpecError
from specflow.openspec.archive import ARCHIVE_DATE_PREFIX_RE, archive_change
from specflow.openspec.deltas import parse_delta_spec
from specflow.openspec.discovery import change_ids, discover_spec_files
from specflow.openspec.mergechecks import MergeError
from specflow.openspec.specs import extract_purpose
from specflow.openspec.specupdates import SpecUpdate, build_update, find_spec_updates
from specflow.openspec.validate import (
    ERROR,
    MIN_PURPOSE_LENGTH,
    WARNING,
    validate_change,
    validate_items,
    validate_spec_content,
)
from specflow.steps.registry import StepCollector, StepContext, StepResult

# OpenSpec's rules (validation, merge, archive: ~25 ms of imports) load with this module, which
# the step registry loads only when a workflow names one of its steps (``registry.ON_DEMAND``).

STEPS = StepCollector()

_MAX_LISTED = 5


def _issue_lines(issues: list[tuple[str, str, str]], limit: int = _MAX_LISTED) -> str:
    shown = [f"[{level}] {path}: {message}" for level, path, message in issues[:limit]]
    more = f" (+{len(issues) - limit} more)" if len(issues) > limit else ""
    return "; ".join(shown) + more


def _change_validation(ctx: StepContext, strict: bool) -> StepResult:
    if not ctx.change_dir.is_dir():
        return StepResult.failed(f"change folder {ctx.change_dir} does not exist")
    report = validate_change(ctx.hub_root, ctx.change_id)
    levels = (ERROR, WARNING) if strict else (ERROR,)
    failing = [(i.level, i.path, i.message) for i in report.issues if i.level in levels]
    mode = "strict validation" if strict else "validation"
    if failing:
        return StepResult.failed(
            f"{len(failing)} issue(s) fail OpenSpec {mode} of {ctx.change_id}: " + _issue_lines(failing)
        )
    summary = report.summary()
    return StepResult.passed(
        f"{ctx.change_id} passes {mode} ({summary['warnings']} warning(s), {summary['info']} info)"
    )


@STEPS("the change passes validation")
def change_passes_validation(ctx: StepContext) -> StepResult:
    """The change's deltas (and task files) have no ERROR under OpenSpec's rules."""
    return _change_validation(ctx, strict=False)


@STEPS("the change passes strict validation")
def change_passes_strict_validation(ctx: StepContext) -> StepResult:
    """No ERROR and no WARNING: what ``openspec validate <id> --strict`` accepts."""
    return _change_validation(ctx, strict=True)


@STEPS("the specs pass strict validation")
def specs_pass_strict_validation(ctx: StepContext) -> StepResult:
    """Every main spec under ``openspec/specs`` passes ``openspec validate --specs --strict``."""
    results = validate_items(ctx.hub_root, changes=False, specs=True, strict=True)
    failed = [r for r in results if not r.valid]
    if not failed:
        return StepResult.passed(f"all {len(results)} spec(s) pass strict validation")
    details = []
    for r in failed[:_MAX_LISTED]:
        first = next((i for i in r.report.issues if i.level in ("ERROR", "WARNING")), None)
        details.append(f"{r.id}: {first.message if first else 'invalid'}")
    more = f" (+{len(failed) - _MAX_LISTED} more)" if len(failed) > _MAX_LISTED else ""
    return StepResult.failed(
        f"{len(failed)} of {len(results)} spec(s) fail strict validation: " + "; ".join(details) + more
    )


def touched_requirements(change_dir: Path) -> dict[tuple[str, str], str]:
    """``(capability, requirement) -> operation`` for every requirement the change's deltas name."""
    touched: dict[tuple[str, str], str] = {}
    for spec in discover_spec_files(change_dir / "specs"):
        try:
            plan = parse_delta_spec(spec.path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        for block in plan.added:
            touched.setdefault((spec.id, block.name), "ADDED")
        for block in plan.modified:
            touched.setdefault((spec.id, block.name), "MODIFIED")
        for name in plan.removed:
            touched.setdefault((spec.id, name), "REMOVED")
        for r in plan.renamed:
            touched.setdefault((spec.id, r.src), "RENAMED")
            touched.setdefault((spec.id, r.dst), "RENAMED")
    return touched


def overlaps(root: Path, change_id: str) -> dict[str, list[tuple[str, str]]]:
    """Other open changes touching a requirement ``change_id`` touches: ``{other: [(cap, req)]}``."""
    changes_dir = root / "openspec" / "changes"
    mine = touched_requirements(changes_dir / change_id)
    if not mine:
        return {}
    found: dict[str, list[tuple[str, str]]] = {}
    for other in change_ids(changes_dir):
        if other == change_id:
            continue
        shared = sorted(set(mine) & set(touched_requirements(changes_dir / other)))
        if shared:
            found[other] = shared
    return found


@STEPS("no other open change touches the same requirements")
def no_overlapping_changes(ctx: StepContext) -> StepResult:
    """Fails when another open change's deltas name a capability + requirement this one names."""
    found = overlaps(ctx.hub_root, ctx.change_id)
    if not found:
        return StepResult.passed("no other open change touches the same requirements")
    parts = []
    for other, shared in found.items():
        reqs = ", ".join(f'{cap}: "{req}"' for cap, req in shared)
        parts.append(f"{other} ({reqs})")
    return StepResult.failed(
        "other open change(s) touch the same requirements: "
        + "; ".join(parts)
        + ". Archive or rebase one of them first"
    )


@STEPS("the change is archived")
def change_is_archived(ctx: StepContext) -> StepResult:
    """The change folder is gone from ``changes/`` and present under ``changes/archive/``."""
    changes_dir = ctx.hub_root / "openspec" / "changes"
    if (changes_dir / ctx.change_id).is_dir():
        return StepResult.failed(f"{ctx.change_id} is still open in {changes_dir}")
    archive = changes_dir / "archive"
    hits = []
    if archive.is_dir():
        for p in archive.iterdir():
            name = p.name
            if p.is_dir() and (
                name == ctx.change_id or (ARCHIVE_DATE_PREFIX_RE.match(name) and name[11:] == ctx.change_id)
            ):
                hits.append(name)
    if not hits:
        return StepResult.failed(f"{ctx.change_id} is neither open nor under {archive}")
    return StepResult.passed(f"archived as {sorted(hits)[-1]}")


def _delta_path(update: SpecUpdate) -> str:
    return f"specs/{update.id}/spec.md"


def _purpose_problem(update: SpecUpdate, change_id: str) -> str | None:
    """Why archiving would leave the new capability ``update.id`` without a real Purpose, or None."""
    try:
        purpose = extract_purpose(update.source.read_text(encoding="utf-8", errors="replace"))
    except OSError as exc:
        return f"{_delta_path(update)} cannot be read: {exc.strerror}"
    where = f"{_delta_path(update)} creates the capability '{update.id}'"
    if purpose is None:
        return (
            f"{where} without a '## Purpose': archiving would write OpenSpec's placeholder"
            f' ("TBD - created by archiving change {change_id}...") and fail strict validation;'
            f" start the delta spec with '## Purpose' and what the capability is for (at least"
            f" {MIN_PURPOSE_LENGTH} characters)"
        )
    try:
        built = build_update(update, change_id)
    except (MergeError, OpenSpecError):
        return None  # the delta itself is wrong: validation says how
    report = validate_spec_content(update.id, built.rebuilt)
    issues = [i.message for i in report.issues if i.path == "overview" and i.level in (ERROR, WARNING)]
    if not issues:
        return None
    return f"{where}, but its Purpose would fail strict validation: {issues[0]}; rewrite its '## Purpose'"


def purpose_problems(hub_root: Path, change_dir: Path, change_id: str) -> list[str]:
    """One line per delta spec that would create a capability without a Purpose anyone wrote."""
    updates = find_spec_updates(change_dir, hub_root / "openspec" / "specs")
    return [p for u in updates if not u.exists and (p := _purpose_problem(u, change_id)) is not None]


@STEPS("every new capability has a purpose")
def new_capabilities_have_a_purpose(ctx: StepContext) -> StepResult:
    """Each delta spec of a capability with no main spec yet carries a ``## Purpose`` that validates."""
    if not ctx.change_dir.is_dir():
        return StepResult.failed(f"change folder {ctx.change_dir} does not exist")
    problems = purpose_problems(ctx.hub_root, ctx.change_dir, ctx.change_id)
    if problems:
        return StepResult.failed("; ".join(problems))
    created = [u.id for u in find_spec_updates(ctx.change_dir, ctx.hub_root / "openspec" / "specs") if not u.exists]
    if not created:
        return StepResult.passed("the change creates no new capability")
    return StepResult.passed(f"every new capability has a purpose ({', '.join(created)})")


def check_rebuilt_specs(hub_root: Path, change_dir: Path, change_id: str) -> None:
    """Refuse, before anything moves, when a spec the archive would write fails strict validation."""
    problems: list[str] = []
    for update in find_spec_updates(change_dir, hub_root / "openspec" / "specs"):
        if not update.exists:
            purpose = _purpose_problem(update, change_id)
            if purpose is not None:
                problems.append(purpose)
                continue
        try:
            built = build_update(update, change_id)
        except MergeError:
            continue  # archive_change refuses it with OpenSpec's own message
        failing = [i for i in validate_spec_content(update.id, built.rebuilt).issues if i.level in (ERROR, WARNING)]
        if failing:
            shown = _issue_lines([(i.level, i.path, i.message) for i in failing], limit=2)
            problems.append(f"openspec/specs/{update.id}/spec.md would fail strict validation: {shown}")
    if problems:
        raise OpenSpecError(
            f"the archive of '{change_id}' would leave {len(problems)} spec(s) failing strict validation,"
            " so nothing was merged or moved: " + "; ".join(problems),
            fix=f"fix the delta specs of '{change_id}' (the agent gets these reasons in its next prompt),"
            f" then 'specflow advance {change_id}' again",
        )


def archive_action(ctx: StepContext) -> str:
    """Archive the change with ``--yes`` semantics; raise ``OpenSpecError`` on refusal.

    The specs it would write are checked strictly first, so a refusal leaves the change open.
    """

    if not (ctx.hub_root / "openspec" / "changes" / ctx.change_id).is_dir():
        done = change_is_archived(ctx)
        if isinstance(done, StepResult) and done.ok:  # an earlier attempt archived it, then failed
            return f"already {done.reason}"
    check_rebuilt_specs(ctx.hub_root, ctx.change_dir, ctx.change_id)
    result = archive_change(ctx.hub_root, ctx.change_id, yes=True)
    return result.summary()


ACTIONS: dict[str, Callable[[StepContext], str]] = {"openspec-archive": archive_action}

__all__ = [
    "ACTIONS",
    "STEPS",
    "archive_action",
    "change_is_archived",
    "change_passes_strict_validation",
    "change_passes_validation",
    "check_rebuilt_specs",
    "new_capabilities_have_a_purpose",
    "no_overlapping_changes",
    "overlaps",
    "purpose_problems",
    "specs_pass_strict_validation",
    "touched_requirements",
]
