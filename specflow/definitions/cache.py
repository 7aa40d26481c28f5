"""A cache of definitions that passed every check, so a run need not re-validate them.

Validating a workflow (schema, graph, steps, templates) costs more than a short agent turn's
overhead budget.  After a full, successful load the validated data is stored under the hub's
git-ignored ``.specflow/cache/`` with a key over everything the checks depended on: specflow's
version, the definition's bytes, the step patterns and actions known, and the files it refers
to (path, size, mtime).  Any change to those misses the cache and runs every check again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from specflow import digests
from specflow._version import __version__
from specflow.localdir import ensure

CACHE_DIR = Path(".specflow") / "cache"


def file_stamp(path: Path) -> list[Any]:
    """What identifies a file's version cheaply: its path, size and modification time."""
    try:
        st = path.stat()
    except OSError:
        return [str(path), None, None]
    return [str(path), st.st_size, st.st_mtime_ns]


def make_key(kind: str, source: Path, text: bytes, parts: Iterable[Any]) -> str:
    h = digests.sha256()
    h.update(json.dumps([kind, __version__, str(source), list(parts)], sort_keys=True, default=str).encode())
    h.update(b"\0")
    h.update(text)
    return h.hexdigest()


def _path(hub_root: Path, kind: str, source: Path) -> Path:
    name = digests.sha256(str(source).encode()).hexdigest()[:16]
    return hub_root / CACHE_DIR / f"{kind}-{name}.json"


def load(hub_root: Path, kind: str, source: Path, key: str) -> dict[str, Any] | None:
    """The cached data for ``source`` if its key still matches and its dependencies are unchanged."""
    try:
        entry = json.loads(_path(hub_root, kind, source).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key:
        return None
    for stamp in entry.get("depends", []):
        if file_stamp(Path(stamp[0])) != stamp:
            return None
    data = entry.get("data")
    return data if isinstance(data, dict) else None


def store(
    hub_root: Path, kind: str, source: Path, key: str, data: dict[str, Any], depends: Iterable[Path] = ()
) -> None:
    """Remember ``data`` as the validated form of ``source`` (best effort: a read-only hub is fine)."""
    path = _path(hub_root, kind, source)
    entry = {"key": key, "depends": [file_stamp(p) for p in depends], "data": data}
    try:
        ensure(hub_root)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
