"""Archive's preflight: the change resolved, its deltas validated and its tasks counted, each
question asked (or refused) before anything is built.

OpenSpec asks before it skips validation, before it archives a change with incomplete tasks and
before it applies the spec updates; ``Archive`` holds the operation's answers (``--yes``, a
``Confirm`` callback, or nobody to ask) so every question is asked, or refused with the command
that answers it up front, the same way.  ``archive`` runs these checks first, in OpenSpec's order.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from specflow.errors import ArchiveBlocked, ArchiveCancelled
from specflow.openspec import discovery
from specflow.openspec.deltas import find_unread_delta_files
from specflow.openspec.jsre import lazy_compile
from specflow.openspec.listing import task_counts
from specflow.openspec.meta import ChangeMeta
from specflow.openspec.specupdates import read
from specflow.openspec.validate import ERROR, validate_change_dir
from specflow.structs import Struct

_DELTA_HEADER_RE = lazy_compile(r"^##\s+(ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements", re.I | re.M)


def quote_for_shell(value: str) -> str | None:
    """``value`` as a shell word (bare or double-quoted), or None when it cannot be quoted safely."""
    if re.match(r"^[A-Za-z0-9._/-]+$", value):
        return value
    if not re.search(r"[\"\\$`\r\n%!]", value):
        return f'"{value}"'
    return None


def _list_active(changes_dir: Path) -> list[str]:
    try:
        with os.scandir(changes_dir) as it:
            return sorted(e.name for e in it if e.is_dir(follow_symlinks=False) and e.name != "archive")
    except FileNotFoundError:
        return []


def resolve_change(changes_dir: Path, change_id: str) -> Path:
    """The folder of the active change ``change_id``; ``ArchiveBlocked`` when there is none to archive."""
    if not change_id:
        raise ArchiveBlocked("archive_change_name_invalid", "Change name must not be empty")
    if change_id in (".", ".."):
        raise ArchiveBlocked("archive_change_name_invalid", f"Change name must not be '{change_id}'")
    if "/" in change_id or "\\" in change_id:
        raise ArchiveBlocked("archive_change_name_invalid", "Change name must not contain path separators")
    change_dir = changes_dir / change_id
    try:
        st = change_dir.lstat()
    except OSError:
        st = None
    if st is not None and os.path.islink(change_dir):
        raise ArchiveBlocked(
            "archive_change_symlink",
            f"Change '{change_id}' is a symbolic link. Replace it with a real directory before archiving.",
        )
    if st is None or not change_dir.is_dir():
        available = _list_active(changes_dir)
        tail = f"Available changes: {', '.join(available)}" if available else "No active changes exist in this root."
        raise ArchiveBlocked("archive_change_not_found", f"Change '{change_id}' not found. {tail}")
    nested = discovery.nested_changes(changes_dir, change_id)
    if nested:
        raise ArchiveBlocked(
            "archive_change_is_namespace_folder",
            f"Cannot archive '{change_id}': {discovery.describe_nested(change_id, nested)}",
            f"Rename openspec/changes/{nested[0]}/ to a flat change directory, then archive it.",
        )
    return change_dir


def _needs_delta_validation(change_dir: Path, meta: ChangeMeta) -> bool:
    specs_dir = change_dir / "specs"
    if (specs_dir / "spec.md").is_file() or find_unread_delta_files(specs_dir):
        return True
    marker = meta.marker("skip_specs")
    if marker.invalid is not None:
        return True
    if marker.declared:
        try:
            if discovery.has_any_file_under(specs_dir):
                return True
        except OSError:
            return True
    for spec in discovery.discover_spec_files(specs_dir):
        try:
            if _DELTA_HEADER_RE.search(read(spec.path)):
                return True
        except OSError:
            continue
    return False


#: Asks a yes/no question: True or False, or None when nobody can answer (no terminal).
Confirm = Callable[[str], "bool | None"]


def _rerun(change_id: str, skip_specs: bool, no_validate: bool) -> str:
    flags = [*(["--skip-specs"] if skip_specs else []), *(["--no-validate"] if no_validate else []), "--yes"]
    quoted = quote_for_shell(change_id) or "<change-name>"
    return f"specflow archive {quoted} {' '.join(flags)}"


def _ask(confirm: Confirm | None, question: str, blocked: ArchiveBlocked, no_answer: ArchiveBlocked) -> bool:
    if confirm is None:
        raise blocked
    answer = confirm(question)
    if answer is None:
        raise no_answer
    return answer


class Archive(Struct):
    """One archive operation: the change, the caller's answers and the questions still to ask."""

    root: Path
    change_id: str
    change_dir: Path
    meta: ChangeMeta
    yes: bool
    skip_specs: bool
    no_validate: bool
    confirm: Confirm | None

    @property
    def rerun(self) -> str:
        """The command that answers every question up front."""
        return _rerun(self.change_id, self.skip_specs, self.no_validate)

    def agrees(self, question: str, blocked: ArchiveBlocked, no_answer: ArchiveBlocked) -> bool:
        """True with ``yes``; else the answer of ``confirm`` (refusing when there is nobody to ask)."""
        return self.yes or _ask(self.confirm, question, blocked, no_answer)


def validate_deltas(op: Archive) -> None:
    """Refuse invalid deltas; with ``no_validate``, confirm skipping the check instead."""
    if op.no_validate:
        skipping = op.agrees(
            "Skipping validation may archive invalid specs. Continue?",
            ArchiveBlocked(
                "archive_confirmation_required",
                "Skipping validation requires confirmation: rerun with --yes.",
                "specflow archive <change-name> --json --no-validate --yes",
            ),
            ArchiveBlocked(
                "archive_confirmation_required",
                "Skipping validation requires confirmation, and no answer could be read from stdin.",
                op.rerun,
            ),
        )
        if not skipping:
            raise ArchiveCancelled("Archive cancelled.")
        return
    if not _needs_delta_validation(op.change_dir, op.meta):
        return
    report = validate_change_dir(op.change_dir)
    if not report.valid():
        blocked = ArchiveBlocked(
            "archive_validation_failed",
            f"Validation failed for change '{op.change_id}'.",
            f"Run specflow validate {op.change_id} for details, fix the errors, or rerun with --no-validate.",
        )
        blocked.issues = [i.to_json() for i in report.issues if i.level in (ERROR, "WARNING")]
        raise blocked


def count_tasks(op: Archive) -> tuple[int, int]:
    """``(total, done)``; incomplete tasks need a yes."""
    total, done = task_counts(op.change_dir, op.root, op.meta)
    incomplete = max(total - done, 0)
    if incomplete and not op.agrees(
        f"Warning: {incomplete} incomplete task(s) found. Continue?",
        ArchiveBlocked(
            "archive_tasks_incomplete",
            f"{incomplete} incomplete task(s) found for change '{op.change_id}'.",
            "Complete the tasks or rerun with --yes.",
        ),
        ArchiveBlocked(
            "archive_tasks_incomplete",
            f"{incomplete} incomplete task(s) found for change '{op.change_id}', and no answer could be"
            " read from stdin.",
            f"Complete the tasks or rerun with {op.rerun}",
        ),
    ):
        raise ArchiveCancelled("Archive cancelled.")
    return total, done


__all__ = [
    "Archive",
    "Confirm",
    "count_tasks",
    "quote_for_shell",
    "resolve_change",
    "validate_deltas",
]
