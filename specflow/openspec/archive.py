"""Archive a change as ``openspec archive <id> --yes`` does: merge its deltas, then file it away.

The order is OpenSpec's: resolve the change, validate its deltas, check tasks, settle the dated
destination (``YYYY-MM-DD-<id>``, local date, never doubled), then build *every* updated spec in
memory and validate it.  Only when all of them pass is anything written: specs first (each in the
line endings it already used), then the change folder (``.specflow/`` included) is moved.  If any
write or the move fails, the specs already written are put back, so on failure nothing changes.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from specflow.errors import ArchiveBlocked, ArchiveCancelled, OpenSpecError
from specflow.openspec import discovery
from specflow.openspec.deltas import find_unread_delta_files
from specflow.openspec.jsre import lazy_compile
from specflow.openspec.listing import task_counts
from specflow.openspec.merge import Built, Counts, MergeError, build_updated_spec
from specflow.openspec.meta import ChangeMeta
from specflow.openspec.retire import Outcome, is_retirable, outcome, refusal_fix
from specflow.openspec.specwrites import Snapshot, fs_message, prune_empty, replace_atomically, restore, snapshot
from specflow.openspec.validate import ERROR, validate_change_dir, validate_spec_content
from specflow.structs import Struct, field

ARCHIVE_DATE_PREFIX_RE = lazy_compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}-")
_DELTA_HEADER_RE = lazy_compile(r"^##\s+(ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements", re.I | re.M)


class SpecUpdate(Struct):
    """One delta spec and the main spec it lands on."""

    id: str
    source: Path
    target: Path
    exists: bool


class _Prepared(Struct):
    update: SpecUpdate
    built: Built
    outcome: Outcome
    seen: bytes | None = None  # the main spec's bytes when it was read (None: it did not exist)


class ArchiveResult(Struct):
    """What archive did, in the shape of ``openspec archive --json``'s ``archive`` object."""

    change: str
    archived_as: str
    path: Path
    specs_updated: bool
    totals: Counts | None = None
    warnings: list[str] = field(default_factory=list)
    task_total: int = 0
    task_done: int = 0
    specs: list[tuple[str, str]] = field(default_factory=list)  # (capability, create|update)

    def to_json(self) -> dict[str, Any]:
        """``{change, archivedAs, path, specsUpdated[, totals][, warnings]}``."""
        out: dict[str, Any] = {
            "change": self.change,
            "archivedAs": self.archived_as,
            "path": str(self.path),
            "specsUpdated": self.specs_updated,
        }
        if self.totals is not None:
            out["totals"] = self.totals.to_json()
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def summary(self) -> str:
        """One line for people and for workflow history."""
        t = self.totals
        counts = f" (+{t.added} ~{t.modified} -{t.removed} →{t.renamed})" if t else ""
        specs = "specs updated" if self.specs_updated else "no spec changes"
        return f"archived {self.change} as {self.archived_as}: {specs}{counts}"


def archive_name(change_id: str, today: date | None = None) -> str:
    """``YYYY-MM-DD-<id>`` (local date), or the id itself when it already carries a date."""
    if ARCHIVE_DATE_PREFIX_RE.match(change_id):
        return change_id
    return f"{(today or date.today()).isoformat()}-{change_id}"


def find_spec_updates(change_dir: Path, specs_dir: Path) -> list[SpecUpdate]:
    """Every delta spec of the change with its target main spec (nested capability paths kept)."""
    out = []
    for spec in discovery.discover_spec_files(change_dir / "specs"):
        target = specs_dir.joinpath(*spec.id.split("/"), "spec.md")
        out.append(SpecUpdate(spec.id, spec.path, target, os.path.exists(target)))
    return out


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _target_bytes(target: Path) -> bytes | None:
    """A main spec's bytes, to notice an edit made while the archive was being prepared."""
    try:
        return target.read_bytes()
    except OSError:
        return None


def build_update(update: SpecUpdate, change_id: str) -> Built:
    """Rebuild one main spec in memory (``MergeError`` when archive would refuse)."""
    try:
        delta = _read(update.source)
        try:
            target: str | None = _read(update.target)
        except (FileNotFoundError, NotADirectoryError):
            target = None
    except OSError as exc:  # a spec path that is a folder, unreadable, ...: refuse, as OpenSpec does
        raise ArchiveBlocked(
            "archive_spec_update_failed", fs_message(exc), "No spec was changed; fix the path above."
        ) from None
    return build_updated_spec(update.id, delta, target, change_id, target_display=str(update.target))


def detect_line_ending(content: str) -> str | None:
    """The dominant line ending (CRLF wins a tie), or None when there is no line break."""
    crlf = content.count("\r\n")
    lf = content.count("\n") - crlf
    if crlf == 0 and lf == 0:
        return None
    return "\r\n" if crlf >= lf else "\n"


def match_line_ending(rebuilt: str, original: str) -> str:
    """``rebuilt`` (LF) written with the line endings ``original`` used."""
    ending = detect_line_ending(original)
    if ending is None or ending == "\n":
        return rebuilt.replace("\r\n", "\n") if ending else rebuilt
    return rebuilt.replace("\r\n", "\n").replace("\n", "\r\n")


def _quote_for_shell(value: str) -> str | None:
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


def _resolve_change(changes_dir: Path, change_id: str) -> Path:
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
            if _DELTA_HEADER_RE.search(_read(spec.path)):
                return True
        except OSError:
            continue
    return False


#: Asks a yes/no question: True or False, or None when nobody can answer (no terminal).
Confirm = Callable[[str], "bool | None"]


def _rerun(change_id: str, skip_specs: bool, no_validate: bool) -> str:
    flags = [*(["--skip-specs"] if skip_specs else []), *(["--no-validate"] if no_validate else []), "--yes"]
    quoted = _quote_for_shell(change_id) or "<change-name>"
    return f"specflow archive {quoted} {' '.join(flags)}"


def _ask(confirm: Confirm | None, question: str, blocked: ArchiveBlocked, no_answer: ArchiveBlocked) -> bool:
    if confirm is None:
        raise blocked
    answer = confirm(question)
    if answer is None:
        raise no_answer
    return answer


class _Archive(Struct):
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


def _validate_deltas(op: _Archive) -> None:
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


def _count_tasks(op: _Archive) -> tuple[int, int]:
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


def _prepare_specs(op: _Archive, specs_dir: Path, retire: bool, result: ArchiveResult) -> list[_Prepared]:
    """Every updated spec built in memory; empty when there is none or the updates are declined."""
    updates = find_spec_updates(op.change_dir, specs_dir)
    result.specs = [(u.id, "update" if u.exists else "create") for u in updates]
    if not updates:
        return []
    prepared: list[_Prepared] = []
    error: MergeError | None = None
    try:
        for u in updates:
            seen = _target_bytes(u.target)
            built = build_update(u, op.change_id)
            prepared.append(_Prepared(u, built, outcome(u.id, u.exists, built, op.no_validate, retire), seen))
            result.warnings.extend(built.warnings)
    except MergeError as exc:
        error = exc
    if not op.agrees(
        "Proceed with spec updates?",
        ArchiveBlocked(
            "archive_confirmation_required",
            f"Updating {len(updates)} spec(s) requires confirmation: rerun with --yes.",
            "specflow archive <change-name> --json --yes",
        ),
        ArchiveBlocked(
            "archive_confirmation_required",
            f"Updating {len(updates)} spec(s) requires confirmation, and no answer could be read from stdin.",
            op.rerun,
        ),
    ):
        result.specs = []  # declined: archive without touching specs, as OpenSpec does
        return []
    if error is not None:
        raise ArchiveBlocked(
            "archive_spec_update_failed",
            str(error),
            "Fix the change delta specs and rerun. No files were changed.",
        )
    return prepared


def archive_change(
    root: Path,
    change_id: str,
    *,
    yes: bool = False,
    skip_specs: bool = False,
    no_validate: bool = False,
    confirm: Confirm | None = None,
    today: date | None = None,
) -> ArchiveResult:
    """Archive ``change_id`` of the tree at ``root``; raise ``ArchiveBlocked`` on any refusal.

    Without ``yes``, OpenSpec's questions (skipping validation, incomplete tasks, applying the
    spec updates) go to ``confirm``; with no ``confirm`` they refuse as ``openspec archive --json``
    does.  A "no" raises ``ArchiveCancelled``, except for the spec updates: declining those files
    the change away without touching the specs, as OpenSpec does.
    """
    changes_dir = root / "openspec" / "changes"
    specs_dir = root / "openspec" / "specs"
    change_dir = _resolve_change(changes_dir, change_id)
    op = _Archive(root, change_id, change_dir, ChangeMeta.load(change_dir, root), yes, skip_specs, no_validate, confirm)
    _validate_deltas(op)
    total, done = _count_tasks(op)
    name = archive_name(change_id, today)
    archive_path = changes_dir / "archive" / name
    if os.path.lexists(archive_path):
        raise ArchiveBlocked("archive_target_exists", f"Archive '{name}' already exists.")
    retire = op.meta.marker("retire_capabilities")
    result = ArchiveResult(change_id, name, archive_path, False, task_total=total, task_done=done)
    archive_path.parent.mkdir(parents=True, exist_ok=True)
    prepared = [] if skip_specs else _prepare_specs(op, specs_dir, retire.declared, result)
    if not prepared:
        _claim_and_move(change_dir, archive_path, name)
        return result
    if not no_validate:
        _validate_rebuilt(prepared, retire.declared, retire.invalid)
    result.totals = _apply(prepared, specs_dir, root, change_dir, archive_path, result)
    return result


def _validate_rebuilt(prepared: list[_Prepared], retire_declared: bool, retire_invalid: str | None) -> None:
    """Refuse before writing anything when a spec to be written fails validation."""
    for p in prepared:
        if p.outcome != "write" or validate_spec_content(p.update.id, p.built.rebuilt).valid():
            continue
        sid = p.update.id
        fix = refusal_fix(sid, p.update.exists, p.built, retire_declared, retire_invalid)
        raise ArchiveBlocked(
            "archive_spec_validation_failed",
            f"Rebuilt spec for '{sid}' failed validation. No files were changed.",
            fix or f"Run specflow validate {sid} after fixing the change deltas.",
        )


def _apply(
    prepared: list[_Prepared],
    specs_dir: Path,
    root: Path,
    change_dir: Path,
    archive_path: Path,
    result: ArchiveResult,
) -> Counts:
    """Write and retire the specs, then move the change; on any failure put every spec back."""
    mutations = [p for p in prepared if p.outcome == "retire" or (p.outcome == "write" and p.built.counts.total > 0)]
    claim = _claim(archive_path)
    try:
        if os.path.lexists(archive_path):
            raise ArchiveBlocked("archive_target_exists", f"Archive '{archive_path.name}' already exists.")
        snapshots = _unchanged_snapshots(mutations, specs_dir)
        totals = Counts()
        try:
            wrote = _write_specs(mutations, totals)
            retired = _retire_specs(mutations, totals, specs_dir, root)
            result.warnings.extend(retired)
            os.rename(change_dir, archive_path)
        except BaseException as exc:
            _roll_back(exc, snapshots, archive_path)
            raise
        result.specs_updated = wrote or bool(retired)
        return totals
    finally:
        _release(claim)


def _unchanged_snapshots(mutations: list[_Prepared], specs_dir: Path) -> list[Snapshot]:
    """Snapshots of the specs about to change, refusing any edited since its rebuild was read."""
    try:
        snapshots = [snapshot(p.update.target, specs_dir) for p in mutations]
    except OSError as exc:
        raise ArchiveBlocked("archive_spec_update_failed", fs_message(exc), "No spec was changed.") from None
    for p, snap in zip(mutations, snapshots, strict=True):
        if snap.content != p.seen:  # edited (or created, or deleted) since it was read: its rebuild is stale
            raise ArchiveBlocked(
                "archive_spec_changed",
                f"{p.update.target} changed while the archive was being prepared.",
                "No spec was changed; run the archive again to merge into the spec as it is now.",
            )
    return snapshots


def _write_specs(mutations: list[_Prepared], totals: Counts) -> bool:
    """Write every rebuilt spec in the line endings it used; True when one was written."""
    wrote = False
    for p in mutations:
        if p.outcome != "write":
            continue
        target = p.update.target
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            previous: str | None = target.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            previous = None
        text = p.built.rebuilt if previous is None else match_line_ending(p.built.rebuilt, previous)
        replace_atomically(target, text)
        wrote = True
        _add(totals, p.built.counts)
    return wrote


def _retire_specs(mutations: list[_Prepared], totals: Counts, specs_dir: Path, root: Path) -> list[str]:
    """Delete the specs of retired capabilities; one warning each, saying how to get it back."""
    warnings = []
    for p in mutations:
        if p.outcome != "retire":
            continue
        target = p.update.target
        real = target.resolve()
        target.unlink()
        prune_empty(target.parent, specs_dir)
        _add(totals, p.built.counts)
        warnings.append(
            f"{p.update.id} - capability retired; deleted the main spec (all requirements"
            f" removed, declared by retire_capabilities) at {_relative(real, root)}. Its section(s) went with"
            f" it: Purpose. {_recovery(real, root)}"
        )
    return warnings


def _relative(real: Path, root: Path) -> str:
    try:
        return real.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(real)


def _recovery(real: Path, root: Path) -> str:
    rel = _relative(real, root)
    quoted = None if os.path.isabs(rel) else _quote_for_shell(f":(top){rel}")
    if quoted:
        return f"If it was committed, restore it with: git checkout HEAD -- {quoted}"
    return f"It was deleted from {rel}; if it was committed, restore it from that checkout's history."


def _roll_back(exc: BaseException, snapshots: list[Snapshot], archive_path: Path) -> None:
    """Put every spec back after ``exc``; raise the refusal that explains it (or return to re-raise)."""
    problems = restore(snapshots)
    if problems:
        raise OpenSpecError(
            f"archive failed ({exc}) and rollback also failed: {'; '.join(problems)}",
            fix="restore the listed spec files from git",
        ) from exc
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise ArchiveBlocked("archive_target_exists", f"Archive '{archive_path.name}' already exists.") from None
        raise ArchiveBlocked(
            "archive_error",
            fs_message(exc),
            "No spec was changed: every spec written before the failure was restored.",
        ) from None


def _add(totals: Counts, counts: Counts) -> None:
    totals.added += counts.added
    totals.modified += counts.modified
    totals.removed += counts.removed
    totals.renamed += counts.renamed


def _claim(archive_path: Path) -> Path:
    claim = archive_path.parent / ".openspec-archive.lock"
    try:
        fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        raise ArchiveBlocked(
            "archive_target_exists",
            f"Archive '{archive_path.name}' is already being created. If no archive process is"
            f" running, remove the stale claim at {claim} and rerun.",
        ) from None
    try:
        os.write(fd, f'{{"pid":{os.getpid()}}}'.encode())
    finally:
        os.close(fd)
    return claim


def _release(claim: Path) -> None:
    claim.unlink(missing_ok=True)


def _claim_and_move(change_dir: Path, archive_path: Path, name: str) -> None:
    claim = _claim(archive_path)
    try:
        if os.path.lexists(archive_path):
            raise ArchiveBlocked("archive_target_exists", f"Archive '{name}' already exists.")
        try:
            os.rename(change_dir, archive_path)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise ArchiveBlocked("archive_target_exists", f"Archive '{name}' already exists.") from None
            raise ArchiveBlocked("archive_error", fs_message(exc)) from None
    finally:
        _release(claim)


__all__ = [
    "ArchiveResult",
    "SpecUpdate",
    "archive_change",
    "archive_name",
    "build_update",
    "detect_line_ending",
    "find_spec_updates",
    "is_retirable",
    "match_line_ending",
]
