"""``list`` and ``show``: the data OpenSpec prints for changes and specs, plus specflow's state.

``list_changes`` gives, per open change, OpenSpec's ``name``, ``completedTasks``, ``totalTasks``,
``lastModified`` and ``status``, and specflow's ``state`` and ``workflow`` (None for a change
specflow does not manage).  Everything is read with the standard library only, so ``specflow list``
starts fast.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from specflow.openspec import discovery
from specflow.openspec.collate import collation_key
from specflow.openspec.meta import ChangeMeta
from specflow.openspec.schemas import pinned, registry
from specflow.openspec.specs import SpecParseError, parse_spec
from specflow.openspec.tasks import count_tasks, task_status
from specflow.openspec.textfile import read_text

STATE_FILE = ".specflow/state.json"
_CHANGE_MARKERS = frozenset((".openspec.yaml", "proposal.md", "tasks.md", "design.md"))


class ChangeSummary(NamedTuple):
    """One open change as ``list`` shows it."""

    name: str
    completed: int
    total: int
    last_modified_ms: int
    state: str | None = None
    workflow: str | None = None
    nested: list[str] | None = None
    state_error: str | None = None

    @property
    def status(self) -> str:
        """``no-tasks``, ``complete`` or ``in-progress``."""
        return task_status(self.total, self.completed)

    @property
    def last_modified(self) -> str:
        """ISO 8601 UTC with milliseconds, as JavaScript's ``toISOString``."""
        return iso_ms(self.last_modified_ms)

    def to_json(self) -> dict[str, Any]:
        """OpenSpec's entry plus ``state`` and ``workflow``."""
        out: dict[str, Any] = {
            "name": self.name,
            "completedTasks": self.completed,
            "totalTasks": self.total,
            "lastModified": self.last_modified,
            "status": self.status,
        }
        if self.nested:
            out["nested"] = self.nested
        out["state"] = self.state
        out["workflow"] = self.workflow
        return out


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _walk_change(directory: str) -> tuple[int, set[str]]:
    """Latest mtime (ns) of any file below ``directory``, and the names of its top-level files.

    A ``.specflow`` folder at the top is reported as ``".specflow/"``.
    """
    latest = -1
    top: set[str] = set()
    stack: list[str] = []
    scandir = os.scandir
    with scandir(directory) as it:
        for entry in it:
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
                if entry.name == ".specflow":
                    top.add(".specflow/")
                continue
            try:
                m = entry.stat().st_mtime_ns
            except OSError:
                continue
            if m > latest:
                latest = m
            if entry.is_file():
                top.add(entry.name)
    while stack:
        try:
            it = scandir(stack.pop())
        except OSError:
            continue
        with it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                try:
                    m = entry.stat().st_mtime_ns
                except OSError:
                    continue
                if m > latest:
                    latest = m
    if latest < 0:
        latest = os.stat(directory).st_mtime_ns
    return latest, top


def _node_ms(ns: int) -> int:
    # Node builds fs.Stats dates as Math.round(sec * 1e3 + nsec / 1e6), in doubles.
    sec, nsec = divmod(ns, 1_000_000_000)
    return math.floor(sec * 1e3 + nsec / 1e6 + 0.5)


def task_counts(change_dir: Path, root: Path, meta: ChangeMeta | None = None) -> tuple[int, int]:
    """``(total, done)`` across the change's tracked task files (OpenSpec's task progress)."""
    files = (meta or ChangeMeta.load(change_dir, root)).tracked_task_files()
    if not files:
        files = [change_dir / "tasks.md"]
    total = done = 0
    for f in files:
        try:
            text = read_text(f)
        except OSError:
            continue
        t, d = count_tasks(text)
        total += t
        done += d
    return total, done


def _fast_task_counts(d: str, top: set[str], root: Path, root_str: str) -> tuple[int, int]:
    # Without custom workflow schemas (project or user level) OpenSpec always tracks tasks.md:
    # valid spec-driven metadata names it, and unusable metadata falls back to it.
    if registry(root_str).custom:
        return task_counts(Path(d), root)
    if "tasks.md" not in top:
        return 0, 0
    try:
        return count_tasks(read_text(os.path.join(d, "tasks.md")))
    except OSError:
        return 0, 0


def _read_specflow_state(change_dir: str) -> tuple[str | None, str | None, str | None]:
    path = os.path.join(change_dir, STATE_FILE)
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except (FileNotFoundError, NotADirectoryError):
        return None, None, None
    except OSError as exc:
        return None, None, f"{path}: {exc.strerror}"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, None, f"{path}:{exc.lineno}: corrupted state file: {exc.msg}"
    if not isinstance(data, dict) or not isinstance(data.get("state"), str):
        return None, None, f"{path}: corrupted state file: no string 'state'"
    wf = data.get("workflow")
    return data["state"], wf if isinstance(wf, str) else None, None


def list_changes(root: Path, elsewhere: Mapping[str, Path | None] | None = None) -> list[ChangeSummary]:
    """Every open change, most recently modified first (OpenSpec's ``list`` order).

    ``elsewhere``: changes whose folder is not (or not only) under ``root`` — specflow's changes in
    their own worktrees — by id; that folder is the one listed (None: the change is not open).
    """
    with pinned():
        return _list_changes(root, elsewhere or {})


def _list_changes(root: Path, elsewhere: Mapping[str, Path | None]) -> list[ChangeSummary]:
    changes_dir = root / "openspec" / "changes"
    try:
        with os.scandir(changes_dir) as it:
            names = [e.name for e in it if e.is_dir(follow_symlinks=False) and e.name != "archive"]
    except (FileNotFoundError, NotADirectoryError):
        names = []
    names = sorted({*names, *elsewhere} - {k for k, v in elsewhere.items() if v is None})
    out = []
    root_str = str(root)
    for name in names:
        found = elsewhere.get(name)
        d = str(found) if found is not None else os.path.join(changes_dir, name)
        mtime, top = _walk_change(d)
        total, done = _fast_task_counts(d, top, root, root_str)
        state, workflow, error = _read_specflow_state(d) if ".specflow/" in top else (None, None, None)
        nested = None
        if not top.intersection(_CHANGE_MARKERS):
            nested = discovery.nested_changes(changes_dir, name)
        out.append(ChangeSummary(name, done, total, _node_ms(mtime), state, workflow, nested, error))
    out.sort(key=lambda c: -c.last_modified_ms)
    return out


def _describe_nested(name: str, nested: list[str]) -> str:
    return discovery.describe_nested(name, nested)


def list_changes_json(root: Path, elsewhere: Mapping[str, Path | None] | None = None) -> dict[str, Any]:
    """The document ``specflow list --json`` prints (OpenSpec's, with state and workflow)."""
    changes = list_changes(root, elsewhere)
    doc: dict[str, Any] = {"changes": [c.to_json() for c in changes]}
    warnings: list[dict[str, Any]] = []
    for c in changes:
        if c.nested:
            warnings.append(
                {
                    "code": "nested_change_directory",
                    "name": c.name,
                    "nested": c.nested,
                    "message": _describe_nested(c.name, c.nested),
                }
            )
        if c.state_error:
            warnings.append({"code": "specflow_state_unreadable", "name": c.name, "message": c.state_error})
    if warnings:
        doc["warnings"] = warnings
    doc["root"] = {"path": str(root), "source": "nearest"}
    return doc


class SpecSummary(NamedTuple):
    """One main spec as ``list --specs`` shows it."""

    id: str
    requirement_count: int


def list_specs(root: Path) -> list[SpecSummary]:
    """Every main spec with its requirement count (0 when it does not parse), sorted by id."""
    out = []
    for spec in discovery.discover_spec_files(root / "openspec" / "specs"):
        try:
            parsed = parse_spec(spec.path.read_text(encoding="utf-8", errors="replace"), spec.id)
            count = len(parsed.requirements)
        except (OSError, SpecParseError):
            count = 0
        out.append(SpecSummary(spec.id, count))
    out.sort(key=lambda s: collation_key(s.id))
    return out


def list_specs_json(root: Path) -> dict[str, Any]:
    """The document ``openspec list --specs --json`` prints."""
    return {
        "specs": [{"id": s.id, "requirementCount": s.requirement_count} for s in list_specs(root)],
        "root": {"path": str(root), "source": "nearest"},
    }


__all__ = [
    "ChangeSummary",
    "SpecSummary",
    "iso_ms",
    "list_changes",
    "list_changes_json",
    "list_specs",
    "list_specs_json",
    "task_counts",
]
