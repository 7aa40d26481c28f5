"""The engine's own writes, journaled so parallel changes' audits don't blame their agents.

Two changes of one hub may run at once.  While change A's agent works, change B's engine may
write B's record file or, when archiving, merge specs and move B's folder.  A's audit sees
those writes in the hub; this journal lets it tell them apart: an out-of-gate difference whose
path and resulting content match a write journaled by another change's engine since A's
checkpoint is not A's agent's doing.  The journal lives in the hub's records folder
(``journal/``), where no agent can write.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from specflow import digests
from specflow.errors import LockedError
from specflow.localdir import records_dir
from specflow.oslock import FileLock, LockTimeout

LOCK_DIR = "locks"

JOURNAL_DIR = "journal"
_KEEP_S = 24 * 3600.0


def content_hash(path: Path) -> str | None:
    """sha256 of a file's bytes (a symlink's target text), or None if it does not exist."""
    try:
        if path.is_symlink():
            return digests.sha256(b"link:" + os.readlink(path).encode()).hexdigest()
        return digests.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def snapshot(root: Path, base: Path) -> dict[str, str]:
    """Hash of every file under ``root``, keyed by path relative to ``base``."""
    out: dict[str, str] = {}
    if not root.is_dir():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            p = Path(dirpath) / name
            h = content_hash(p)
            if h is not None:
                out[p.relative_to(base).as_posix()] = h
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> dict[str, str | None]:
    """Paths whose content differs between two snapshots (None: deleted)."""
    diff: dict[str, str | None] = {}
    for rel, h in after.items():
        if before.get(rel) != h:
            diff[rel] = h
    for rel in before:
        if rel not in after:
            diff[rel] = None
    return diff


def record(hub_root: Path, change_id: str, writes: dict[str, str | None]) -> None:
    """Journal that ``change_id``'s engine left each hub-relative path with this content hash."""
    if not writes:
        return
    path = records_dir(hub_root) / JOURNAL_DIR / f"{change_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    lines = "".join(json.dumps({"path": p, "sha256": h, "at": now}) + "\n" for p, h in writes.items())
    with path.open("a", encoding="utf-8") as fh:
        fh.write(lines)


def ref_key(common_dir: Path, branch: str) -> str:
    """The journal key of a branch tip: ``ref:<repository's common git dir>:refs/heads/<branch>``."""
    name = branch if branch.startswith("refs/") else f"refs/heads/{branch}"
    return f"ref:{common_dir}:{name}"


def record_files(hub_root: Path, change_id: str, files: Iterable[Path]) -> None:
    """Journal the current content of ``files`` (absolute paths inside the hub)."""
    writes: dict[str, str | None] = {}
    for f in files:
        try:
            rel = f.relative_to(hub_root).as_posix()
        except ValueError:
            continue
        writes[rel] = content_hash(f)
    record(hub_root, change_id, writes)


def foreign_writes(hub_root: Path, change_id: str, since: float) -> dict[str, set[str | None]]:
    """Writes journaled by other changes' engines since ``since``: path -> content hashes."""
    out: dict[str, set[str | None]] = {}
    folder = records_dir(hub_root) / JOURNAL_DIR
    if not folder.is_dir():
        return out
    now = time.time()
    for f in folder.glob("*.jsonl"):
        if f.stem == change_id:
            continue
        try:
            if now - f.stat().st_mtime > _KEEP_S:
                f.unlink(missing_ok=True)
                continue
            text = f.read_text(encoding="utf-8")
        except OSError:
            continue
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if float(entry.get("at", 0)) >= since:
                out.setdefault(str(entry["path"]), set()).add(entry.get("sha256"))
    return out


HUB_WRITES_WAIT_S = 300.0


@contextlib.contextmanager
def hub_writes(hub_root: Path) -> Iterator[None]:
    """Serialise the engine's own hub writes with other changes' audits.

    An engine that writes in the hub (a record file, an archive, a merge) holds this lock from
    before its first write until the write is journaled; an audit holds it while it compares
    and puts back.  So an audit never sees another engine's write half done (a temporary file,
    a renamed file not yet journaled) and takes it for its own agent's.  Re-entrant in one
    thread; the kernel releases it if the holder dies.
    """
    folder = records_dir(hub_root) / LOCK_DIR
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / "hub-writes.lock", reentrant=True)
    try:
        lock.acquire(HUB_WRITES_WAIT_S)
    except LockTimeout:
        raise LockedError(
            f"the hub's write lock {folder / 'hub-writes.lock'} was held for {HUB_WRITES_WAIT_S:.0f} s",
            fix="another specflow process is stuck writing in the hub; stop it and try again",
        ) from None
    try:
        yield
    finally:
        lock.release()
