"""An index file read in-process: each entry's stat data, object and flags by path, and what is kept
of it.

A parse is kept by the index's checksum (its last bytes name its whole content): in this process,
where a checkpoint's snapshot index is read again by its audit, and beside a snapshot index
(``kept_parse_path``) for the next process to load instead of reading every entry.  Beside the
parses: the folders an index holds, the paths two parses disagree on, and entries smudged in place
so the next ``add`` hashes their files again.  ``indexdelta`` reads the bytes; ``GitRepo`` reads
its indexes through this module, which starts no process.
"""

from __future__ import annotations

import bisect
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from specflow import digests
from specflow.workspace import indexdelta


def parse_index_ctimes(data: bytes, hash_len: int = 20) -> dict[bytes, bytes]:
    """``path -> stat data`` of every entry of an index file: 40 raw bytes, its ctime first
    (seconds, nanoseconds), then mtime, device, inode, mode, uid, gid and size, 4 bytes each;
    then the entry's object id and its flags (stage, name length), as the index holds them.

    Versions 2 to 4; paths and stamps are left as bytes (``stamp_ns`` reads one), so two
    indexes of 20,000 entries compare in a few tens of milliseconds.
    """
    return parse_index(data, hash_len)[0]


def parse_index(data: bytes, hash_len: int = 20) -> tuple[dict[bytes, bytes], int]:
    """``parse_index_ctimes``, and where the index's extensions begin (0: not an index read here)."""
    found, end, _ = indexdelta.parse(data, hash_len)
    return found, end


def _entry_offsets(data: bytes, hash_len: int) -> Iterable[tuple[bytes, int]]:
    """``(path, offset)`` of each entry of an index file (versions 2 to 4), in order.

    The walk of ``indexdelta.parse``, kept apart: that one is the hot loop and stays inline.
    """
    version, count = int.from_bytes(data[4:8], "big"), int.from_bytes(data[8:12], "big")
    off, prev, fixed = 12, b"", 40 + hash_len
    for _ in range(count):
        pos = off + fixed + 2
        if version >= 3 and data[off + fixed] & 0x40:
            pos += 2
        if version == 4:
            strip, pos = indexdelta.path_strip(data, pos)
            end = data.find(b"\0", pos)
            path = (prev[: len(prev) - strip] if strip else prev) + data[pos:end]
            yield path, off
            off = end + 1
        else:
            end = data.find(b"\0", pos)
            path = data[pos:end]
            yield path, off
            off += ((end - off) // 8 + 1) * 8
        prev = path


def _offsets_of(data: bytes, wanted: set[bytes], hash_len: int) -> list[int]:
    """Where the entries of the ``wanted`` paths begin in the index ``data``.

    An index parsed in this process has its layout kept (``_LAYOUTS``): its paths are in git's
    order, sorted, so each is found by bisection; any other is walked entry by entry.
    """
    layout = _LAYOUTS.get(data[-hash_len:]) if any(data[-hash_len:]) else None
    if layout is None or layout.data != data:
        return [off for path, off in _entry_offsets(data, hash_len) if path in wanted]
    keys, found = layout.keys, []
    for path in wanted:
        at = bisect.bisect_left(keys, path)
        if at < len(keys) and keys[at] == path:
            found.append(layout.offsets[at])
    return sorted(found)


def _readable(raw: bytes, hash_len: int) -> bool:
    """True when ``raw`` is an index file this module reads (versions 2 to 4)."""
    return len(raw) >= 12 + hash_len and raw[:4] == b"DIRC" and int.from_bytes(raw[4:8], "big") in (2, 3, 4)


def _smudge(data: bytearray, off: int) -> None:
    """Zero the recorded mtime and size of the entry at ``off``: git then reads its file."""
    data[off + 8 : off + 16] = bytes(8)  # mtime, seconds and nanoseconds
    data[off + 36 : off + 40] = bytes(4)  # size: git takes a zero size for "changed"


def _seal(data: bytearray, hash_len: int) -> None:
    """Write the index's trailing checksum over what ``data`` now holds."""
    digest = digests.sha256 if hash_len == 32 else digests.sha1
    data[-hash_len:] = digest(bytes(data[:-hash_len])).digest()


def smudge_entries(index: Path, paths: Iterable[str], hash_len: int = 20) -> bool:
    """Zero the recorded mtime and size of ``paths`` in ``index`` (as git smudges a racily clean
    entry), so the next ``add`` hashes those files again; the file keeps its length and mtime.

    Done in place, without an ``update-index`` process; False (nothing written) when the file
    is not an index this reads, and the caller asks git instead.
    """
    raw = index.read_bytes()
    if not _readable(raw, hash_len):
        return False
    data = bytearray(raw)
    for off in _offsets_of(raw, {p.encode("utf-8", "surrogateescape") for p in paths}, hash_len):
        _smudge(data, off)
    _seal(data, hash_len)
    st = index.stat()
    tmp = index.with_name(index.name + ".smudge")
    tmp.write_bytes(data)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))  # git's racy check compares entries with it
    os.replace(tmp, index)
    return True


def differing_entries(before: dict[bytes, bytes], after: dict[bytes, bytes]) -> frozenset[bytes]:
    """The paths whose entries differ between two parsed indexes (``parse_index_ctimes``), or
    that only one holds.

    Kept for the last pair asked (by the identity of the two parses): an audit asks the same
    of its checkpoint's snapshot index and its own three times (tree, changes, permissions).
    """
    if before is after:
        return frozenset()  # one index (a snapshot that changed nothing): no entry to compare
    kept = _DIFFERING.get("last")
    if kept is not None and kept[0] is before and kept[1] is after:
        return kept[2]
    get = before.get
    found = frozenset([rel for rel, data in after.items() if get(rel) != data] + list(before.keys() - after.keys()))
    _DIFFERING["last"] = (before, after, found)
    return found


def same_objects(before: dict[bytes, bytes], after: dict[bytes, bytes]) -> bool:
    """True when two parsed indexes (``parse_index_ctimes``) name the same paths with the same
    modes, objects and flags: ``write-tree`` writes the same tree from both, whatever their stat data.
    """
    if len(before) != len(after):
        return False
    return all(
        rel in before
        and rel in after
        and before[rel][24:28] == after[rel][24:28]
        and before[rel][40:] == after[rel][40:]
        for rel in differing_entries(before, after)
    )


def stamp_ns(stamp: bytes) -> int:
    """The ctime of stat data read by ``parse_index_ctimes``, in nanoseconds."""
    return int.from_bytes(stamp[:4], "big") * 1_000_000_000 + int.from_bytes(stamp[4:8], "big")


def looks_unchanged_to_git(stamp: bytes, st: os.stat_result) -> bool:
    """True when git, comparing to the second, would take the file for the entry of ``stamp``."""
    return (
        int.from_bytes(stamp[:4], "big") == int(st.st_ctime)
        and int.from_bytes(stamp[8:12], "big") == int(st.st_mtime)
        and int.from_bytes(stamp[36:40], "big") == st.st_size & 0xFFFFFFFF
    )


def tree_id(body: bytes) -> bytes:
    """The object id of a tree with ``body``, computed only (nothing is written)."""
    return digests.sha1(b"tree %d\0" % len(body) + body).digest()


def same_stat(entry: bytes, st: os.stat_result) -> bool:
    """True when an index entry (``parse_index``) records exactly the stat data of ``st``."""
    return (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)) and entry[:40] == stat_data(st)


def file_mode(st: os.stat_result) -> int:
    """The mode git records for a file of ``st``: a symlink, or a regular file executable or not."""
    return 0o120000 if stat.S_ISLNK(st.st_mode) else 0o100755 if st.st_mode & 0o100 else 0o100644


def stat_data(st: os.stat_result) -> bytes:
    """The 40 bytes of stat data git's ``add`` records for a file of ``st``."""
    return b"".join(
        (v & 0xFFFFFFFF).to_bytes(4, "big")
        for v in (
            *divmod(st.st_ctime_ns, 1_000_000_000),
            *divmod(st.st_mtime_ns, 1_000_000_000),
            st.st_dev,
            st.st_ino,
            file_mode(st),
            st.st_uid,
            st.st_gid,
            st.st_size,
        )
    )


def fill_stat(index: Path, stats: dict[str, tuple[os.stat_result, str]], hash_len: int = 20) -> bool:
    """Record in the entries of ``index`` for the paths of ``stats`` the stat data of their files,
    as git's ``add`` would have: for entries set with their objects alone (``update-index
    --index-info``), by a caller that knows each file's content is the object given with it
    (``path -> (stat, object id)``).  A later ``git status`` then takes those files for unchanged
    without reading them.

    Done in place under git's lock (``index.lock``), as git writes an index; False (nothing
    written) when the lock is held or the file is not an index this reads.  An entry holding
    another object than the one given (someone staged another version meanwhile), or whose mode
    is not the file's, is left as it is: its file is never made to look like its object.

    The index written now has a later time than the one read, which git compares every entry's
    mtime with: an entry recorded in that index's second (racily clean: its file may have changed
    since within that second, its size the same) would no longer look racy.  Each such entry is
    smudged, as git smudges one it writes without reading its file, so git reads it next time.
    """
    lock = index.with_name(index.name + ".lock")
    try:
        fh = open(lock, "xb")  # noqa: SIM115 - closed below, before the rename
    except FileExistsError:
        return False
    written = False
    try:
        with fh:
            racy_from = (index.stat().st_mtime_ns // 1_000_000_000).to_bytes(4, "big")
            raw = index.read_bytes()
            if not _readable(raw, hash_len):
                return False
            data = bytearray(raw)
            wanted = {p.encode("utf-8", "surrogateescape"): (st, bytes.fromhex(oid)) for p, (st, oid) in stats.items()}
            for path, off in _entry_offsets(raw, hash_len):
                if path in wanted:
                    st, oid = wanted[path]
                    new = stat_data(st)
                    if data[off + 24 : off + 28] == new[24:28] and data[off + 40 : off + 40 + hash_len] == oid:
                        data[off : off + 40] = new
                        continue
                if data[off + 8 : off + 12] >= racy_from:  # big-endian seconds compare as bytes
                    _smudge(data, off)
            _seal(data, hash_len)
            fh.write(data)
        os.replace(lock, index)
        written = True
        return True
    finally:
        if not written:  # once renamed, the lock's name may be another writer's
            lock.unlink(missing_ok=True)


#: Parsed index files by their trailing checksum: a checkpoint's snapshot index is read again by
#: its audit in the same process.
_PARSED: dict[bytes, tuple[dict[bytes, bytes], int]] = {}
#: The folders of a parsed index, by the identity of its parse (kept with it, so the key stays valid).
_FOLDERS: dict[int, tuple[dict[bytes, bytes], frozenset[bytes]]] = {}
#: The last two parses compared by ``differing_entries`` (kept with them: their identity is the key).
_DIFFERING: dict[str, tuple[dict[bytes, bytes], dict[bytes, bytes], frozenset[bytes]]] = {}
#: Where the entries of the latest parsed version 4 indexes lie, by checksum: the next index
#: ``add`` writes from one of them is derived from it (``indexdelta.derive``).
_LAYOUTS: dict[bytes, indexdelta.Layout] = {}


def forget_parsed_indexes() -> None:
    """Drop every index parse kept in this process, as a new process starts without them
    (benchmarks time a checkpoint as ``specflow advance`` takes it: in a fresh process)."""
    _PARSED.clear()
    _FOLDERS.clear()
    _DIFFERING.clear()
    _LAYOUTS.clear()


def keep_parse(checksum: bytes, found: tuple[dict[bytes, bytes], int], layout: indexdelta.Layout | None = None) -> None:
    """Keep a parse by the checksum of its index (the eight latest), and its layout (the three latest).

    A parse goes with its layout: a derived one holds its new paths out of the index's order,
    which only its layout keeps (``indextrees`` walks the entries in that order).
    """
    if len(_PARSED) >= 8:
        oldest = next(iter(_PARSED))
        del _PARSED[oldest]
        _LAYOUTS.pop(oldest, None)
    _PARSED[checksum] = found
    _LAYOUTS.pop(checksum, None)
    if layout is not None:
        if len(_LAYOUTS) >= 3:
            oldest = next(iter(_LAYOUTS))
            del _LAYOUTS[oldest]
            _PARSED.pop(oldest, None)
        _LAYOUTS[checksum] = layout


def _keep_folders(entries: dict[bytes, bytes], held: frozenset[bytes]) -> tuple[dict[bytes, bytes], frozenset[bytes]]:
    """Keep the folders of a parse by its identity (the eight latest, each with its parse)."""
    if len(_FOLDERS) >= 8:
        _FOLDERS.pop(next(iter(_FOLDERS)))
    _FOLDERS[id(entries)] = found = (entries, held)
    return found


def _parse(data: bytes, hash_len: int, kept: Path | None) -> tuple[dict[bytes, bytes], int]:
    """The parse of the index ``data``: read from the parse ``kept`` beside it, derived from the
    latest parse kept in this process (the index ``add`` read to write this one), or read afresh."""
    key = data[-hash_len:]
    if not any(key):  # an index written with skipHash ends in zeros: nothing names its content
        return indexdelta.parse(data, hash_len)[:2]
    loaded = indexdelta.read_kept(kept, data, hash_len) if kept is not None else None
    if loaded is not None:
        entries, end, layout, held = loaded
        keep_parse(key, (entries, end), layout)
        _keep_folders(entries, held)
        return entries, end
    if _LAYOUTS:
        base_key = next(reversed(_LAYOUTS))
        base = _PARSED.get(base_key)
        derived = None if base is None else indexdelta.derive(_LAYOUTS[base_key], *base, data, hash_len)
        if base is not None and derived is not None:
            keep_parse(key, (derived.entries, derived.end), derived.layout)
            _DIFFERING["last"] = (base[0], derived.entries, derived.changed)
            return derived.entries, derived.end
    fresh = indexdelta.parse(data, hash_len)
    keep_parse(key, fresh[:2], fresh[2])
    return fresh[:2]


def kept_parse_path(index: Path) -> Path:
    """Where the parse of a snapshot index is kept beside it (``GitRepo.keep_index_parse``)."""
    return index.with_name(index.name + ".parse")


def parsed(index: Path, hash_len: int, data: bytes | None = None) -> tuple[dict[bytes, bytes], int]:
    """``index``'s parse and where its extensions begin (``parse_index``), kept by its checksum.

    The checksum is read first (the file's last bytes): a parse kept already costs no read
    of the whole file.  ``data``: the file's bytes, when the caller has them.
    """
    if data is None:
        try:
            with index.open("rb") as fh:
                if fh.seek(0, os.SEEK_END) < 12 + hash_len:
                    return {}, 0
                fh.seek(-hash_len, os.SEEK_END)
                key = fh.read()
                if any(key) and key in _PARSED:  # an index written with skipHash ends in zeros
                    return _PARSED[key]
                fh.seek(0)
                data = fh.read()
        except FileNotFoundError:
            return {}, 0
    key = data[-hash_len:]
    found = _PARSED.get(key) if any(key) else None
    return found if found is not None else _parse(data, hash_len, kept_parse_path(index))


def layout_of(checksum: bytes) -> indexdelta.Layout | None:
    """Where the entries of the index with ``checksum`` lie, when it was parsed in this process
    (the order of a derived parse's paths, which only its layout keeps)."""
    return _LAYOUTS.get(checksum)


def keep_beside(index: Path, checksum: bytes) -> None:
    """Keep the parse of ``index`` (whose checksum is ``checksum``) made in this process beside it
    (``kept_parse_path``); nothing when none was made or it is kept there already."""
    found, layout = _PARSED.get(checksum), _LAYOUTS.get(checksum)
    kept = kept_parse_path(index)
    if found is not None and layout is not None and indexdelta.kept_checksum(kept) != checksum:
        indexdelta.write_kept(kept, checksum, found, layout, folders(found[0]))


def folders(entries: dict[bytes, bytes]) -> frozenset[bytes]:
    """Every folder that holds one of a parse's ``entries`` (at any depth).

    Kept with the parse, by its identity: the audit asks again for the checkpoint's.  A parse
    that only adds paths to one worked out before (the next snapshot of the same workspace, most
    often) starts from that one's folders.
    """
    found = _FOLDERS.get(id(entries))
    if found is None or found[0] is not entries:
        held: set[bytes] = set()
        paths: Iterable[bytes] = entries
        if _FOLDERS:
            earlier, earlier_folders = next(reversed(_FOLDERS.values()))
            compared = _DIFFERING.get("last")
            if compared is not None and compared[0] is earlier and compared[1] is entries:
                # the paths that differ are known (a parse derived from the earlier one)
                if all(rel in entries for rel in compared[2]):  # nothing was removed
                    held, paths = set(earlier_folders), [r for r in compared[2] if r not in earlier]
            elif not earlier.keys() - entries.keys():  # set operations in C: nothing was removed
                held, paths = set(earlier_folders), entries.keys() - earlier.keys()
        for parent in {rel.rpartition(b"/")[0] for rel in paths}:
            while parent and parent not in held:
                held.add(parent)
                parent = parent.rpartition(b"/")[0]
        found = _keep_folders(entries, frozenset(held))
    return found[1]
