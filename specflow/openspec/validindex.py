"""The validation index: each item's issues from ``validate --all``, kept with the stamps of every
file they were computed from, as ``git status`` keeps its index.

A spec's issues depend on its ``spec.md`` alone; a change's on every file and folder below its
directory, the main specs its deltas were checked against, and the tree's ``config.yaml`` and
schema folders (the hub-wide inputs).  A stamp is a path's inode, size and modification time (a
folder's changes when an entry is added, removed or renamed in it), so while every stamp of an
item still matches, its issues are read from here instead of being computed again.  A stamp taken
within ``RACY_NS`` of its file's last change is not trusted (a second write in the same clock tick
would not move it), and an item with a symbolic link among its files is never kept.

The index lives under the hub's ``.specflow/cache/`` (kept out of git) and only when that folder
exists: ``validate`` in a plain OpenSpec project writes nothing.  Losing the file, damaging it, or
any mismatch only means the items are validated again.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from specflow._version import __version__
from specflow.openspec.discovery import Listing
from specflow.openspec.schemas import global_data_dir
from specflow.stamps import RACY_NS, Stamp, current, settled, stamp

VERSION = 1
INDEX_NAME = "validate.json"

IssueRow = tuple[str, str, str, "int | None"]
"""An issue as plain data: ``(level, path, message, line)``."""


def tree_stamps(top: str, listing: Listing | None = None) -> list[Stamp] | None:
    """Stamps of ``top`` and of everything below it; None when a link or an unreadable folder is there.

    ``listing`` receives each folder's entries, so the checks that walk the same folders next
    list none of them again.
    """
    try:
        st = os.lstat(top)
    except OSError:
        return [[top, None, None, None]]
    if stat.S_ISLNK(st.st_mode):
        return None
    out = [[top, st.st_ino, st.st_size, st.st_mtime_ns]]
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except NotADirectoryError:
            continue
        except OSError:
            return None
        if listing is not None:
            listing[folder] = entries
        for entry in entries:
            if entry.is_symlink():
                return None
            est = entry.stat(follow_symlinks=False)
            out.append([entry.path, est.st_ino, est.st_size, est.st_mtime_ns])
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return out


def hub_inputs(root: Path) -> list[Stamp] | None:
    """What every change's issues also depend on: ``config.yaml``/``.yml`` and the schema folders."""
    base = os.path.join(root, "openspec")
    stamps = [stamp(os.path.join(base, "config.yaml")), stamp(os.path.join(base, "config.yml"))]
    for folder in (os.path.join(base, "schemas"), os.path.join(global_data_dir(), "schemas")):
        below = tree_stamps(folder)
        if below is None:
            return None
        stamps += below
    return stamps


class ValidationIndex:
    """The kept issues of one tree, looked up by ``(kind, id)`` and updated after a run."""

    def __init__(self, root: Path, inputs: list[Stamp], entries: dict[str, list[Any]]) -> None:
        self.root = root
        self.inputs = inputs
        self.entries = entries  # "change:<id>" / "spec:<id>" -> [stamps, issues]
        self.changed = False

    @classmethod
    def open(cls, root: Path) -> ValidationIndex | None:
        """The tree's index (empty when absent or stale); None when the tree keeps none (no ``.specflow/``)."""
        if not os.path.isdir(os.path.join(root, ".specflow")):
            return None
        inputs = hub_inputs(root)
        if inputs is None:
            return None
        index = cls(root, inputs, {})
        data = _read(index.path)
        if (
            isinstance(data, dict)
            and data.get("version") == VERSION
            and data.get("specflow") == __version__
            and data.get("root") == str(root)
            and data.get("inputs") == inputs
            and isinstance(data.get("entries"), dict)
        ):
            index.entries = data["entries"]
        return index

    @property
    def path(self) -> Path:
        """``<root>/.specflow/cache/validate.json``."""
        return self.root / ".specflow" / "cache" / INDEX_NAME

    def kept(self, kind: str, item: str) -> list[IssueRow] | None:
        """The item's issues as kept, when every file they came from is unchanged; else None."""
        entry = self.entries.get(f"{kind}:{item}")
        if entry is None or not current(entry[0]):
            return None
        return [tuple(issue) for issue in entry[1]]

    def keep(self, kind: str, item: str, stamps: list[Stamp] | None, issues: list[IssueRow]) -> None:
        """Remember the issues just computed (``stamps`` None: the item cannot be kept)."""
        key = f"{kind}:{item}"
        if stamps is None:
            self.changed = self.entries.pop(key, None) is not None or self.changed
            return
        self.entries[key] = [stamps, [list(issue) for issue in issues]]
        self.changed = True

    def forget_all_but(self, keys: set[str], kinds: Iterable[str]) -> None:
        """Drop the entries of ``kinds`` whose items are gone (not among ``keys``)."""
        prefixes = tuple(f"{kind}:" for kind in kinds)
        gone = [k for k in self.entries if k.startswith(prefixes) and k not in keys]
        for key in gone:
            del self.entries[key]
        self.changed = self.changed or bool(gone)

    def save(self) -> None:
        """Write the index when it changed, without the entries too fresh to trust; best effort."""
        if not self.changed:
            return
        now = time.time_ns()
        if not settled(self.inputs, now):
            return
        entries = {k: e for k, e in self.entries.items() if settled(e[0], now)}
        data = {
            "version": VERSION,
            "specflow": __version__,
            "root": str(self.root),
            "inputs": self.inputs,
            "entries": entries,
        }
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{INDEX_NAME}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, self.path)


def _read(path: Path) -> Any:
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read())
    except (OSError, ValueError):
        return None


__all__ = [
    "RACY_NS",
    "IssueRow",
    "Stamp",
    "ValidationIndex",
    "current",
    "hub_inputs",
    "settled",
    "stamp",
    "tree_stamps",
]
