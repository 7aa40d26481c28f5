"""What a checkpoint records of files beyond git's snapshot, read from stat data without hashing.

- which files were touched between two snapshot indexes (``touched_since``: their ctimes);
- the files whose permission bits are not git's usual ones (``unusual_perm``);
- the ignored files, watched by stat data, their bytes kept up to a budget (``keep_ignored``);
- the folders of a workspace that hold a ``.git`` of their own (``nested_git_dirs``).

The audit's checks of them are in ``specflow.workspace.fileaudit``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from specflow.workspace.git import GitRepo
from specflow.workspace.indexfile import differing_entries, file_mode, stamp_ns

#: An ignored file larger than this is watched, not kept (its bytes are not written as a blob).
IGNORED_FILE_MAX = 4 * 1024 * 1024
#: At most this many bytes of ignored files are hashed in one checkpoint of one workspace.
IGNORED_BUDGET = 64 * 1024 * 1024
#: The blob of an ignored file whose bytes were not kept.
NOT_KEPT = "-"


class WorkingTree(Protocol):
    """What these functions read of a checkpoint's ``Workspace``: where it is, its repository, and
    which of its paths belong elsewhere."""

    @property
    def path(self) -> Path: ...

    @property
    def repo(self) -> GitRepo: ...

    def ignored(self, rel: str) -> bool: ...


def touched_since(ws: WorkingTree, before: Path, after: Path, stat_second: int) -> set[str]:
    """Files of ``ws`` touched between two of its snapshot indexes (``after`` taken just now).

    A snapshot refreshes the stat data of every entry git sees changed, so entries whose ctime
    differs (or that came or went) were touched.  git compares ctimes to the second only, so an
    entry of ``before`` whose ctime falls in or after ``stat_second`` (the second its snapshot
    began) is also compared with the file itself, to the nanosecond: a ``chmod`` right after
    the checkpoint is seen too.  No hashing, no scan of the working tree.
    """
    return touched_between(ws, ws.repo.index_ctimes(before), ws.repo.index_ctimes(after), stat_second)


def touched_between(ws: WorkingTree, old: dict[bytes, bytes], new: dict[bytes, bytes], stat_second: int) -> set[str]:
    """``touched_since`` for two indexes parsed already (``GitRepo.index_ctimes``)."""
    raw = set(differing_entries(old, new))
    cut = stat_second.to_bytes(4, "big") + b"\0\0\0\0"  # stamps compare as bytes: seconds first
    for rel in [rel for rel, stamp in old.items() if stamp >= cut and rel not in raw]:
        try:
            changed = (ws.path / os.fsdecode(rel)).lstat().st_ctime_ns != stamp_ns(old[rel])
        except OSError:
            changed = True
        if changed:
            raw.add(rel)
    return {rel.decode("utf-8", "surrogateescape") for rel in raw}


def nested_git_dirs(ws: WorkingTree, snap_index: Path, looked: Mapping[bytes, bool] | None = None) -> set[str]:
    """The folders of ``ws``'s files (as ``snap_index`` lists them) that hold a ``.git`` of their own.

    git never reports a ``.git`` made inside a folder whose files it already tracks (it skips
    the name), so the audit looks for one there: one ``lstat`` per folder, no scan of files.
    ``looked``: folders already looked at (``holding_git``, while the snapshot ran) and what was
    found; only the others are looked at now.
    """
    folders = ws.repo.index_folders(snap_index)
    now = holding_git(ws.path, [f for f in folders if looked is None or f not in looked])
    found = {f for f, held in now.items() if held}
    if looked is not None:
        found.update(f for f, held in looked.items() if held and f in folders)
    return {name for name in (f.decode("utf-8", "surrogateescape") for f in found) if not ws.ignored(name)}


def holding_git(top_path: Path, folders: Iterable[bytes]) -> dict[bytes, bool]:
    """Which of ``folders`` (relative to ``top_path``, as bytes) hold a ``.git``: every one looked at,
    True where one is.  System calls only, no ``Path`` built: the snapshot runs it while its
    ``git add`` scans the same tree (``GitRepo.snapshot``'s ``beside``)."""
    access, exists = os.access, os.F_OK
    looked: dict[bytes, bool] = {}
    try:
        top = os.open(top_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return looked  # no working tree: no folder of it holds anything
    try:
        for raw in folders:
            # bytes relative to the top, no Path objects, no exception for the missing: thousands of folders
            looked[raw] = access(raw + b"/.git", exists, dir_fd=top, follow_symlinks=False)
    finally:
        os.close(top)
    return looked


def usual_perm(st_mode: int, umask: int) -> int:
    """The permission bits git gives a file it writes: 0777 or 0666 (executable or not) less ``umask``."""
    return (0o777 if st_mode & 0o100 else 0o666) & ~umask


def unusual_perm(path: Path, umask: int) -> int | None:
    """``path``'s permission bits when they are not git's usual ones (None for those, links, the gone)."""
    try:
        st = path.lstat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    perm = st.st_mode & 0o7777
    return None if perm == usual_perm(st.st_mode, umask) else perm


def keep_ignored(fresh: Sequence[str], sizes: Sequence[int]) -> list[str]:
    """Which of the ``fresh`` ignored files (with ``sizes``) get their bytes kept: the small ones,
    up to ``IGNORED_BUDGET`` bytes in all."""
    kept, budget = [], IGNORED_BUDGET
    for rel, size in zip(fresh, sizes, strict=True):
        if size <= IGNORED_FILE_MAX and size <= budget:
            kept.append(rel)
            budget -= size
    return kept


def git_mode(loc: Path) -> str:
    """The mode git would record for the regular file ``loc``: executable or not."""
    return f"{file_mode(loc.stat()):o}"
