"""What differs between trees, commits and indexes, and the objects behind it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from specflow.errors import GitError
from specflow.workspace import indexfile, looseobjects
from specflow.workspace.git.base import GitBase
from specflow.workspace.git.values import TreeChange


class Diffs(GitBase):
    """Trees, commits and indexes compared; objects looked up and read."""

    def diff_trees(self, old: str, new: str) -> list[TreeChange]:
        """Every path that differs between two trees, recursively, renames not detected."""
        if old == new:
            return []
        out = self.run("diff-tree", "-r", "-z", "--raw", "--no-renames", "--full-index", old, new)
        return _parse_raw(out)

    def diff_to_tree(self, commit: str, tree: str) -> list[TreeChange]:
        """``diff_trees`` from ``commit``'s tree to ``tree``, read from the loose tree objects
        where they are (a merge just computed: no process), else by git."""
        if self.object_format() != "sha1" or not looseobjects.has_object(self.common_dir, commit):
            return self.diff_trees(commit, tree)  # a packed commit: one process, as ever
        old = self.tree_of(commit)
        if old == tree:
            return []
        found = looseobjects.diff_trees(self.common_dir, old, tree)
        if found is not None:
            return [TreeChange(*change) for change in found]
        return self.diff_trees(old, tree)

    def diff_indexes(self, old: Path, new: Path) -> list[TreeChange] | None:
        """What ``diff_trees`` reports between the trees ``write-tree`` writes from two index files,
        read from the files without a process; None when an index is missing or either holds a
        changed entry ``write-tree`` treats apart (unmerged, intent-to-add, skip-worktree)."""
        before, after = self.index_ctimes(old), self.index_ctimes(new)
        if not before or not after:
            return None
        changes: list[TreeChange] = []
        # the index's order (bytes) is the order of a recursive tree walk
        for rel in sorted(indexfile.differing_entries(before, after)):
            a, b = before.get(rel), after.get(rel)
            if any(d is not None and d[-2] & 0x70 for d in (a, b)):  # stage bits or extended flags
                return None
            if a is not None and b is not None and a[24:28] == b[24:28] and a[40:-2] == b[40:-2]:
                continue  # only the stat data moved
            changes.append(_index_change(rel.decode("utf-8", "surrogateescape"), a, b))
        return changes

    def diff_trees_batch(self, pairs: Sequence[tuple[str, str]]) -> list[list[str]]:
        """Changed path names for each ``(old, new)`` tree pair, in one git process."""
        if not pairs:
            return []
        payload = "".join(f"{a} {b}\n" for a, b in pairs).encode()
        out = self.run("diff-tree", "--stdin", "-z", "-r", "--name-only", "--no-renames", input=payload).decode(
            "utf-8", "surrogateescape"
        )
        # git prints each pair as a header line "<old> <new>\n", then its paths, NUL-terminated.
        results: list[list[str]] = []
        pos = 0
        for a, b in pairs:
            header = f"{a} {b}\n"
            if not out.startswith(header, pos):
                raise GitError(f"unexpected output from git diff-tree --stdin in {self.root}")
            pos += len(header)
            names: list[str] = []
            while pos < len(out):
                nxt = pairs[len(results) + 1] if len(results) + 1 < len(pairs) else None
                if nxt is not None and out.startswith(f"{nxt[0]} {nxt[1]}\n", pos):
                    break
                end = out.find("\0", pos)
                if end < 0:
                    end = len(out)
                names.append(out[pos:end])
                pos = end + 1
            results.append(names)
        return results

    def diff(self, old: str, new: str, *, stat: bool = False, color: bool = False) -> str:
        """A patch (or ``--stat``) between two trees or commits."""
        args = ["diff", "--no-ext-diff", "--color=always" if color else "--no-color"]
        args.append("--stat" if stat else "--patch")
        return self.text(*args, old, new, "--")

    def numstat(self, old: str, new: str) -> list[dict[str, Any]]:
        """Each file changed between two trees or commits, with its added and deleted lines.

        ``added`` and ``deleted`` are None for a binary file; ``old_path`` is set for a rename.
        """
        fields = self.text("diff", "--no-ext-diff", "--no-color", "--numstat", "-z", old, new, "--").split("\0")
        files: list[dict[str, Any]] = []
        i = 0
        while i < len(fields):
            record = fields[i]
            i += 1
            if not record:
                continue
            added, deleted, path = record.split("\t", 2)
            old_path = None
            if not path:  # a rename: the old and the new path follow
                old_path, path = fields[i], fields[i + 1]
                i += 2
            files.append(
                {
                    "path": path,
                    "old_path": old_path,
                    "added": None if added == "-" else int(added),
                    "deleted": None if deleted == "-" else int(deleted),
                }
            )
        return files

    def missing_objects(self, shas: Iterable[str]) -> list[str]:
        """Which of ``shas`` are not in the repository's object store (one ``cat-file --batch-check``)."""
        wanted = self.unstored(shas)  # only those a loose file or a pack's index does not answer
        if not wanted:
            return []
        out = self.text("cat-file", "--batch-check=%(objectname)", input=("\n".join(wanted) + "\n").encode())
        return [sha for sha, line in zip(wanted, out.splitlines(), strict=False) if line.endswith(" missing")]

    def read_blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """The content of each blob, read through one ``cat-file --batch``."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        out = self.run("cat-file", "--batch", input=("\n".join(wanted) + "\n").encode())
        blobs: dict[str, bytes] = {}
        pos = 0
        for sha in wanted:
            nl = out.index(b"\n", pos)
            header = out[pos:nl].decode().split()
            pos = nl + 1
            if len(header) < 3 or header[1] == "missing":
                raise GitError(f"object {sha} is missing from {self.common_dir}")
            size = int(header[2])
            blobs[sha] = out[pos : pos + size]
            pos += size + 1
        return blobs

    def tree_dirs(self, tree: str, dirs: Iterable[str]) -> set[str]:
        """Which of ``dirs`` exist as folders in ``tree``."""
        wanted = sorted(set(dirs))
        if not wanted:
            return set()
        out = self.run("ls-tree", "-d", "-z", "--name-only", tree, "--", *wanted)
        return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}


def _index_change(path: str, old: bytes | None, new: bytes | None) -> TreeChange:
    """The ``TreeChange`` of one path from its two parsed index entries (None: absent)."""
    old_mode = int.from_bytes(old[24:28], "big") if old is not None else 0
    new_mode = int.from_bytes(new[24:28], "big") if new is not None else 0
    zero = "0" * (2 * (len(old or new or b"") - 42))
    old_sha = old[40:-2].hex() if old is not None else zero
    new_sha = new[40:-2].hex() if new is not None else zero
    if old is None:
        status = "A"
    elif new is None:
        status = "D"
    else:
        status = "T" if old_mode >> 12 != new_mode >> 12 else "M"
    return TreeChange(path, status, f"{old_mode:06o}", f"{new_mode:06o}", old_sha, new_sha)


def _parse_raw(out: bytes) -> list[TreeChange]:
    changes: list[TreeChange] = []
    parts = out.split(b"\0")
    i = 0
    while i < len(parts) - 1:
        meta = parts[i].decode()
        if not meta.startswith(":"):
            i += 1
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta[1:].split()
        path = parts[i + 1].decode("utf-8", "surrogateescape")
        changes.append(TreeChange(path, status[0], old_mode, new_mode, old_sha, new_sha))
        i += 2
    return changes
