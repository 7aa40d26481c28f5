"""Big tracked files in a snapshot: read once, hashed and stored by specflow itself.

git hashes with SHA-1DC (collision-detecting, a few hundred MB/s) and, storing a big file,
hashes it twice (the object, then the pack it streams into): a changed 256 MiB file cost 1.5 s
per snapshot on an idle machine, over 2 s under load.  Here a changed tracked file of
``BIG_FILE`` bytes or more is read once: hashed (OpenSSL's SHA-1 gives the same object name)
while it is written as a pack of that one blob, stored without compression (zlib level 0), as
git's own big-file path stores it: each version costs the file's size in ``.git/objects``, and
a later ``git gc`` takes the stored data over as it is.  Its entry is then set in the snapshot
index and left out of git's ``add``.

What was hashed is kept beside the seed index (``<key>.big``: stat data and blob), so a big
file whose stat data is unchanged is not read again.  A file changed too recently to be sure
its stat data would show a later write (its ctime within ``SETTLED_NS`` of the read, or within
``WHOLE_SECONDS_NS`` on a filesystem that keeps whole seconds) is not kept, and is read again
next time.  A commit of the working tree stages the kept ones as they are (``unchanged``).
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from specflow import digests
from specflow.structs import Struct, field
from specflow.workspace.indexfile import file_mode

#: Tracked files of this size or more are hashed and stored here (git's own big-file threshold
#: for streaming is set to the same size).
BIG_FILE = 32 * 1024 * 1024
#: A file whose ctime is this close to the moment it was read is hashed again next time.
SETTLED_NS = 100_000_000
#: The same, for a ctime of whole seconds (a filesystem that keeps no finer times, such as ext4
#: with small inodes): a later write in that second, or the next, could leave it as it was.
WHOLE_SECONDS_NS = 2_000_000_000
#: A changed big file not settled yet is read once it is, if that is at most this far away.
SETTLE_WAIT_NS = SETTLED_NS
_CHUNK = 1 << 20


class BigEntry(Struct, frozen=True):
    """One big file as a snapshot index holds it: mode and blob, and the stat data it was hashed at."""

    path: str
    mode: str
    sha: str
    stamp: tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
    settled: bool


def stamp_of(st: os.stat_result) -> tuple[int, int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


#: The last answer of ``recorded_big``, with the parse it read (its identity is the key).
_RECORDED: dict[str, tuple[dict[bytes, bytes], bytes, list[bytes]]] = {}


def recorded_big(stats: dict[bytes, bytes]) -> list[bytes]:
    """The paths whose entry in ``stats`` (an index's stat data) records ``BIG_FILE`` bytes or more.

    Every entry's stat data has the same width, so the first bytes of all their size fields are
    one slice of them joined, read in C: only the entries whose first byte could make the size
    that big (almost always none) are compared whole.
    """
    big = BIG_FILE.to_bytes(4, "big")  # the size field, 4 bytes big-endian, compares as bytes
    kept = _RECORDED.get("last")
    if kept is not None and kept[0] is stats and kept[1] == big:
        return list(kept[2])  # the audit asks of the parse its checkpoint asked of (never changed after)
    lead = big[0]
    if not stats or not lead:
        found = [raw for raw, data in stats.items() if data[36:40] >= big]
    else:
        width = len(next(iter(stats.values())))
        firsts = b"".join(stats.values())[36::width]
        hits = [m.start() for m in re.finditer(b"[\\x%02x-\\xff]" % lead, firsts)]
        paths = list(stats) if hits else []
        found = [paths[i] for i in hits if stats[paths[i]][36:40] >= big]
    _RECORDED["last"] = (stats, big, found)
    return list(found)


def big_entries(
    root: Path,
    common_dir: Path,
    stats: dict[bytes, bytes],
    known: dict[str, BigEntry],
    exists: Callable[[str], bool],
) -> list[BigEntry]:
    """The big files among an index's entries (``stats``: its stat data), each hashed and stored.

    Only entries the index records at ``BIG_FILE`` bytes or more, or that ``known`` names, are
    looked at (one ``lstat`` each); one whose stat data equals what ``known`` hashed (settled)
    is not read again.  A file that changes while it is read is left to git.
    """
    found: list[BigEntry] = []
    candidates = recorded_big(stats)
    named = {raw for raw in (p.encode("utf-8", "surrogateescape") for p in known) if raw in stats}
    for raw in candidates + sorted(named.difference(candidates)):
        path = raw.decode("utf-8", "surrogateescape")
        loc = root / path
        try:
            st = loc.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size < BIG_FILE:
            continue
        old = known.get(path)
        if old is not None and _as_hashed(old, st):
            found.append(old)
            continue
        entry = _store(loc, path, st, common_dir, exists)
        if entry is not None:
            found.append(entry)
    return found


def unchanged(root: Path, known: dict[str, BigEntry]) -> list[tuple[BigEntry, os.stat_result]]:
    """The big files of ``known`` (what a snapshot hashed) that are still exactly as hashed and
    settled, with their stat data now: their blob is the file's content, which need not be read
    again."""
    found: list[tuple[BigEntry, os.stat_result]] = []
    for path, entry in sorted(known.items()):
        try:
            st = (root / path).lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and _as_hashed(entry, st):
            found.append((entry, st))
    return found


def _as_hashed(entry: BigEntry, st: os.stat_result) -> bool:
    """True when ``st`` is the stat data ``entry`` was hashed at, and a later write would show in it."""
    return entry.settled and entry.stamp == stamp_of(st) and entry.mode == _mode(st)


def _mode(st: os.stat_result) -> str:
    return f"{file_mode(st):o}"


def _store(
    loc: Path, path: str, st: os.stat_result, common_dir: Path, exists: Callable[[str], bool]
) -> BigEntry | None:
    """Hash ``loc`` and write it as a pack of that one blob in one read; None when it changed meanwhile.

    ``exists``: whether the repository holds a blob already (then the pack is dropped).  A file
    written moments ago (as an agent's last act) is read once it is settled, when that is at most
    ``SETTLE_WAIT_NS`` away: the one read then serves the commit and the next snapshot too.
    """
    folder = common_dir / "objects" / "pack"
    tmp = folder / f"tmp_pack_specflow_{os.getpid()}_{time.monotonic_ns()}"
    try:
        wait = st.st_ctime_ns + _margin(st.st_ctime_ns) + 1 - time.time_ns()
        if 0 < wait <= SETTLE_WAIT_NS:
            time.sleep(wait / 1e9)
            st = loc.lstat()
            if not stat.S_ISREG(st.st_mode):  # replaced meanwhile: git's add takes it as it is now
                return None
        started = time.time_ns()
        mode = _mode(st)
        writer = _PackWriter(digests.bulk_sha1(b"blob %d\0" % st.st_size))
        folder.mkdir(parents=True, exist_ok=True)
        with open(loc, "rb") as src, open(tmp, "xb") as out:
            trailer = writer.write(src, out, st.st_size)
        if writer.read != st.st_size or stamp_of(loc.lstat()) != stamp_of(st):
            return None
        sha = writer.blob.hexdigest()
        if not exists(sha):
            name = folder / f"pack-{trailer.hex()}"
            os.chmod(tmp, 0o444)
            os.replace(tmp, name.with_name(name.name + ".pack"))
            _write_index(name.with_name(name.name + ".idx"), bytes.fromhex(sha), writer.crc, trailer)
    except OSError:
        return None
    finally:
        tmp.unlink(missing_ok=True)
    return BigEntry(path, mode, sha, stamp_of(st), settled(st.st_ctime_ns, started))


def settled(ctime_ns: int, read_at_ns: int) -> bool:
    """True when a file whose ctime is ``ctime_ns``, read from ``read_at_ns`` on, would show any
    later write in its stat data: its ctime lies further back than the clock's steps could blur."""
    return ctime_ns < read_at_ns - _margin(ctime_ns)


def _margin(ctime_ns: int) -> int:
    return SETTLED_NS if ctime_ns % 1_000_000_000 else max(SETTLED_NS, WHOLE_SECONDS_NS)


class _PackWriter(Struct):
    """A pack of one blob, stored (zlib level 0), written as the file is read: the blob's name, the
    pack's checksum and the object's CRC are all computed in that one pass."""

    blob: digests.Hasher  # the blob's SHA-1 (its object name)
    pack: digests.Hasher = field(default_factory=digests.bulk_sha1)
    crc: int = 0
    read: int = 0

    def write(self, src: BinaryIO, out: BinaryIO, size: int) -> bytes:
        """Copy ``src`` into ``out`` as a pack; its trailing checksum."""
        self._put(out, b"PACK" + (2).to_bytes(4, "big") + (1).to_bytes(4, "big"), in_object=False)
        self._put(out, _object_header(3, size))  # 3: a blob
        deflate = zlib.compressobj(0)
        while chunk := src.read(_CHUNK):
            self.read += len(chunk)
            self.blob.update(chunk)
            self._put(out, deflate.compress(chunk))
        self._put(out, deflate.flush())
        trailer: bytes = self.pack.digest()
        out.write(trailer)
        return trailer

    def _put(self, out: BinaryIO, data: bytes, *, in_object: bool = True) -> None:
        self.pack.update(data)
        if in_object:
            self.crc = zlib.crc32(data, self.crc)
        out.write(data)


def _object_header(kind: int, size: int) -> bytes:
    """A packed object's header: its type and size, seven bits a byte after the first four."""
    out = bytearray()
    byte, size = (kind << 4) | (size & 0x0F), size >> 4
    while size:
        out.append(byte | 0x80)
        byte, size = size & 0x7F, size >> 7
    out.append(byte)
    return bytes(out)


def _write_index(path: Path, sha: bytes, crc: int, pack_checksum: bytes) -> None:
    """The version 2 index of a pack holding the one object ``sha`` at offset 12."""
    fanout = b"".join((0 if i < sha[0] else 1).to_bytes(4, "big") for i in range(256))
    body = b"\xfftOc" + (2).to_bytes(4, "big") + fanout + sha + crc.to_bytes(4, "big") + (12).to_bytes(4, "big")
    body += pack_checksum
    body += digests.sha1(body).digest()
    tmp = path.with_name(f"tmp_idx_specflow_{os.getpid()}")
    tmp.write_bytes(body)
    os.chmod(tmp, 0o444)
    os.replace(tmp, path)


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
