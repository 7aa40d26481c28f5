"""What git answers, as values: HEAD, a tree change, an index entry, a worktree, a commit, a merge preview."""

from __future__ import annotations

from pathlib import Path

from specflow.structs import Struct

ZERO_SHA = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class Head(Struct, frozen=True):
    """Where HEAD points: a branch (``ref``) or a detached commit (``sha``)."""

    ref: str | None
    sha: str | None

    def describe(self) -> str:
        if self.ref:
            return self.ref.removeprefix("refs/heads/")
        return f"detached at {self.sha[:10]}" if self.sha else "no commit"

    def to_dict(self) -> dict[str, str | None]:
        return {"ref": self.ref, "sha": self.sha}


class TreeChange(Struct, frozen=True):
    """One path that differs between two trees (``diff-tree --raw``)."""

    path: str
    status: str  # A, D, M, T
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str

    @property
    def old_exists(self) -> bool:
        return self.old_mode != "000000"

    @property
    def new_exists(self) -> bool:
        return self.new_mode != "000000"


class IndexEntry(Struct, frozen=True):
    """One entry of an index file: mode, blob and stage of a path."""

    mode: str
    sha: str
    stage: int


class WorktreeInfo(Struct, frozen=True):
    """One working tree of a repository, from ``git worktree list --porcelain``."""

    path: Path
    head: str | None
    branch: str | None
    locked: bool = False
    prunable: bool = False


class CommitInfo(Struct, frozen=True):
    """A commit, as refusals describe it."""

    sha: str
    summary: str
    author: str
    parents: tuple[str, ...]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    def describe(self) -> str:
        return f"{self.sha[:10]} {self.summary!r} by {self.author}"


class MergePreview(Struct, frozen=True):
    """What ``git merge-tree --write-tree`` says a merge would give."""

    clean: bool
    tree: str
    conflicts: tuple[str, ...]
