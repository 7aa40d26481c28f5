"""Index files parsed without a Python step per entry, where an earlier parse answers for most.

A snapshot index is only ever rewritten by ``git add``, and between two snapshots few entries
change: most of the new file is, byte for byte, the index ``add`` read.  In version 4 (paths
written as what they share with the path before) a run of bytes that starts at an entry after
the same path in both files holds the same entries in both, so ``derive`` finds such runs by
comparing long slices (``memcmp``), reads only the entries around each difference, and names
the paths that differ (what ``indexfile.differing_entries`` would compute) on the way.  Reading all
of a 100,000-entry index costs 60 ms; deriving it from the one ``add`` read, a few.

A parse is also kept on disk beside the snapshot index it was made from (``write_kept``, keyed
by the index's checksum), so the next process (the next ``specflow advance``) loads it with a
few splits (``read_kept``) instead of reading every entry again.
"""

from __future__ import annotations

import os
import sys
from array import array
from bisect import bisect_right
from pathlib import Path

#: The header of a parse kept on disk: what it is, for which byte order, its format's version.
_MAGIC = f"specflow index parse 3 {sys.byteorder}\n".encode("ascii")
#: Above this share of entries read one by one, deriving costs more than parsing afresh.
_STEPS_SHARE = 16


class Layout:
    """Where each entry of a parsed version 4 index lies: its bytes, paths and offsets, in order."""

    __slots__ = ("data", "keys", "offsets")

    def __init__(self, data: bytes, keys: list[bytes], offsets: list[int]) -> None:
        self.data = data
        self.keys = keys
        self.offsets = offsets


class Derived:
    """An index parsed by ``derive``: its entries, where its extensions begin, its layout, and
    the paths whose entries differ from the base's (or that only one of the two holds)."""

    __slots__ = ("changed", "end", "entries", "layout")

    def __init__(self, entries: dict[bytes, bytes], end: int, layout: Layout, changed: frozenset[bytes]) -> None:
        self.entries = entries
        self.end = end
        self.layout = layout
        self.changed = changed


def parse(data: bytes, hash_len: int = 20) -> tuple[dict[bytes, bytes], int, Layout | None]:
    """``path -> stat data, object id and flags`` of every entry (``indexfile.parse_index``), where
    the extensions begin (0: not an index read here), and the layout of a version 4 index whose
    paths are all distinct (None for others: ``derive`` starts from version 4 only)."""
    if len(data) < 12 or data[:4] != b"DIRC":
        return {}, 0, None
    version, count = int.from_bytes(data[4:8], "big"), int.from_bytes(data[8:12], "big")
    if version not in (2, 3, 4):
        return {}, 0, None
    found: dict[bytes, bytes] = {}
    offsets: list[int] = []
    at = offsets.append
    off, prev, fixed, find = 12, b"", 40 + hash_len, data.find
    for _ in range(count):
        pos = off + fixed + 2
        if version >= 3 and data[off + fixed] & 0x40:
            pos += 2  # extended flags
        if version == 4:
            strip = data[pos]
            pos += 1
            if strip & 0x80:  # a longer varint (git's offset encoding)
                byte, strip = strip, strip & 0x7F
                while byte & 0x80:
                    byte = data[pos]
                    pos += 1
                    strip = ((strip + 1) << 7) | (byte & 0x7F)
            end = find(b"\0", pos)
            path = (prev[: len(prev) - strip] if strip else prev) + data[pos:end]
            found[path] = data[off : off + fixed + 2]
            at(off)
            off = end + 1
        else:
            end = find(b"\0", pos)
            path = data[pos:end]
            found[path] = data[off : off + fixed + 2]
            off += ((end - off) // 8 + 1) * 8
        prev = path
    layout = Layout(data, list(found), offsets) if version == 4 and len(found) == count else None
    return found, off, layout


def derive(
    base: Layout, base_entries: dict[bytes, bytes], base_end: int, data: bytes, hash_len: int = 20
) -> Derived | None:
    """The parse of the version 4 index ``data`` from the parse of ``base`` (an index ``add`` read
    to write it); None when they differ too much (or in what is not read here): parse it afresh.

    The entries are ``base_entries`` copied (no path hashed again) with the differences applied,
    so a path new in ``data`` comes last in the mapping: the index's order is ``layout.keys``.
    """
    if data[:8] != b"DIRC\0\0\0\x04" or len(data) < 12 + hash_len:
        return None
    count = int.from_bytes(data[8:12], "big")
    limit = max(64, count // _STEPS_SHARE)
    if abs(count - len(base.keys)) > limit:
        return None
    fixed = 40 + hash_len
    a, a_keys, a_offs, a_count = base.data, base.keys, base.offsets, len(base.keys)
    stop = len(data) - hash_len
    entries = dict(base_entries)
    keys: list[bytes] = []
    offsets: list[int] = []
    changed: list[bytes] = []
    ia = nb = steps = 0
    ob = 12
    prev_a = prev_b = b""
    while ia < a_count or nb < count:
        if ia < a_count and nb < count and prev_a == prev_b:
            oa = a_offs[ia]
            reach = oa + _common(a, oa, base_end, data, ob, stop)
            last = bisect_right(a_offs, reach, ia)  # entries ia..last-1 begin inside the common run
            whole = last - ia if last == a_count and base_end <= reach else last - 1 - ia
            whole = min(whole, count - nb)
            if whole > 0:
                shift = ob - oa
                keys += a_keys[ia : ia + whole]
                run = a_offs[ia : ia + whole]
                offsets += map(shift.__add__, run) if shift else run
                ia += whole
                nb += whole
                ob = (a_offs[ia] if ia < a_count else base_end) + shift
                prev_a = prev_b = a_keys[ia - 1]
                continue
        steps += 1
        if steps > limit:
            return None
        entry = _entry(data, ob, prev_b, fixed, stop) if nb < count else None
        if nb < count and entry is None:
            return None  # a stage, a path that does not fit: git's own reading decides
        path_a = a_keys[ia] if ia < a_count else None
        if entry is None or (path_a is not None and path_a < entry[0]):
            assert path_a is not None
            del entries[path_a]  # gone from the new index
            changed.append(path_a)
            prev_a = path_a
            ia += 1
            continue
        path, value, following = entry
        keys.append(path)
        offsets.append(ob)
        if path_a == path:
            prev_a = path
            ia += 1
        if entries.get(path) != value:
            changed.append(path)  # new in this index, or changed
            entries[path] = value
        prev_b = path
        ob = following
        nb += 1
    if len(entries) != count or len(keys) != count:
        return None
    return Derived(entries, ob, Layout(data, keys, offsets), frozenset(changed))


def path_strip(data: bytes, pos: int) -> tuple[int, int]:
    """How many bytes of the path before it a version 4 entry drops (git's offset varint at
    ``pos``), and where its own part of the path begins."""
    strip = data[pos]
    pos += 1
    if strip & 0x80:
        byte, strip = strip, strip & 0x7F
        while byte & 0x80:
            byte = data[pos]
            pos += 1
            strip = ((strip + 1) << 7) | (byte & 0x7F)
    return strip, pos


def _entry(data: bytes, off: int, prev: bytes, fixed: int, stop: int) -> tuple[bytes, bytes, int] | None:
    """The path, stat data and end of the version 4 entry at ``off`` (after the path ``prev``);
    None for one in a conflict's stages or one that runs past the entries."""
    flags = data[off + fixed] if off + fixed < stop else 0x30
    if flags & 0x30:
        return None
    strip, pos = path_strip(data, off + fixed + 2 + (2 if flags & 0x40 else 0))
    end = data.find(b"\0", pos, stop)
    if end < 0 or strip > len(prev):
        return None
    return prev[: len(prev) - strip] + data[pos:end], data[off : off + fixed + 2], end + 1


def _common(a: bytes, a_at: int, a_stop: int, b: bytes, b_at: int, b_stop: int) -> int:
    """How many bytes from ``a_at`` in ``a`` equal those from ``b_at`` in ``b`` (before the stops):
    slices compared whole (``memcmp``), doubling while they agree, halving where they do not."""
    limit = min(a_stop - a_at, b_stop - b_at)
    done, step = 0, 4096
    while done < limit:
        n = min(step, limit - done)
        if a[a_at + done : a_at + done + n] == b[b_at + done : b_at + done + n]:
            done += n
            step *= 2
            continue
        while n > 32:
            half = n // 2
            if a[a_at + done : a_at + done + half] == b[b_at + done : b_at + done + half]:
                done += half
                n -= half
            else:
                n = half
        while a[a_at + done] == b[b_at + done]:
            done += 1
        return done
    return limit


# -- parses kept on disk ---------------------------------------------------------------------


def write_kept(
    path: Path, checksum: bytes, parsed: tuple[dict[bytes, bytes], int], layout: Layout, folders: frozenset[bytes]
) -> None:
    """Keep the parse of the index whose checksum is ``checksum`` in ``path``: a header, the
    paths (NUL-separated), the folders that hold them (``GitRepo.index_folders``) and the
    offsets of their entries (each entry's fixed part is read from the index itself)."""
    if len(layout.data) >= 1 << 32 or array("I").itemsize != 4:
        return  # offsets kept as 4 bytes each
    names, dirs = b"\0".join(layout.keys), b"\0".join(folders)
    sizes = b"%d %d %d %d %d %d\n" % (len(parsed[0]), parsed[1], len(names), len(folders), len(dirs), len(checksum))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(b"".join((_MAGIC, sizes, checksum, names, dirs, array("I", layout.offsets).tobytes())))
    os.replace(tmp, path)


def _kept_sizes(kept: bytes) -> tuple[list[int], int] | None:
    """The sizes on a kept parse's first line (entries, end, names, folders, their bytes, checksum)
    and where that line ends; None when ``kept`` does not start as one."""
    line_end = kept.find(b"\n", len(_MAGIC))
    if not kept.startswith(_MAGIC) or line_end < 0:
        return None
    try:
        sizes = [int(n) for n in kept[len(_MAGIC) : line_end].split()]
    except ValueError:
        return None
    return (sizes, line_end) if len(sizes) == 6 else None


def kept_checksum(path: Path) -> bytes | None:
    """The checksum of the index whose parse ``path`` keeps (None: no parse kept there)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_MAGIC) + 128)
    except OSError:
        return None
    found = _kept_sizes(head)
    if found is None:
        return None
    (*_, sum_len), line_end = found
    return head[line_end + 1 : line_end + 1 + sum_len]


def read_kept(
    path: Path, data: bytes, hash_len: int
) -> tuple[dict[bytes, bytes], int, Layout, frozenset[bytes]] | None:
    """The parse kept in ``path`` (entries, end, layout, folders) if it is the parse of the index
    ``data`` (its checksum), else None."""
    try:
        with open(path, "rb") as fh:
            kept = fh.read()
    except OSError:
        return None
    found = _kept_sizes(kept)
    if found is None:
        return None
    (count, end, names_len, dir_count, dirs_len, sum_len), line_end = found
    at = line_end + 1
    if sum_len != hash_len or kept[at : at + sum_len] != data[-hash_len:] or not any(data[-hash_len:]):
        return None
    at += sum_len
    keys = kept[at : at + names_len].split(b"\0") if count else []
    at += names_len
    folders = frozenset(kept[at : at + dirs_len].split(b"\0") if dir_count else ())
    at += dirs_len
    if (
        len(folders) != dir_count
        or len(keys) != count
        or len(kept) - at != 4 * count
        or not 12 <= end <= len(data) - hash_len
    ):
        return None
    offsets = array("I")
    offsets.frombytes(kept[at:])
    width = 42 + hash_len
    at_offsets = offsets.tolist()
    entries = dict(zip(keys, [data[o : o + width] for o in at_offsets], strict=True))
    if len(entries) != count or (count and at_offsets[-1] + width > end):
        return None
    return entries, end, Layout(data, keys, at_offsets), folders
