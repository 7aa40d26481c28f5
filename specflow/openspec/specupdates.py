"""The spec updates of an archive: each delta spec of a change paired with the main spec it lands on,
that main spec rebuilt in memory, and the rebuilt specs checked before anything is written.

Archive builds every update here first and writes only when all of them pass (``archive``
writes them, through ``specwrites``); the steps that look at a change's deltas before it is
archived (``specflow.steps.openspec``) find and build them the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from specflow.errors import ArchiveBlocked
from specflow.openspec import discovery
from specflow.openspec.merge import Built, build_updated_spec
from specflow.openspec.retire import Outcome, refusal_fix
from specflow.openspec.specwrites import fs_message
from specflow.openspec.validate import validate_spec_content
from specflow.structs import Struct


class SpecUpdate(Struct):
    """One delta spec and the main spec it lands on."""

    id: str
    source: Path
    target: Path
    exists: bool


class Prepared(Struct):
    """One spec update rebuilt in memory, what archive does with it, and the spec as it was read."""

    update: SpecUpdate
    built: Built
    outcome: Outcome
    seen: bytes | None = None  # the main spec's bytes when it was read (None: it did not exist)


def find_spec_updates(change_dir: Path, specs_dir: Path) -> list[SpecUpdate]:
    """Every delta spec of the change with its target main spec (nested capability paths kept)."""
    out = []
    for spec in discovery.discover_spec_files(change_dir / "specs"):
        target = specs_dir.joinpath(*spec.id.split("/"), "spec.md")
        out.append(SpecUpdate(spec.id, spec.path, target, os.path.exists(target)))
    return out


def read(path: Path) -> str:
    """A spec file's text, undecodable bytes replaced."""
    return path.read_text(encoding="utf-8", errors="replace")


def target_bytes(target: Path) -> bytes | None:
    """A main spec's bytes, to notice an edit made while the archive was being prepared."""
    try:
        return target.read_bytes()
    except OSError:
        return None


def build_update(update: SpecUpdate, change_id: str) -> Built:
    """Rebuild one main spec in memory (``MergeError`` when archive would refuse)."""
    try:
        delta = read(update.source)
        try:
            target: str | None = read(update.target)
        except (FileNotFoundError, NotADirectoryError):
            target = None
    except OSError as exc:  # a spec path that is a folder, unreadable, ...: refuse, as OpenSpec does
        raise ArchiveBlocked(
            "archive_spec_update_failed", fs_message(exc), "No spec was changed; fix the path above."
        ) from None
    return build_updated_spec(update.id, delta, target, change_id, target_display=str(update.target))


def validate_rebuilt(prepared: list[Prepared], retire_declared: bool, retire_invalid: str | None) -> None:
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


__all__ = [
    "Prepared",
    "SpecUpdate",
    "build_update",
    "find_spec_updates",
    "read",
    "target_bytes",
    "validate_rebuilt",
]
