"""Finding things under ``openspec/``: change ids, spec files (nested capability paths), stray deltas.

The walks follow OpenSpec's: entries starting with ``.`` are skipped, symlinked directories are
not followed, a symlinked ``spec.md`` counts when it points at a file, and results are sorted by
code point so every run lists them in the same order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from specflow.openspec.deltas import has_delta_sections


@dataclass(frozen=True)
class SpecFile:
    """A ``spec.md`` found under a specs root: capability id (``a/b``) and path."""

    id: str
    path: Path


def _scandir(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def discover_spec_files(specs_root: Path) -> list[SpecFile]:
    """Every ``<capability-path>/spec.md`` below ``specs_root`` (a root-level spec.md excluded)."""
    results: list[SpecFile] = []

    def walk(directory: Path, segments: tuple[str, ...]) -> None:
        for entry in _scandir(directory):
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                walk(directory / name, (*segments, name))
            elif name == "spec.md" and segments:
                if entry.is_file(follow_symlinks=False):
                    results.append(SpecFile("/".join(segments), directory / name))
                elif entry.is_symlink():
                    try:
                        if entry.is_file(follow_symlinks=True):
                            results.append(SpecFile("/".join(segments), directory / name))
                    except OSError:
                        continue

    walk(specs_root, ())
    results.sort(key=lambda s: s.id)
    return results


@dataclass(frozen=True)
class UnreadDelta:
    """A Markdown file with delta sections that archive would never read."""

    path: str  # relative to the change's specs/, POSIX
    expected: str  # where its requirements belong: <capability>/spec.md


def find_unread_delta_files(specs_root: Path) -> list[UnreadDelta]:
    """``.md`` files under a change's ``specs/`` that carry delta sections but are not ``spec.md``."""
    results: list[UnreadDelta] = []

    def walk(directory: Path, segments: tuple[str, ...]) -> None:
        for entry in _scandir(directory):
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                walk(directory / name, (*segments, name))
                continue
            if name == "spec.md" or not name.lower().endswith(".md"):
                continue
            path = directory / name
            try:
                if entry.is_symlink() and not path.is_file():
                    continue
                content = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            except IsADirectoryError:
                continue
            if not has_delta_sections(content):
                continue
            capability = "/".join(segments) if segments else name[: -len(".md")]
            results.append(UnreadDelta("/".join((*segments, name)), f"{capability}/spec.md"))

    walk(specs_root, ())
    results.sort(key=lambda u: u.path)
    return results


def has_any_file_under(directory: Path) -> bool:
    """True when a non-dot file (or symlink) exists anywhere below ``directory``."""
    try:
        it = os.scandir(directory)
    except FileNotFoundError:
        return False
    with it:
        entries = list(it)
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_symlink() or entry.is_file(follow_symlinks=False):
            return True
        if entry.is_dir(follow_symlinks=False) and has_any_file_under(Path(entry.path)):
            return True
    return False


def change_ids(changes_dir: Path) -> list[str]:
    """Active change ids: directories under ``changes/`` except ``archive`` and dot-directories."""
    return sorted(
        e.name
        for e in _scandir(changes_dir)
        if e.is_dir(follow_symlinks=False) and e.name != "archive" and not e.name.startswith(".")
    )


def spec_ids(specs_root: Path) -> list[str]:
    """Capability ids of every main spec, sorted."""
    return [s.id for s in discover_spec_files(specs_root)]


__all__ = [
    "SpecFile",
    "UnreadDelta",
    "change_ids",
    "discover_spec_files",
    "find_unread_delta_files",
    "has_any_file_under",
    "spec_ids",
]
