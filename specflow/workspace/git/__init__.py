"""Every git call specflow makes, in one place: the git door.

Plumbing runs as plain ``git`` subprocesses, all started by ``process`` (fast, and with full control
of the environment: a temporary index through ``GIT_INDEX_FILE``, optional locks off so read-only
queries never rewrite a user's index).  Nothing outside this package starts git: a test holds every
other module to that.  What git would answer from its own files without work is read in-process
instead: index files through ``indexfile``, loose objects and refs through ``looseobjects`` and
``looserefs``, trees written from an index's cache tree through ``indextrees``.

``GitRepo`` is one working tree and everything specflow does with it, in parts: ``base`` (opening,
running git, reading HEAD, commits and index files), ``refs``, ``snapshots``, ``diffs``,
``checkout`` (its index, edits, worktrees, config), and ``repo`` (commits and merges).
"""

from specflow.workspace.git.base import find_git_dirs
from specflow.workspace.git.process import (
    SPECFLOW_IDENTITY,
    ChangedUnderAdd,
    config_value,
    git_version,
    run_git,
    who_am_i,
)
from specflow.workspace.git.repo import GitRepo
from specflow.workspace.git.values import (
    EMPTY_TREE,
    ZERO_SHA,
    CommitInfo,
    Head,
    IndexEntry,
    MergePreview,
    TreeChange,
    WorktreeInfo,
)

__all__ = [
    "EMPTY_TREE",
    "SPECFLOW_IDENTITY",
    "ZERO_SHA",
    "ChangedUnderAdd",
    "CommitInfo",
    "GitRepo",
    "Head",
    "IndexEntry",
    "MergePreview",
    "TreeChange",
    "WorktreeInfo",
    "config_value",
    "find_git_dirs",
    "git_version",
    "run_git",
    "who_am_i",
]
