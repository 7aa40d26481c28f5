"""The hub's machine-local folders: ``.specflow/`` (worktrees, caches) and the records folder.

``.specflow/`` is never committed: the first time specflow writes there, ``/.specflow/`` is added to
the repository's ``.git/info/exclude`` (never to the user's ``.gitignore``).

specflow's machine-local records (locks, journal, checkpoint records and seed indexes, gate files,
event logs, setup and test logs, transcripts) live in ``records_dir``: ``<git-common-dir>/specflow/``
of the hub's repository.  Every sandbox layer keeps git's folder read-only for the agent, so an
agent cannot forge what the audit and the lock read.  Records an older specflow left under
``.specflow/`` are moved there once, and a note in ``.specflow/`` says where they went.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

from specflow import digests
from specflow.errors import SetupError
from specflow.workspace.git import find_git_dirs

LOCAL_DIR = ".specflow"
_EXCLUDE = f"/{LOCAL_DIR}/"
RECORDS_NAME = "specflow"
#: The parts of ``.specflow/`` that are records (moved to ``records_dir``); the rest stays.
RECORD_PARTS = ("locks", "journal", "workspaces", "logs", "events", "transcripts")
MOVED_NOTE = "RECORDS-MOVED.txt"

_FOUND: dict[str, Path] = {}


def ensure(hub_root: Path) -> Path:
    """Create ``<hub>/.specflow`` and keep it out of git status; return it."""
    local = hub_root / LOCAL_DIR
    if local.is_dir():
        return local
    local.mkdir(parents=True, exist_ok=True)
    git_dir = hub_root / ".git"
    if git_dir.is_dir():
        exclude = git_dir / "info" / "exclude"
        try:
            text = exclude.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        if _EXCLUDE not in text.splitlines():
            exclude.parent.mkdir(parents=True, exist_ok=True)
            sep = "" if not text or text.endswith("\n") else "\n"
            with exclude.open("a", encoding="utf-8") as fh:
                fh.write(f"{sep}# specflow: machine-local state\n{_EXCLUDE}\n")
    return local


def _repo_common_dir(hub_root: Path) -> tuple[Path, Path] | None:
    """``(top, common_dir)`` of the repository holding the hub, read without git; None outside one."""
    here = Path(os.path.realpath(hub_root))
    for top in (here, *here.parents):
        dirs = find_git_dirs(top)
        if dirs is not None:
            return top, dirs[1]
        if (top / ".git").exists():
            return None
    return None


def records_dir(hub_root: Path) -> Path:
    """The hub's records folder, ``<git-common-dir>/specflow`` (created, old records moved in).

    A hub below its repository's top gets a folder of its own in there; a hub in no repository
    keeps its records in ``<hub>/.specflow`` (nothing there is sandboxed anyway).
    """
    key = os.path.abspath(hub_root)
    found = _FOUND.get(key)
    if found is not None and found.is_dir():
        return found
    located = _repo_common_dir(hub_root)
    if located is None:
        return hub_root / LOCAL_DIR
    top, common = located
    folder = common / RECORDS_NAME
    real_hub = Path(os.path.realpath(hub_root))
    if real_hub != top:
        rel = real_hub.relative_to(top).as_posix()
        folder = folder / f"hub-{digests.sha256(rel.encode()).hexdigest()[:16]}"
    if not folder.is_dir():
        _move_old_records(hub_root / LOCAL_DIR, folder)
    _FOUND[key] = folder
    return folder


def _move_old_records(old: Path, new: Path) -> None:
    """Move the records an older specflow kept in ``old`` into ``new``, once, leaving a note.

    Each part is renamed; where git's folder is on another filesystem (``--separate-git-dir``)
    it is copied, and the original removed only once the copy is in place under its final name:
    a crash between the two leaves both, never neither.
    """
    staging = new.with_name(f"{new.name}.{os.getpid()}.new")
    renamed: list[str] = []
    copied: list[str] = []
    try:
        staging.mkdir(parents=True, exist_ok=True)
        for part in RECORD_PARTS:
            if not os.path.lexists(old / part):  # across filesystems, rename says EXDEV even then
                continue
            try:
                os.rename(old / part, staging / part)
                renamed.append(part)
            except FileNotFoundError:  # another process moved it just now
                continue
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                shutil.copytree(old / part, staging / part, symlinks=True)
                copied.append(part)
        os.rename(staging, new)
    except OSError as exc:
        # another process made it first (or a copy failed): what was renamed goes back, or into
        # the folder that won; copies are dropped, their originals are still in place
        home = new if new.is_dir() else old
        stranded = []
        for part in renamed:
            try:
                os.rename(staging / part, home / part)
            except OSError:
                stranded.append(part)
        for part in RECORD_PARTS:
            if part not in renamed:  # a copy, whole or part way: its original is in place
                shutil.rmtree(staging / part, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.rmdir()  # kept, with what it holds, should a renamed part not go back
        if not new.is_dir():
            where = f"the records are still in {old}"
            if stranded:
                where += f", but for {', '.join(stranded)}, in {staging}"
            raise SetupError(
                f"could not move specflow's records from {old} to {new}: {exc.strerror or exc}",
                fix=f"make room or allow writing in {new.parent}, then run again; {where}",
            ) from exc
        return
    if copied:
        os.sync()  # the copies are on disk before their originals go
    for part in copied:
        shutil.rmtree(old / part, ignore_errors=True)
    moved = renamed + copied
    if moved:
        note = (
            f"specflow moved its machine-local records ({', '.join(p for p in RECORD_PARTS if p in moved)})"
            f" from this folder to\n{new}\nwhere no agent can write them. Worktrees and caches stay here.\n"
        )
        with contextlib.suppress(OSError):
            (old / MOVED_NOTE).write_text(note, encoding="utf-8")
