"""The tree of an index file, written without ``git write-tree``.

git keeps, inside the index, the tree each folder was last written as (the ``TREE`` extension,
its "cache tree"), and ``git add`` marks a folder invalid when an entry in it changes.  A
snapshot index is only ever changed by ``add``, so after a few edits most folders are still
valid: only the invalid ones need a tree object, built from their entries and their
subfolders' trees, in the order git sorts tree entries (which is the index's order).  The
new trees are written as loose objects (``looseobjects``), and the index gets its cache tree
back whole, so the next ``add`` again invalidates only what it changes.

Anything this does not write exactly as git would — stages, intent-to-add or skip-worktree
entries, sparse folders, a split index, extensions it does not know, most of the index to
write afresh — makes it answer None, and the caller asks ``git write-tree``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from specflow import digests

#: Extensions kept as they are when the index gets its cache tree back (none depends on it).
_KEPT = (b"REUC", b"UNTR")
#: Modes an entry of a tree may have: regular, executable, symlink, gitlink.
_MODES = frozenset({0o100644, 0o100755, 0o120000, 0o160000})
#: Above this many entries to write afresh, ``git write-tree`` is the faster writer.
FRESH_MAX = 5000
#: From this many entries written afresh, the index gets its cache tree back whole (rewriting
#: the index costs about a read of all of it); below, the few folders are written again next time.
KEEP_MIN = 500
#: ... and from one entry in this many: rewriting a small index costs less than writing that
#: share of its folders again at every later snapshot (a hundred folders a generation left invalid).
KEEP_SHARE = 128
#: Folders nested deeper than this are left to ``git write-tree``: the walks here go one call
#: deeper per folder, and a path can nest more folders than Python's stack holds calls (an agent
#: can make one 1,200 folders deep).
MAX_DEPTH = 128


class _Node:
    """One folder of a cache tree: the entries it spans, its tree (None: invalid), its subfolders."""

    __slots__ = ("children", "count", "sha", "span")

    def __init__(self, count: int, sha: bytes | None) -> None:
        self.count = count
        self.sha = sha
        self.span = (0, 0)
        """Where this folder and everything below it lie in the extension (kept while it is valid)."""
        self.children: dict[bytes, _Node] = {}


class _Unsupported(Exception):
    """The index holds something written here differently from git: ``write-tree`` decides."""


def write_tree(
    data: bytes,
    entries: dict[bytes, bytes],
    end: int,
    store: Callable[[bytes], bytes],
    *,
    keep_from: int | None = None,
    order: list[bytes] | None = None,
    written_at: int | None = None,
) -> tuple[bytes, bytes | None] | None:
    """The tree of the index ``data`` (sha1), and the index with its cache tree made whole when
    that is worth writing (else None); None when ``git write-tree`` must write it.

    ``entries``: the index's entries in order, ``path -> stat data, object id and flags``
    (``indexfile.parse_index_ctimes``); ``end``: where its extensions begin.  ``store`` writes a
    tree object's body and returns its object id (raw bytes).  ``keep_from``: how many entries
    written afresh make the whole cache tree worth writing back (default: ``KEEP_MIN``, or one
    entry in ``KEEP_SHARE`` when that is fewer).  ``order``: the paths in the index's order, when
    ``entries`` holds them in another (a parse derived from an earlier one: ``indexdelta``).
    ``written_at``: the second the index file was written; in the cache tree written back, the
    folders of entries git will add again (racily clean: changed in or after that second) are
    left invalid, as that ``add`` would leave them: it then rewrites nothing.
    """
    try:
        extensions = _extensions(data, end)
        raw_tree = extensions.get(b"TREE")
        whole = _LINE.match(raw_tree) if raw_tree else None
        if whole is not None and whole[5] and not whole[1]:
            return bytes(whole[5]), None  # the root is valid: nothing changed since its tree was written
        root = _parse_tree(raw_tree) if raw_tree is not None else _Node(-1, None)
        fresh = _fresh_entries(root, len(entries))
        if fresh > FRESH_MAX:
            return None
        _Build(list(entries) if order is None else order, entries, store).node(root, 0, b"", 0)
    except _Unsupported:
        return None
    assert root.sha is not None
    if keep_from is None:
        keep_from = min(KEEP_MIN, -(-len(entries) // KEEP_SHARE))
    if fresh < keep_from:
        return root.sha, None
    unsettled = _unsettled_folders(entries, written_at)
    return root.sha, _with_cache_tree(data, end, extensions, _serialise(b"", b"", root, raw_tree or b"", unsettled))


def _unsettled_folders(entries: dict[bytes, bytes], written_at: int | None) -> set[bytes]:
    """The folders (the top one is ``b""``) holding an entry the next ``git add`` looks at again
    and puts back: racily clean, modified in or after the second ``written_at`` (git compares
    to the second)."""
    if written_at is None:
        return set()
    cut = written_at.to_bytes(4, "big")
    found: set[bytes] = set()
    for path, stat in entries.items():
        if stat[8:12] >= cut:
            folder = path.rpartition(b"/")[0]
            while folder not in found:
                found.add(folder)
                if not folder:
                    break
                folder = folder.rpartition(b"/")[0]
    return found


def _extensions(data: bytes, end: int) -> dict[bytes, bytes]:
    """The index's extensions by signature; only the cache tree and those in ``_KEPT``."""
    found: dict[bytes, bytes] = {}
    pos, stop = end, len(data) - 20
    while pos < stop:
        if pos + 8 > stop:
            raise _Unsupported
        sig, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "big")
        if sig not in (b"TREE", *_KEPT) or pos + 8 + size > stop:
            raise _Unsupported  # a split index, sparse folders, offsets that would change
        found[sig] = data[pos + 8 : pos + 8 + size]
        pos += 8 + size
    return found


#: A folder's line in the ``TREE`` extension: its name, then ``-1 <subfolders>`` (invalid) or
#: ``<entries> <subfolders>`` and its tree's object id.
_LINE = re.compile(rb"([^\0]*)\0(?:-1 (\d+)\n|(\d+) (\d+)\n(.{20}))", re.DOTALL)


#: A valid folder's bytes in the last extensions read, by its name and tree: met again (most
#: folders are, from one snapshot to the next), it is recognised by one comparison of bytes and
#: skipped whole, its lines not read one by one.
_SEEN: dict[tuple[bytes, bytes], bytes] = {}
_SEEN_MAX = 1 << 14


def _parse_tree(raw: bytes) -> _Node:
    """The cache tree of a ``TREE`` extension: its root, and below it the folders that lie in no
    valid folder (a valid one keeps only where it lies in the extension: written back as it is)."""
    if len(_SEEN) > _SEEN_MAX:
        _SEEN.clear()
    holder = _Node(-1, None)
    if _folder(raw, 0, holder, 0) != len(raw) or len(holder.children) != 1:
        raise _Unsupported  # a second root, or bytes after it: not an extension git wrote
    (root,) = holder.children.values()
    return root


def _folder(raw: bytes, pos: int, parent: _Node, depth: int) -> int:
    """Read the folder at ``pos``, ``depth`` folders down, into ``parent`` (an invalid one with the
    folders below it, a valid one by where it lies); where the next one begins."""
    line = _LINE.match(raw, pos)
    if line is None or depth > MAX_DEPTH:
        raise _Unsupported
    name, invalid_subs, count, subs, sha = line.groups()
    if invalid_subs:
        node = parent.children[name] = _Node(-1, None)
        at = line.end()
        for _ in range(int(invalid_subs)):
            at = _folder(raw, at, node, depth + 1)
        return at
    node = parent.children[name] = _Node(int(count), sha)
    seen = _SEEN.get((name, sha))
    if seen is not None and raw.startswith(seen, pos):
        end = pos + len(seen)
    else:
        end = _past(raw, line.end(), int(subs))
        _SEEN[name, sha] = raw[pos:end]
    node.span = (pos, end)
    return end


def _past(raw: bytes, pos: int, pending: int) -> int:
    """Where the ``pending`` folders from ``pos`` end, with everything below them (no node made)."""
    while pending:
        line = _LINE.match(raw, pos)
        if line is None:
            raise _Unsupported
        pos = line.end()
        pending += int(line[2] or line[4]) - 1
    return pos


def _fresh_entries(root: _Node, total: int) -> int:
    """How many of the index's ``total`` entries lie in no valid folder: those to read afresh."""
    if root.sha is not None:
        return 0
    pending, covered = [root], 0
    while pending:
        node = pending.pop()
        for child in node.children.values():
            if child.sha is None:
                pending.append(child)
            else:
                covered += child.count
    return total - covered


class _Build:
    """Writes the invalid folders of a cache tree from the index's entries, depth first."""

    def __init__(self, keys: list[bytes], entries: dict[bytes, bytes], store: Callable[[bytes], bytes]) -> None:
        self.keys = keys
        self.entries = entries
        self.store = store

    def node(self, node: _Node, pos: int, base: bytes, depth: int) -> int:
        """Make ``node`` (the folder ``base``, ``depth`` folders down, its entries from ``pos``) valid;
        the entries it spans."""
        if node.sha is not None:
            return node.count
        if depth > MAX_DEPTH:
            raise _Unsupported
        keys, entries, n = self.keys, self.entries, len(self.keys)
        parts: list[bytes] = []
        used: dict[bytes, _Node] = {}
        i, cut = pos, len(base)
        while i < n:
            path = keys[i]
            if not path.startswith(base):
                break
            slash = path.find(b"/", cut)
            if slash < 0:
                stat = entries[path]
                mode = int.from_bytes(stat[24:28], "big")
                if stat[-2] & 0x70 or mode not in _MODES:
                    raise _Unsupported  # a stage, extended flags (intent-to-add), a sparse folder
                parts.append(b"%o %s\0%s" % (mode, path[cut:], stat[40:60]))
                i += 1
                continue
            name = path[cut:slash]
            child = node.children.get(name) or _Node(-1, None)
            i += self.node(child, i, path[: slash + 1], depth + 1)
            used[name] = child
            assert child.sha is not None
            parts.append(b"40000 %s\0%s" % (name, child.sha))
        node.sha = self.store(b"".join(parts))
        node.count = i - pos
        node.children = used
        node.span = (0, 0)
        return node.count


def _serialise(name: bytes, path: bytes, node: _Node, raw: bytes, unsettled: set[bytes]) -> bytes:
    """``node`` (the folder ``path``) and everything below it as a ``TREE`` extension holds them
    (git's order: by name length, then name); ``raw``: the extension it was read from; the
    ``unsettled`` folders are written invalid."""
    if node.span[1]:
        return raw[node.span[0] : node.span[1]]
    assert node.sha is not None
    if path in unsettled:
        head = b"%s\0-1 %d\n" % (name, len(node.children))
    else:
        head = b"%s\0%d %d\n%s" % (name, node.count, len(node.children), node.sha)
    order = sorted(node.children, key=lambda n: (len(n), n))
    below = (path + b"/" if path else b"").__add__
    return head + b"".join(_serialise(n, below(n), node.children[n], raw, unsettled) for n in order)


def _with_cache_tree(data: bytes, end: int, extensions: dict[bytes, bytes], tree: bytes) -> bytes:
    """``data`` with its ``TREE`` extension replaced by ``tree`` (first, as git writes it) and
    its checksum written afresh."""
    body = [data[:end], b"TREE", len(tree).to_bytes(4, "big"), tree]
    for sig in _KEPT:
        if sig in extensions:
            body += [sig, len(extensions[sig]).to_bytes(4, "big"), extensions[sig]]
    joined = b"".join(body)
    return joined + digests.sha1(joined).digest()
