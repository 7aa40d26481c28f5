"""A change's persisted state: ``.specflow/state.json`` and the append-only ``history.jsonl``.

State lives with the change (``openspec/changes/<id>/.specflow/``), so it is committed with it,
archived with it and travels between machines with git.  ``state.json`` is replaced atomically
(temporary file, fsync, rename); history is appended one JSON line per event and never rewritten.
This module uses only the standard library so ``specflow list`` and ``status`` start fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from specflow.errors import StateError

STATE_DIR = ".specflow"
STATE_FILE = "state.json"
HISTORY_FILE = "history.jsonl"
STATE_VERSION = 1


def now_iso() -> str:
    """The current UTC time, ISO 8601 with seconds and a ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def state_dir(change_dir: Path) -> Path:
    return change_dir / STATE_DIR


_UMASK: list[int] = []


def _umask() -> int:
    """The process umask, read once (reading it means setting it, so not on every write)."""
    if not _UMASK:
        mask = os.umask(0o022)
        os.umask(mask)
        _UMASK.append(mask)
    return _UMASK[0]


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes 0600 files; give the file the mode a plain write would (0666 & ~umask)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_state(change_dir: Path) -> dict[str, Any] | None:
    """The change's state record, or None for a change specflow does not manage."""
    path = change_dir / STATE_DIR / STATE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise StateError(
            f"{path}: corrupted state file: not UTF-8 text ({exc.reason} at byte {exc.start})",
            fix="restore it from git (git checkout -- <file>)",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"{path}:{exc.lineno}: corrupted state file: {exc.msg}",
            fix="restore it from git (git checkout -- <file>) or from the last history event;"
            " 'specflow history <id>' shows the last recorded state",
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("state"), str):
        raise StateError(
            f"{path}: corrupted state file: expected an object with a string 'state'",
            fix="restore it from git (git checkout -- <file>)",
        )
    return data


def write_state(change_dir: Path, data: dict[str, Any]) -> None:
    """Atomically write the change's state record."""
    record = dict(data)
    record.setdefault("version", STATE_VERSION)
    record["updated"] = now_iso()
    atomic_write(change_dir / STATE_DIR / STATE_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")


def append_event(change_dir: Path, event: dict[str, Any]) -> dict[str, Any]:
    """Append one event to the change's history (adds ``time`` if missing) and return it."""
    record = {"time": now_iso(), **event}
    line = json.dumps(record, sort_keys=True, default=str) + "\n"
    path = change_dir / STATE_DIR / HISTORY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = "\n" + line  # a torn last line (a crash mid-write) must not swallow this event
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return record


def read_history(change_dir: Path) -> list[dict[str, Any]]:
    """Every history event, oldest first.

    A line that is not JSON (a write torn by a crash) is skipped rather than fatal: one bad line
    must not lock a person out of a change's history or of ``specflow status``.
    """
    path = change_dir / STATE_DIR / HISTORY_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    events: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def summarize_costs(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Cost and tokens per phase and in total, summed over every recorded agent attempt."""
    phases: dict[str, dict[str, Any]] = {}
    total: dict[str, Any] = {"cost_usd": 0.0, "tokens": {}, "attempts": 0, "priced": 0, "duration_s": 0.0}
    for ev in events:
        agent = ev.get("agent")
        if not isinstance(agent, dict):
            continue
        phase = str(ev.get("to") or "?")
        bucket = phases.setdefault(
            phase, {"cost_usd": 0.0, "tokens": {}, "attempts": 0, "priced": 0, "duration_s": 0.0}
        )
        for acc in (bucket, total):
            acc["attempts"] += 1
            # "priced": attempts whose agent reported a cost (a command agent reports none)
            acc["priced"] += isinstance(agent.get("cost_usd"), (int, float))
            acc["cost_usd"] += float(agent.get("cost_usd") or 0.0)
            acc["duration_s"] += float(agent.get("duration_s") or 0.0)
            for k, v in (agent.get("tokens") or {}).items():
                if isinstance(v, (int, float)):
                    acc["tokens"][k] = acc["tokens"].get(k, 0) + int(v)
    for acc in (*phases.values(), total):
        acc["cost_usd"] = round(acc["cost_usd"], 6)
        acc["duration_s"] = round(acc["duration_s"], 3)
    return {"phases": phases, "total": total}


def snapshot_records(change_dir: Path) -> dict[Path, bytes | None]:
    """The bytes of the change's state and history, to put back if an agent touches them."""
    out: dict[Path, bytes | None] = {}
    for name in (STATE_FILE, HISTORY_FILE):
        p = change_dir / STATE_DIR / name
        out[p] = p.read_bytes() if p.is_file() else None
    return out


def restore_records(change_dir: Path, before: dict[Path, bytes | None]) -> list[dict[str, Any]]:
    """Put specflow's records back as they were; one violation per file the agent changed."""
    violations = []
    for p, data in before.items():
        now = p.read_bytes() if p.is_file() else None
        if now == data:
            continue
        if data is None:
            p.unlink(missing_ok=True)
        else:
            atomic_write(p, data.decode("utf-8"))
        violations.append(
            {
                "workspace": "hub",
                "path": str(p),
                "kind": "modified" if data is not None else "added",
                "detail": "specflow's own record; agents may never write it",
            }
        )
    return violations
