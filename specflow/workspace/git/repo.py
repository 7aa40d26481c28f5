"""``GitRepo``: a working tree of a repository and everything specflow does with it."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from specflow.errors import GitError
from specflow.workspace import looseobjects, looserefs
from specflow.workspace.git import process
from specflow.workspace.git.checkout import Checkout
from specflow.workspace.git.diffs import Diffs
from specflow.workspace.git.process import SPECFLOW_IDENTITY
from specflow.workspace.git.refs import Refs
from specflow.workspace.git.snapshots import Snapshots
from specflow.workspace.git.values import ZERO_SHA, MergePreview


class GitRepo(Refs, Snapshots, Diffs, Checkout):
    """A working tree (a main checkout or a linked worktree) of a git repository."""

    # -- commits --------------------------------------------------------------------------

    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        """A commit of ``tree`` made by specflow (its own identity, never signed).

        Written as git's own object file when the repository is ``looseobjects.plain`` (no process).
        """
        if looseobjects.plain(self.common_dir):
            identity = (SPECFLOW_IDENTITY["GIT_COMMITTER_NAME"], SPECFLOW_IDENTITY["GIT_COMMITTER_EMAIL"])
            return looseobjects.commit(self.common_dir, tree, parents, message, identity, time.time())
        args = ["commit-tree", "--no-gpg-sign"]
        for p in parents:
            args += ["-p", p]
        args.append(tree)
        return self.text(*args, env=SPECFLOW_IDENTITY, input=message.encode("utf-8")).strip()

    def commit_all(
        self, message: str, *, exclude: Sequence[str] = (), stored: Sequence[tuple[str, str, str]] = ()
    ) -> str | None:
        """Stage everything in the working tree (but ``exclude`` globs) and commit it on the
        checked-out branch as specflow; no hook runs, nothing is signed.  None when nothing changed.

        ``add`` is the one scan of the working tree; the tree it staged is written (in-process
        where ``indextrees`` can, else by ``write-tree``) and compared with HEAD's, and only a new
        tree is committed (``commit-tree``, then HEAD's branch moved from the very commit it was
        on, as ``git commit`` does, with the same reflog line).  ``stored``: ``(path, mode,
        blob)`` of big files a snapshot already hashed and stored, unchanged since: staged as
        they are, not hashed again by ``add``.
        """
        pathspec = [".", *(f":(exclude,glob){g}" for g in exclude), *self.set_stored(stored)]
        self.run("add", "-A", "--", *pathspec)
        tree = self._write_tree(self.real_index()) or self.text("write-tree").strip()
        head = self.head_sha_from_files() or self.resolve("HEAD")
        if head is not None and tree == self.tree_of(head):
            return None
        commit = self.commit_tree(tree, [head] if head else [], message)
        subject = message.split("\n", 1)[0]
        self.move_refs([looserefs.RefMove("HEAD", commit, head or ZERO_SHA)], f"commit: {subject}")
        return commit

    def tracks(self, rel: str) -> bool:
        """True when the index of this working tree holds ``rel`` (a file or anything under a folder)."""
        return bool(self.run("ls-files", "-z", "--", rel).strip())

    def remove_committed(self, rel: str, message: str) -> str:
        """Remove ``rel`` from this checkout and commit just that on its branch, as specflow; no hook runs.

        Other staged or local changes of the checkout are left as they are.
        """
        self.run("rm", "-r", "-q", "--", rel)
        self.run("commit", "-q", "--no-verify", "--no-gpg-sign", "-m", message, "--", rel, env=SPECFLOW_IDENTITY)
        return self.text("rev-parse", "HEAD").strip()

    def commit_tree_as_user(self, tree: str, parents: Sequence[str], message: str) -> str:
        """A commit of ``tree`` made as the user (their configured identity), e.g. a merge.

        Written as git's own object file where ``looserefs`` knows the identities git would use
        (no process)."""
        identities = looserefs.user_identities(self.git_dir, self.common_dir)
        if identities is not None and self.object_format() == "sha1":
            author, committer = identities
            return looseobjects.commit(self.common_dir, tree, parents, message, author, time.time(), committer)
        args = ["commit-tree"]
        for p in parents:
            args += ["-p", p]
        args.append(tree)
        return self.text(*args, input=message.encode("utf-8")).strip()

    def edit_tree(self, tree: str, entries: Mapping[str, tuple[str, str] | None], index: Path) -> str:
        """``tree`` with each path set to ``(mode, sha)`` (None removes it), through a temporary index."""
        index.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.run("read-tree", tree, index=index)
            lines = [
                f"0 {ZERO_SHA}\t{path}" if entry is None else f"{entry[0]} {entry[1]} 0\t{path}"
                for path, entry in entries.items()
            ]
            if lines:
                payload = ("\0".join(lines) + "\0").encode("utf-8", "surrogateescape")
                self.run("update-index", "-z", "--index-info", input=payload, index=index)
            return self.text("write-tree", "--missing-ok", index=index).strip()
        finally:
            index.unlink(missing_ok=True)

    def merge_preview(self, base: str, branch: str) -> MergePreview:
        """What merging ``branch`` into ``base`` would give, computed without touching anything."""
        proc = process.run_git(
            ["merge-tree", "--write-tree", "--name-only", "--no-messages", base, branch],
            self.root,
            check=False,
        )
        if proc.returncode not in (0, 1):
            raise GitError(process.failure(["merge-tree", "--write-tree", base, branch], self.root, proc))
        lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
        tree = lines[0].strip() if lines else ""
        conflicts: list[str] = []
        for line in lines[1:]:
            if not line:
                break
            if line not in conflicts:
                conflicts.append(line)
        return MergePreview(proc.returncode == 0, tree, tuple(conflicts))

    def move_checkout(self, branch: str, old: str, new: str, message: str) -> None:
        """Move the checked-out ``branch`` from commit ``old`` to ``new`` with its index and files.

        A two-tree ``read-tree -m -u`` changes only the paths that differ between the two
        commits and refuses (changing nothing) when a local edit or an untracked file is in the
        way; local edits elsewhere stay.  The branch then moves from ``old`` only (``ORIG_HEAD``
        names ``old``, as after ``git merge``); if it moved meanwhile, the files go back.
        """
        self.run("read-tree", "-m", "-u", old, new)
        try:
            moves = [looserefs.RefMove(f"refs/heads/{branch}", new, old), looserefs.RefMove("ORIG_HEAD", old)]
            self.move_refs(moves, message)
        except GitError:
            process.run_git(["read-tree", "-m", "-u", new, old], self.root, check=False)
            raise

    def reset_keep(self, commit: str) -> None:
        """Move the checked-out branch back to ``commit`` keeping local changes (undo a merge)."""
        self.run("reset", "-q", "--keep", commit)
