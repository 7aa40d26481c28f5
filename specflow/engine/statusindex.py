"""The hub's status index: every change's ``status`` row, kept with the stamps of the files it was
computed from, as ``git status`` keeps its index.

``specflow status`` over hundreds of changes would otherwise open and parse each change's state,
history summary and tasks, and import the engine to do it.  While every stamp still matches (the
folders that list the changes, the hub's configuration and workflows, each change's records and
``tasks.md``) the rows are read from this one file instead, by a module that imports nothing
heavy.  A stamp is a file's inode, size and modification time; one taken within ``RACY_NS`` of
its file's last change is not trusted (a second write in the same clock tick would not move it),
so such a row is computed again next time.  The index is a cache under the hub's git-ignored
``.specflow/cache/``: losing it, or any mismatch, only means the rows are computed again.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from specflow._version import __version__
from specflow.definitions.resources import search_path
from specflow.stamps import RACY_NS, Stamp, current, settled, stamp

VERSION = 1


def index_path(hub_root: Path, archived: bool) -> Path:
    """Where the rows of ``status`` (or ``status --all``: ``archived``) are kept."""
    return hub_root / ".specflow" / "cache" / ("status-all.json" if archived else "status.json")


def load(hub_root: Path, archived: bool) -> dict[str, Any]:
    """The index as kept, or an empty one (absent, damaged, or from another specflow or hub)."""
    try:
        with open(index_path(hub_root, archived), "rb") as fh:
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION or data.get("specflow") != __version__:
        return {}
    if data.get("root") != str(hub_root) or not isinstance(data.get("rows"), list):
        return {}
    if data.get("workflows") != _workflow_dirs(hub_root):  # another $XDG_DATA_HOME, say
        return {}
    return data


def _workflow_dirs(hub_root: Path) -> list[str]:
    """Where workflows are looked up from this hub, in this environment."""
    return [str(d) for d in search_path("workflows", hub_root)]


def kept_rows(hub_root: Path, archived: bool) -> list[dict[str, Any]] | None:
    """Every change's status as kept, in order, when nothing they were computed from changed; else None."""
    data = load(hub_root, archived)
    listing, inputs = data.get("listing"), data.get("inputs")
    if listing is None or inputs is None or not current(inputs) or not current(listing):
        return None
    rows: list[dict[str, Any]] = []
    for row in data["rows"]:
        if row.get("stamps") is None or not current(row["stamps"]):
            return None
        rows.append(row["status"])
    return rows


def reusable_rows(hub_root: Path, archived: bool, inputs: list[Stamp]) -> dict[str, dict[str, Any]]:
    """The kept rows by change folder, with their stamps, when the hub-wide ``inputs`` still match."""
    data = load(hub_root, archived)
    if data.get("inputs") != inputs:
        return {}
    return {str(row["status"]["path"]): row for row in data["rows"] if row.get("stamps") is not None}


def store(
    hub_root: Path, archived: bool, *, inputs: list[Stamp], listing: list[Stamp], rows: list[dict[str, Any]]
) -> None:
    """Keep the rows just computed in the hub's ``.specflow/`` (which the caller made, kept out of
    git); best effort: a read-only hub only means no index.

    ``rows``: ``{"stamps": [...] or None, "status": {...}}``, None for a row that must be computed
    every time.  Stamps too fresh to trust are dropped here, so the next reading computes again.
    """
    now = time.time_ns()
    trusted = settled(inputs, now) and settled(listing, now)
    data = {
        "version": VERSION,
        "specflow": __version__,
        "root": str(hub_root),
        "workflows": _workflow_dirs(hub_root),
        "inputs": inputs if trusted else None,
        "listing": listing if trusted else None,
        "rows": [
            {
                "stamps": r["stamps"] if r["stamps"] is not None and settled(r["stamps"], now) else None,
                "status": r["status"],
            }
            for r in rows
        ],
    }
    path = index_path(hub_root, archived)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)


__all__ = [
    "RACY_NS",
    "Stamp",
    "current",
    "index_path",
    "kept_rows",
    "load",
    "reusable_rows",
    "settled",
    "stamp",
    "store",
]
