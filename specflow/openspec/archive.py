"""Archive a change as ``openspec archive <id> --yes`` does: merge its deltas, then file it away.

The order is OpenSpec's: resolve the change, validate its deltas, check tasks (``archivepreflight``),
settle the dated destination (``YYYY-MM-DD-<id>``, local date, never doubled), then build *every*
updated spec in memory and validate it (``specupdates``).  Only when all of them pass is anything
written: specs first (each in the line endings it already used), then the change folder
(``.specflow/`` included) is moved.  If any write or the move fails, the specs already written are
put back, so on failure nothing changes.
"""

from __future__ import annotations

import errno
import os
from datetime import date
from pathlib import Path
from typing import Any

from specflow.errors import ArchiveBlocked, OpenSpecError
from specflow.openspec.archivepreflight import (
    Archive,
    Confirm,
    count_tasks,
    quote_for_shell,
    resolve_change,
    validate_deltas,
)
from specflow.openspec.jsre import lazy_compile
from specflow.openspec.mergechecks import MergeError
from specflow.openspec.mergeops import Counts
from specflow.openspec.meta import ChangeMeta
from specflow.openspec.retire import outcome
from specflow.openspec.specupdates import Prepared, build_update, find_spec_updates, target_bytes, validate_rebuilt
from specflow.openspec.specwrites import Snapshot, fs_message, prune_empty, replace_atomically, restore, snapshot
from specflow.structs import Struct, field

ARCHIVE_DATE_PREFIX_RE = lazy_compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}-")


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


def _prepare_specs(op: Archive, specs_dir: Path, retire: bool, result: ArchiveResult) -> list[Prepared]:
    """Every updated spec built in memory; empty when there is none or the updates are declined."""
    updates = find_spec_updates(op.change_dir, specs_dir)
    result.specs = [(u.id, "update" if u.exists else "create") for u in updates]
    if not updates:
        return []
    prepared: list[Prepared] = []
    error: MergeError | None = None
    try:
        for u in updates:
            seen = target_bytes(u.target)
            built = build_update(u, op.change_id)
            prepared.append(Prepared(u, built, outcome(u.id, u.exists, built, op.no_validate, retire), seen))
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
    change_dir = resolve_change(changes_dir, change_id)
    op = Archive(root, change_id, change_dir, ChangeMeta.load(change_dir, root), yes, skip_specs, no_validate, confirm)
    validate_deltas(op)
    total, done = count_tasks(op)
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
        validate_rebuilt(prepared, retire.declared, retire.invalid)
    result.totals = _apply(prepared, specs_dir, root, change_dir, archive_path, result)
    return result


def _apply(
    prepared: list[Prepared],
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


def _unchanged_snapshots(mutations: list[Prepared], specs_dir: Path) -> list[Snapshot]:
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


def _write_specs(mutations: list[Prepared], totals: Counts) -> bool:
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


def _retire_specs(mutations: list[Prepared], totals: Counts, specs_dir: Path, root: Path) -> list[str]:
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
    quoted = None if os.path.isabs(rel) else quote_for_shell(f":(top){rel}")
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
    "archive_change",
    "archive_name",
    "detect_line_ending",
    "match_line_ending",
]
