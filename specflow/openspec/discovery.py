"""Finding things under ``openspec/``: change ids, spec files (nested capability paths), stray deltas.

The walks follow OpenSpec's: entries starting with ``.`` are skipped, symlinked directories are
not followed, a symlinked ``spec.md`` counts when it points at a file, and results are sorted by
code point so every run lists them in the same order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from specflow.errors import ItemError


class SpecFile(NamedTuple):
    """A ``spec.md`` found under a specs root: capability id (``a/b``) and file path."""

    id: str
    file: str

    @property
    def path(self) -> Path:
        """The file as a ``Path``."""
        return Path(self.file)


class SpecsScan(NamedTuple):
    """One walk of a specs folder: its capability specs, other Markdown files, any file at all."""

    specs: list[SpecFile]
    other_md: list[tuple[str, str, bool]]  # (relative path, file, is-symlink)
    has_any_file: bool


Listing = dict[str, list[os.DirEntry[str]]]
"""Folders already listed in this run (path -> its entries), so a second walk lists none again."""


def _entries(directory: str, listing: Listing | None) -> list[os.DirEntry[str]]:
    """The entries of ``directory``, from ``listing`` when it was listed already."""
    if listing is not None:
        listed = listing.get(directory)
        if listed is not None:
            return listed
    with os.scandir(directory) as it:
        return list(it)


def is_file(path: str, listing: Listing | None = None) -> bool:
    """``os.path.isfile(path)``, answered from ``listing`` (no system call) when its folder is there."""
    if listing is not None:
        folder, _, name = path.rpartition(os.sep)
        entries = listing.get(folder)
        if entries is not None:
            entry = next((e for e in entries if e.name == name), None)
            try:
                return entry is not None and entry.is_file()  # a link is followed, as isfile does
            except OSError:
                return False
    return os.path.isfile(path)


def scan_specs(specs_root: Path | str, listing: Listing | None = None) -> SpecsScan:
    """Walk ``specs_root`` once, as OpenSpec's three walks of a change's ``specs/`` would.

    ``listing``: folders listed already (by the validation index's stamps of the same change).
    """
    specs: list[SpecFile] = []
    other: list[tuple[str, str, bool]] = []
    any_file = False
    stack: list[tuple[str, str]] = [(str(specs_root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            entries = _entries(directory, listing)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append((entry.path, f"{prefix}{name}/"))
                continue
            link = entry.is_symlink()
            if link or entry.is_file(follow_symlinks=False):
                any_file = True
            else:
                continue
            if name == "spec.md":
                if prefix and (not link or _is_file(entry)):
                    specs.append(SpecFile(prefix[:-1], entry.path))
            elif name[-3:].lower() == ".md":
                other.append((prefix + name, entry.path, link))
    specs.sort(key=lambda s: s.id)
    other.sort()
    return SpecsScan(specs, other, any_file)


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=True)
    except OSError:
        return False


def discover_spec_files(specs_root: Path | str) -> list[SpecFile]:
    """Every ``<capability-path>/spec.md`` below ``specs_root`` (a root-level spec.md excluded)."""
    return scan_specs(specs_root).specs


def has_any_file_under(directory: Path | str) -> bool:
    """True when a non-dot file (or symlink) exists anywhere below ``directory``."""
    return scan_specs(directory).has_any_file


def _scandir(path: Path | str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def change_ids(changes_dir: Path | str) -> list[str]:
    """Active change ids: directories under ``changes/`` except ``archive`` and dot-directories."""
    return sorted(
        e.name
        for e in _scandir(changes_dir)
        if e.is_dir(follow_symlinks=False) and e.name != "archive" and not e.name.startswith(".")
    )


def spec_ids(specs_root: Path | str) -> list[str]:
    """Capability ids of every main spec, sorted."""
    return [s.id for s in discover_spec_files(specs_root)]


# -- folders that wrap changes instead of being one (OpenSpec #1846) ----------------------------

_CHANGE_MARKERS = (".openspec.yaml", "proposal.md", "tasks.md", "design.md")
_MAX_NESTING = 3


def looks_like_change(directory: Path | str, listing: Listing | None = None) -> bool:
    """True when ``directory`` holds a change's own files (metadata, proposal, tasks, design, specs).

    ``listing``: folders listed already in this run.
    """
    base = str(directory)
    for marker in _CHANGE_MARKERS:
        if is_file(os.path.join(base, marker), listing):
            return True
    try:
        return scan_specs(os.path.join(base, "specs"), listing).has_any_file
    except OSError:
        return False


def nested_changes(changes_dir: Path, name: str, listing: Listing | None = None) -> list[str] | None:
    """The change-like folders inside ``changes/<name>`` when it only wraps them, else None."""
    if name == "archive" or name.startswith("."):
        return None
    if looks_like_change(os.path.join(changes_dir, name), listing):
        return None
    directory = changes_dir / name
    entries = _scandir(directory)
    if any(not e.name.startswith(".") and not e.is_dir(follow_symlinks=False) for e in entries):
        return None
    found: list[str] = []

    def collect(d: Path, prefix: str, depth: int) -> None:
        if depth > _MAX_NESTING:
            return
        for e in _scandir(d):
            if e.name.startswith(".") or not e.is_dir(follow_symlinks=False):
                continue
            child = d / e.name
            cid = f"{prefix}/{e.name}"
            if looks_like_change(child):
                found.append(cid)
                continue
            collect(child, cid, depth + 1)

    collect(directory, name, 1)
    return sorted(found) if found else None


def describe_nested(name: str, nested: list[str]) -> str:
    """OpenSpec's message for a folder that wraps nested change directories."""
    listing = ", ".join(f"openspec/changes/{n}/" for n in nested)
    example = nested[0].replace("/", "-")
    return (
        f'"{name}" is not a change: it is a folder wrapping {listing}. A change must be a directory'
        " directly under openspec/changes/, so those nested directories are invisible to OpenSpec"
        " while the folder around them is reported as a change. Nested paths are supported under"
        " openspec/specs/ only. Rename each nested change to a flat name (for example"
        f' "{example}").'
    )


def resolve_item(root: Path, item: str, type_: str | None) -> str:
    """Whether ``item`` names a change or a spec, as ``openspec show`` / ``validate`` decide.

    ``--type`` (``type_``) is taken at its word, as OpenSpec does: naming a missing item then fails
    where the item is read.  Raises ``ItemError`` for an unknown or ambiguous item.
    """
    changes = change_ids(root / "openspec" / "changes") if type_ != "spec" else []
    specs = spec_ids(root / "openspec" / "specs") if type_ != "change" else []
    is_change, is_spec = item in changes, item in specs
    kind = type_ or ("change" if is_change else "spec" if is_spec else None)
    if kind is None:
        close = nearest_matches(item, changes + specs)
        message = f"Unknown item '{item}'." + (f" Did you mean: {', '.join(close)}?" if close else "")
        raise ItemError("unknown_item", message)
    if type_ is None and is_change and is_spec:
        raise ItemError(
            "ambiguous_item",
            f"Ambiguous item '{item}' matches both a change and a spec.",
            "Pass --type change|spec.",
        )
    return kind


def check_item_path(kind: str, item: str) -> None:
    """Refuse an item name that would leave its folder once it becomes a path (``..``, separators)."""
    parts = [item] if kind == "change" else item.split("/")
    if any(p in ("", ".", "..") or "\\" in p for p in parts) or (kind == "change" and "/" in item):
        label = "Change name" if kind == "change" else "Spec id"
        raise ItemError("invalid_item", f"{label} must not contain path separators")


def nearest_matches(word: str, candidates: list[str], limit: int = 5) -> list[str]:
    """OpenSpec's suggestions: the ``limit`` candidates nearest by edit distance, ties in order."""
    units = _utf16(word)
    return sorted(candidates, key=lambda c: _levenshtein(units, _utf16(c)))[:limit]


def _utf16(text: str) -> list[int]:
    # JavaScript compares UTF-16 code units, so a character outside the BMP counts twice.
    data = text.encode("utf-16-le", "surrogatepass")
    return [data[i] | data[i + 1] << 8 for i in range(0, len(data), 2)]


def _levenshtein(a: list[int], b: list[int]) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


__all__ = [
    "Listing",
    "SpecFile",
    "SpecsScan",
    "change_ids",
    "check_item_path",
    "describe_nested",
    "discover_spec_files",
    "has_any_file_under",
    "is_file",
    "looks_like_change",
    "nearest_matches",
    "nested_changes",
    "resolve_item",
    "scan_specs",
    "spec_ids",
]
