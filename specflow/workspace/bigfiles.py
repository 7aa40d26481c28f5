"""Big tracked files in a snapshot: read once, hashed and stored by specflow itself.

git hashes with SHA-1DC (collision-detecting, a few hundred MB/s) and, storing a big file,
hashes it twice (the object, then the pack it streams into or the loose object's own check):
a changed 256 MiB file cost 1.5 s per snapshot on an idle machine, over 2 s under load.  Here a
changed tracked file of ``BIG_FILE`` bytes or more is read once: hashed (OpenSSL's SHA-1 gives
the same object name) while it is written as a loose object stored without compression (zlib
level 0: each version costs the file's size in ``.git/objects``).  Its entry is then set in
the snapshot index and left out of git's ``add``.

What was hashed is kept beside the seed index (``<key>.big``: stat data and blob), so a big
file whose stat data is unchanged is not read again.  A file changed too recently to be sure
its stat data would show a later write (its ctime within ``SETTLED_NS`` of the read) is not
kept, and is read again next time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specflow.workspace import looseobjects

#: Tracked files of this size or more are hashed and stored here (git's own big-file threshold
#: for streaming is set to the same size).
BIG_FILE = 32 * 1024 * 1024
#: A file whose ctime is this close to the moment it was read is hashed again next time.
SETTLED_NS = 100_000_000
_CHUNK = 1 << 20


@dataclass(frozen=True)
class BigEntry:
    """One big file as a snapshot index holds it: mode and blob, and the stat data it was hashed at."""

    path: str
    mode: str
    sha: str
    stamp: tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
    settled: bool


def stamp_of(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def big_entries(root: Path, common_dir: Path, stats: dict[bytes, bytes], known: dict[str, BigEntry]) -> list[BigEntry]:
    """The big files among an index's entries (``stats``: its stat data), each hashed and stored.

    Only entries the index records at ``BIG_FILE`` bytes or more, or that ``known`` names, are
    looked at (one ``lstat`` each); one whose stat data equals what ``known`` hashed (settled)
    is not read again.  A file that changes while it is read is left to git.
    """
    found: list[BigEntry] = []
    named = {p.encode("utf-8", "surrogateescape") for p in known}
    for raw, data in stats.items():
        if int.from_bytes(data[36:40], "big") < BIG_FILE and raw not in named:
            continue
        path = raw.decode("utf-8", "surrogateescape")
        loc = root / path
        try:
            st = loc.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size < BIG_FILE:
            continue
        mode = "100755" if st.st_mode & 0o100 else "100644"
        old = known.get(path)
        if old is not None and old.settled and old.stamp == stamp_of(st) and old.mode == mode:
            found.append(old)
            continue
        entry = _store(loc, path, mode, st, common_dir)
        if entry is not None:
            found.append(entry)
    return found


def _store(loc: Path, path: str, mode: str, st: os.stat_result, common_dir: Path) -> BigEntry | None:
    """Hash ``loc`` and write it as a loose blob in one read; None when it changed meanwhile."""
    started = time.time_ns()
    header = b"blob %d\0" % st.st_size
    digest = hashlib.sha1(header, usedforsecurity=False)
    pack = zlib.compressobj(0)
    folder = common_dir / "objects"
    tmp = folder / f"tmp_obj_specflow_{os.getpid()}_{time.monotonic_ns()}"
    read = 0
    try:
        with open(loc, "rb") as src, open(tmp, "xb") as out:
            out.write(pack.compress(header))
            while chunk := src.read(_CHUNK):
                read += len(chunk)
                digest.update(chunk)
                out.write(pack.compress(chunk))
            out.write(pack.flush())
        after = loc.lstat()
        if read != st.st_size or stamp_of(after) != stamp_of(st):
            return None
        sha = digest.hexdigest()
        if not looseobjects.has_object(common_dir, sha):
            (folder / sha[:2]).mkdir(exist_ok=True)
            os.chmod(tmp, 0o444)
            with contextlib.suppress(FileExistsError):  # another process stored the same bytes
                os.link(tmp, folder / sha[:2] / sha[2:])
    except OSError:
        return None
    finally:
        tmp.unlink(missing_ok=True)
    return BigEntry(path, mode, sha, stamp_of(st), st.st_ctime_ns < started - SETTLED_NS)


def read_known(path: Path) -> dict[str, BigEntry]:
    """The big files a snapshot hashed, as ``write_known`` kept them (none when unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            str(p): BigEntry(str(p), str(v[0]), str(v[1]), (int(v[2]), int(v[3]), int(v[4]), int(v[5])), bool(v[6]))
            for p, v in data.items()
        }
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        return {}


def write_known(path: Path, entries: list[BigEntry]) -> None:
    """Keep ``entries`` beside the seed index, for the next snapshot (only the settled are trusted)."""
    data: dict[str, Any] = {e.path: [e.mode, e.sha, *e.stamp, e.settled] for e in entries}
    if not data:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)
