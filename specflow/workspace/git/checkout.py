"""A checkout's own state: its index and what is edited in it, its worktrees and its config."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from specflow.workspace import indexfile, indextrees, looseobjects
from specflow.workspace.git.base import GitBase
from specflow.workspace.git.values import ZERO_SHA, IndexEntry, WorktreeInfo


def _nul_list(out: bytes) -> list[str]:
    """The paths of a ``-z`` listing."""
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


class Checkout(GitBase):
    """The index, the edited and untracked files, the worktrees and the config of a checkout."""

    def index_entries(self, index: Path | None = None, paths: Sequence[str] = ()) -> dict[str, IndexEntry]:
        """``path -> entry`` of an index file (default: the real one), stage 0 and conflicts."""
        args = ["ls-files", "-s", "-z"]
        if paths:
            args += ["--", *(f":(literal){p}" for p in paths)]
        out = self.run(*args, index=index)
        entries: dict[str, IndexEntry] = {}
        for rec in out.decode("utf-8", "surrogateescape").split("\0"):
            if not rec:
                continue
            meta, _, path = rec.partition("\t")
            mode, sha, stage = meta.split()
            entries[path] = IndexEntry(mode, sha, int(stage))
        return entries

    def flagged_entries(self, index: Path | None = None) -> dict[str, tuple[str, ...]]:
        """``path -> flags`` of an index's entries marked ``assume-unchanged`` or ``skip-worktree``.

        Both make git (and a snapshot built from that index) look away from the file's edits.
        """
        out = self.run("ls-files", "-v", "-z", index=index)
        flagged: dict[str, tuple[str, ...]] = {}
        for rec in out.decode("utf-8", "surrogateescape").split("\0"):
            tag, _, path = rec.partition(" ")
            flags = (("assume-unchanged",) if tag.islower() else ()) + (
                ("skip-worktree",) if tag.upper() == "S" else ()
            )
            if path and flags:
                flagged[path] = flags
        return flagged

    def set_index_flag(self, paths: Sequence[str], flag: str, *, on: bool) -> None:
        """Set or clear ``flag`` (``assume-unchanged`` or ``skip-worktree``) of ``paths`` in the real index."""
        if not paths:
            return
        payload = ("\0".join(paths) + "\0").encode("utf-8", "surrogateescape")
        self.run("update-index", "-z", f"--{'' if on else 'no-'}{flag}", "--stdin", input=payload)

    def set_index_entries(self, entries: Mapping[str, IndexEntry | None]) -> None:
        """Put entries into the real index (None removes the path) with ``update-index``."""
        if not entries:
            return
        lines = []
        for path, entry in entries.items():
            if entry is None:
                lines.append(f"0 {ZERO_SHA}\t{path}")
            else:
                lines.append(f"{entry.mode} {entry.sha} {entry.stage}\t{path}")
        payload = ("\0".join(lines) + "\0").encode("utf-8", "surrogateescape")
        self.run("update-index", "-z", "--index-info", input=payload)

    def reset_index_paths(self, commit: str, paths: Sequence[str]) -> None:
        """Make the real index match ``commit`` for ``paths`` (``git reset -- paths``)."""
        if not paths:
            return
        payload = ("\0".join(paths) + "\0").encode("utf-8", "surrogateescape")
        self.run("reset", "-q", "--pathspec-from-file=-", "--pathspec-file-nul", commit, input=payload)

    def reset_mixed(self, commit: str) -> None:
        """Move the checked-out branch to ``commit`` and the index with it; files untouched."""
        self.run("reset", "-q", "--mixed", commit)

    def status(self, *, untracked: bool = True) -> list[str]:
        """``git status --porcelain`` lines (never rewrites the index)."""
        mode = "--untracked-files=all" if untracked else "--untracked-files=no"
        out = self.run("status", "--porcelain=v1", "-z", mode)
        lines: list[str] = []
        parts = out.decode("utf-8", "surrogateescape").split("\0")
        i = 0
        while i < len(parts):
            rec = parts[i]
            if rec:
                lines.append(rec)
                if rec[:1] in ("R", "C"):
                    i += 1  # the rename source follows
            i += 1
        return lines

    def staged_paths(self) -> list[str]:
        """Paths whose index entry differs from HEAD's: staged changes (no scan of the working tree).

        None at all when the tree the index holds is HEAD's, worked out without a process
        (``indextrees``: only the folders whose cached tree is invalid are hashed; nothing is written).
        """
        if self._index_holds_head():
            return []
        return _nul_list(self.run("diff-index", "--cached", "--name-only", "-z", "--no-renames", "HEAD"))

    def _index_holds_head(self) -> bool:
        head = self.head_sha_from_files()
        if head is None or self.object_format() != "sha1" or not looseobjects.has_object(self.common_dir, head):
            return False  # HEAD's tree would cost a process: diff-index answers in one
        index = self.real_index()
        try:
            data = index.read_bytes()
        except OSError:
            return False
        entries, end = self._parsed_index(index, data)
        if not end:
            return False
        found = indextrees.write_tree(data, entries, end, indexfile.tree_id, keep_from=len(entries) + 1)
        return found is not None and found[0].hex() == self.tree_of(head)

    def edited_paths(self, among: Sequence[str] | None = None) -> list[str]:
        """Tracked files whose working-tree copy differs from the index (no scan for untracked files).

        ``among``: look at those paths only (stat data of a few files instead of every one).
        """
        args = ["diff", "--name-only", "-z", "--no-ext-diff", "--no-renames"]
        if among is not None:
            if not among or self._surely_unedited(among):
                return []
            args += ["--", *(f":(literal){p}" for p in among)]
        return _nul_list(self.run(*args))

    def _surely_unedited(self, paths: Sequence[str]) -> bool:
        """True when git would call none of ``paths`` edited, read from the index without a
        process: each is untracked (and no tracked folder), or its file has exactly the stat
        data its entry records, written before the index (not racily clean), with no flag."""
        index = self.real_index()
        try:
            written = index.stat().st_mtime_ns // 1_000_000_000
        except OSError:
            return False
        entries = self._parsed_index(index)[0]
        if not entries:
            return False
        folders = self.index_folders(index)
        for rel in paths:
            key = rel.encode("utf-8", "surrogateescape")
            entry = entries.get(key)
            if key in folders:
                return False
            if entry is None:
                continue
            try:
                st = os.lstat(self.root / rel)
            except OSError:
                return False
            if entry[-2] & 0xF0 or not indexfile.same_stat(entry, st) or int.from_bytes(entry[8:12], "big") >= written:
                return False
        return True

    def untracked_among(self, paths: Sequence[str]) -> list[str]:
        """Those of ``paths`` that are untracked files git does not ignore."""
        if not paths:
            return []
        return _nul_list(
            self.run("ls-files", "-z", "--others", "--exclude-standard", "--", *(f":(literal){p}" for p in paths))
        )

    def operation_in_progress(self) -> str | None:
        """A merge, rebase, cherry-pick or revert left half done in this working tree, if any."""
        for name, what in (
            ("MERGE_HEAD", "a merge"),
            ("rebase-merge", "a rebase"),
            ("rebase-apply", "a rebase"),
            ("CHERRY_PICK_HEAD", "a cherry-pick"),
            ("REVERT_HEAD", "a revert"),
        ):
            if (self.git_dir / name).exists():
                return what
        return None

    def worktree_add(self, path: Path, branch: str, start: str | None, *, no_checkout: bool = False) -> None:
        """``git worktree add`` on ``branch``, creating it from ``start`` when given.

        Its index is written in version 4, as specflow's snapshots keep theirs.
        """
        args = ["-c", "index.version=4", "worktree", "add", "--quiet"]
        if no_checkout:
            args.append("--no-checkout")
        if start is not None:
            args += ["-b", branch, str(path), start]
        else:
            args += [str(path), branch]
        self.run(*args)

    def worktree_remove(self, path: Path, *, force: bool = False) -> None:
        args = ["worktree", "remove"]
        if force:
            args += ["--force", "--force"]
        self.run(*args, str(path))

    def worktree_prune(self) -> None:
        self.run("worktree", "prune")

    def worktrees(self) -> list[WorktreeInfo]:
        """Every working tree of the repository, the main one first."""
        out = self.text("worktree", "list", "--porcelain", "-z")
        result: list[WorktreeInfo] = []
        fields: dict[str, str] = {}
        for rec in [*out.split("\0"), ""]:
            if rec:
                key, _, value = rec.partition(" ")
                fields[key] = value
                continue
            if "worktree" in fields:
                branch = fields.get("branch")
                result.append(
                    WorktreeInfo(
                        Path(fields["worktree"]),
                        fields.get("HEAD"),
                        branch.removeprefix("refs/heads/") if branch else None,
                        "locked" in fields,
                        "prunable" in fields,
                    )
                )
            fields = {}
        return result

    def enable_sparse(self, worktree_git_dir: Path, patterns: Sequence[str]) -> None:
        """Make a linked worktree sparse (non-cone ``patterns``), for that worktree only.

        Uses per-worktree configuration (``extensions.worktreeConfig``, as ``git sparse-checkout``
        itself does) and tells git to expect files outside the patterns, so the links specflow
        puts where excluded folders were do not turn the skip-worktree bits off again.
        """
        if self.config_get("extensions.worktreeConfig") != "true":
            self.run("config", "extensions.worktreeConfig", "true")
        (worktree_git_dir / "info").mkdir(parents=True, exist_ok=True)
        (worktree_git_dir / "info" / "sparse-checkout").write_text("\n".join(patterns) + "\n", encoding="utf-8")
        (worktree_git_dir / "config.worktree").write_text(
            "[core]\n\tsparseCheckout = true\n\tsparseCheckoutCone = false\n"
            "[sparse]\n\texpectFilesOutsideOfPatterns = true\n",
            encoding="utf-8",
        )

    def checkout_head(self) -> None:
        """Fill the index and working tree from HEAD (after ``worktree add --no-checkout``)."""
        self.run("read-tree", "-m", "-u", "HEAD")

    def config_set(self, key: str, value: str) -> None:
        self.run("config", key, value)

    def add_excludes(self, patterns: Sequence[str], comment: str) -> None:
        """Append ``patterns`` to the repository's ``info/exclude`` (never the user's .gitignore)."""
        path = self.common_dir / "info" / "exclude"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        present = set(text.splitlines())
        missing = [p for p in patterns if p not in present]
        if not missing:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        block = ("" if not text or text.endswith("\n") else "\n") + f"# {comment}\n"
        with path.open("a", encoding="utf-8") as fh:
            fh.write(block + "\n".join(missing) + "\n")
