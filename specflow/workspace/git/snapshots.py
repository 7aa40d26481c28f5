"""Snapshots: the working tree written as a tree through a temporary index, never touching the
real index, HEAD or the files; and the ignored files listed beside it."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from specflow.errors import GitError
from specflow.workspace import indexdelta, indexfile, indextrees, looseobjects, unreadable
from specflow.workspace.git import process
from specflow.workspace.git.base import GitBase

_UNINDEXABLE = re.compile(r"^error: '(.+?)/?' does not have a commit checked out$", re.MULTILINE)


class IgnoredListing:
    """A ``git ls-files`` of ignored files started ahead (``GitRepo.ignored_files_started``)."""

    def __init__(self, proc: subprocess.Popen[bytes], args: Sequence[str], cwd: Path) -> None:
        self._proc = proc
        self._args = args
        self._cwd = cwd

    def result(self) -> list[str]:
        """The ignored files, once git has listed them all."""
        out, err = self._proc.communicate()
        if self._proc.returncode != 0:
            done = subprocess.CompletedProcess(self._args, self._proc.returncode, out, err)
            raise GitError(process.failure(self._args, self._cwd, done))
        return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p and not p.endswith("/")]

    def close(self) -> None:
        """Stop the listing if it was never read (the snapshot beside it failed)."""
        if self._proc.returncode is None:
            self._proc.kill()
            self._proc.communicate()


@functools.lru_cache(maxsize=16)
def _glob(pattern: str) -> re.Pattern[str]:
    """A pathspec's ``glob`` magic as a regular expression: ``**/`` any folders, ``*`` and ``?`` within one."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out, i = out + "/.*", i + 3
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


class Snapshots(GitBase):
    """The working tree as a tree, from a temporary index seeded by the last one."""

    def snapshot(
        self,
        index: Path,
        seed: Path | None,
        exclude: Sequence[str] = (),
        known: tuple[bytes, str] | None = None,
        stored: Sequence[tuple[str, str, str]] = (),
        beside: Callable[[], bool] | None = None,
    ) -> str:
        """Write the working tree (tracked and untracked, not ignored) as a tree; return its sha.

        ``index`` is a temporary index file (created from ``seed``, a previous snapshot's index
        or a copy of the real index, so unchanged files are not hashed again); the tree is written
        from it in process where that is git's own result (``_write_tree``).  ``exclude``:
        glob pathspecs left out.  ``known``: an index checksum and the tree written from that
        index; when ``add`` leaves the index as it was (git does not write an index it did not
        change), that tree is the answer and ``write-tree`` is not run.  ``stored``: ``(path,
        mode, blob)`` of files already hashed and stored (big files): set as they are and left
        out of ``add``.  ``beside``: work done while ``add`` scans the tree (the look for a nested
        ``.git``); when it returns True it changed the tree under ``add``, whose index is then
        stale: ``ChangedUnderAdd`` is raised, and the caller starts again from its seed.  HEAD, the
        real index, the stash and the working tree are never touched.
        """
        self.unreadable = {}  # what this snapshot could not read, once its add has run
        index.parent.mkdir(parents=True, exist_ok=True)
        if seed is not None and seed.is_file():
            if seed.resolve() != index.resolve():
                shutil.copy2(seed, index)  # keep the mtime: git's racy-clean check relies on it
        else:
            index.unlink(missing_ok=True)
        # the entries ``known``'s tree was written from, when ``index`` starts as that very index
        before = self.index_ctimes(index) if known is not None and self._checksum_is(index, known[0]) else None
        # removed from the seed, so 'add' hashes them again (those it looks at: not the excluded)
        stale = [rel for rel in self._ctime_racy(index) if not any(_glob(g).fullmatch(rel) for g in exclude)]
        if stale and not indexfile.smudge_entries(index, stale, self._hash_len()):
            payload = ("\0".join(stale) + "\0").encode("utf-8", "surrogateescape")
            self.run("update-index", "-z", "--force-remove", "--stdin", input=payload, index=index)
        pathspec = [".", *(f":(exclude,glob){g}" for g in exclude), *self.set_stored(stored, index)]
        args = [*process.BIG_FILES_STORED, "add", "-A", "--ignore-errors", "--", *pathspec]
        # C's messages, whatever the person's locale: what git could not read is read from them
        env = {"GIT_INDEX_FILE": str(index), "LC_ALL": "C"}
        if beside is None:
            proc = process.run_git(args, self.root, env=env, check=False)
        else:
            proc, changed = process.run_git_beside(args, self.root, env, beside)
            if changed:
                raise process.ChangedUnderAdd
        # a nested repository without a commit cannot be indexed; everything else still is
        errors = (proc.stderr or b"").decode("utf-8", "replace")
        self.unreadable = unreadable.parse(errors) if errors else {}
        limits = unreadable.more_open_files() if unreadable.TOO_MANY_OPEN in self.unreadable.values() else None
        if limits is not None:
            # a folder nest deeper than the open files allowed: once more with the hard limit, so a
            # checkpoint and its audit both see as deep as this process may
            try:
                proc = process.run_git(args, self.root, env=env, check=False)
            finally:
                unreadable.set_open_files(limits)
            errors = (proc.stderr or b"").decode("utf-8", "replace")
            self.unreadable = unreadable.parse(errors) if errors else {}
        self.unindexable = _UNINDEXABLE.findall(errors)
        if proc.returncode != 0 and not self.unindexable:
            # when ``unreadable`` names what failed, the audit gives access back and asks again
            raise GitError(process.failure(["add", "-A"], self.root, proc))
        # 'add' rewrites an index whose stat data it refreshed (files written in the second of
        # the last snapshot): the same paths, modes and objects still make the same tree
        if (
            known is not None
            and before is not None
            and (self.index_checksum(index) == known[0] or indexfile.same_objects(before, self.index_ctimes(index)))
        ):
            return known[1]
        tree = self._write_tree(index)
        if tree is not None:
            return tree
        # the blobs were just written by 'add': no need for write-tree to look each one up
        return self.text("write-tree", "--missing-ok", index=index).strip()

    def set_stored(self, stored: Sequence[tuple[str, str, str]], index: Path | None = None) -> list[str]:
        """Set each ``(path, mode, blob)`` of ``stored`` (files already hashed and stored) in
        ``index`` (None: the real one) as it is; the pathspecs that leave them out of an ``add``,
        which would hash each file again."""
        if not stored:
            return []
        lines = [f"{mode} {sha} 0\t{path}" for path, mode, sha in stored]
        payload = ("\0".join(lines) + "\0").encode("utf-8", "surrogateescape")
        self.run("update-index", "-z", "--index-info", input=payload, index=index)
        return [f":(exclude,literal){path}" for path, _, _ in stored]

    def record_stat(self, stats: dict[str, tuple[os.stat_result, str]]) -> None:
        """Record in the real index the stat data of files whose entries were set with their
        objects alone (``set_stored``), as ``add`` would have (``indexfile.fill_stat``): the
        caller knows each file's content is the object given with it.  Left as they are when git
        holds the index's lock, or an entry holds another object now (git reads those files once more)."""
        if stats:
            indexfile.fill_stat(self.real_index(), stats, self._hash_len())

    def _write_tree(self, index: Path) -> str | None:
        """The tree of ``index`` written without a process (``indextrees``: only the folders
        ``add`` changed); None when git must write it.

        When many folders were written, the index gets its whole cache tree back: rewritten under
        git's lock name, it keeps its mtime, which git's racy-clean check compares its entries with.
        """
        if self.object_format() != "sha1" or not looseobjects.plain(self.common_dir):
            return None
        try:
            data = index.read_bytes()
            st = os.stat(index)
        except OSError:
            return None
        entries, end = self._parsed_index(index, data)
        if not end:
            return None
        common = self.common_dir
        layout = indexfile.layout_of(data[-20:])  # the order of a derived parse's paths
        written = indextrees.write_tree(
            data,
            entries,
            end,
            lambda body: bytes.fromhex(looseobjects.write_object(common, b"tree", body)),
            order=None if layout is None else layout.keys,
            written_at=int(st.st_mtime),
        )
        if written is None:
            return None
        tree, new = written
        if new is not None:
            lock = index.with_name(index.name + ".lock")
            try:
                with open(lock, "xb") as fh:
                    fh.write(new)
                os.utime(lock, ns=(st.st_atime_ns, st.st_mtime_ns))
                os.replace(lock, index)
            except FileExistsError:
                return None  # someone else is writing it: git decides
            except BaseException:
                lock.unlink(missing_ok=True)
                raise
            # the same entries, where they were
            moved = layout and indexdelta.Layout(new, layout.keys, layout.offsets)
            indexfile.keep_parse(new[-20:], (entries, end), moved)
        return tree.hex()

    def _ctime_racy(self, index: Path) -> list[str]:
        """Entries of ``index`` that changed although git would take them for unchanged.

        git compares stat times to the second: a file rewritten with its size and mtime kept, in
        the very second its entry was last refreshed, looks unchanged to it (its ctime moved, but
        within that second).  Entries refreshed in or after the second the index was written
        are compared with the file here, to the nanosecond; those git would see changed anyway
        are left to it.
        """
        try:
            written = index.stat().st_mtime_ns // 1_000_000_000
        except FileNotFoundError:
            return []
        cut = written.to_bytes(4, "big") + b"\0\0\0\0"
        stale: list[str] = []
        recent = [(rel, stamp) for rel, stamp in self.index_ctimes(index).items() if stamp >= cut]
        for rel, stamp in recent:
            try:
                st = (self.root / os.fsdecode(rel)).lstat()
            except OSError:
                continue  # gone: git sees that
            if st.st_ctime_ns != indexfile.stamp_ns(stamp) and indexfile.looks_unchanged_to_git(stamp, st):
                stale.append(rel.decode("utf-8", "surrogateescape"))
        return stale

    def trusts_file_modes(self) -> bool:
        """False when the repository's ``core.fileMode`` is off (git keeps recorded modes then)."""
        try:
            config = (self.common_dir / "config").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return True
        return not re.search(r"(?im)^\s*filemode\s*=\s*(false|no|off|0)\s*$", config)

    def keep_index_parse(self, index: Path) -> None:
        """Keep the parse of ``index`` made in this process beside it (``indexfile.kept_parse_path``),
        for the next process to load instead of reading every entry; nothing when it holds it already."""
        indexfile.keep_beside(index, self.index_checksum(index))

    def ignored_files(self, skip: Sequence[str] = ()) -> list[str]:
        """The ignored (untracked) files of the working tree, never below the ``skip`` folders."""
        return self.ignored_files_started(skip).result()

    def ignored_files_started(self, skip: Sequence[str] = ()) -> IgnoredListing:
        """``ignored_files``, its process started now and read when asked: it walks the working
        tree while the caller does something else (a snapshot)."""
        args = ["ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", "."]
        args += [f":(exclude,top,literal){prefix}" for prefix in skip]
        return IgnoredListing(process.start_git(args, self.root), args, self.root)

    def hash_files(self, paths: Sequence[str]) -> list[str]:
        """Write each file's bytes as a blob (no filters: the bytes as they are); return the shas."""
        if not paths:
            return []
        payload = "".join(f"{p}\n" for p in paths).encode("utf-8", "surrogateescape")
        out = self.text("hash-object", "-w", "--no-filters", "--stdin-paths", input=payload)
        return out.split()

    def compact_index(self, index: Path) -> None:
        """Rewrite an index file in version 4 (prefix-compressed paths: less to read and write).

        An index already in version 4 (a change's worktree is made with one) is left as it is.
        """
        with index.open("rb") as fh:
            header = fh.read(8)
        if header != b"DIRC\x00\x00\x00\x04":
            self.run("update-index", "--index-version", "4", index=index)
