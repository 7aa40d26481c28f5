"""Checkpoints: every workspace of a change, snapshot as git commits before each agent turn.

A checkpoint numbered ``n`` is one commit per workspace under
``refs/specflow/checkpoints/<id>/<n>/<workspace>`` in that workspace's repository.  Each commit's
tree is the working tree as it was — tracked and untracked files, ignored ones left out, as git
sees them — written through a temporary index, so HEAD, the real index, the stash and the
working tree are never touched.  Its parent is the workspace's HEAD at that moment.  The hub's
commit carries the checkpoint's record (time, phase, state, every workspace's commit) as JSON in
its message, so one ``for-each-ref`` lists every checkpoint.

This module holds what a checkpoint is: its records (``Workspace``, ``WorkspaceSnapshot``,
``Checkpoint``) and the refs it lives under.  ``specflow.workspace.checkpointstore`` takes, lists
and reads them; ``specflow.workspace.checkpointfiles`` keeps what only this machine needs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from specflow.structs import Struct, field
from specflow.workspace.git import GitRepo, Head

REF_ROOT = "refs/specflow/checkpoints"
HUB_KEY = "hub"
REJECTED_ROOT = "refs/specflow/rejected"
#: specflow's own refs: never snapshot, never put back (checkpoints and saved work live there).
SPECFLOW_REFS = "refs/specflow/"

WorkspaceKind = Literal["hub", "worktree", "checkout"]

#: Left out of every snapshot: the changes' own records (see ``_RECORDS``).
SNAPSHOT_EXCLUDE = ("openspec/changes/**/.specflow/**",)

# Every change's own records (state.json, history.jsonl): written by the engine, never audited or
# restored.  They may sit in an open change or in its archived folder.
_RECORDS = re.compile(r"(?:^|/)openspec/changes/(?:archive/)?[^/]+/\.specflow(?:/|$)")


class Workspace(Struct, frozen=True):
    """A working tree the change's agent could write to: the hub, a worktree, a repo's checkout."""

    key: str
    kind: WorkspaceKind
    path: Path
    repo: GitRepo
    skip: tuple[str, ...] = ()
    """Relative path prefixes that belong elsewhere (nested repos, specflow's own folders)."""

    @property
    def repo_id(self) -> Path:
        return self.repo.common_dir

    def ignored(self, rel: str) -> bool:
        """True for paths the audit and revert leave alone (specflow's records, nested repos)."""
        if _RECORDS.search(rel):
            return True
        return any(rel == s or rel.startswith(s + "/") for s in self.skip)


class WorkspaceSnapshot(Struct, frozen=True):
    """One workspace as a checkpoint recorded it."""

    key: str
    kind: str
    path: Path
    commit: str
    tree: str
    head: Head

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "path": str(self.path),
            "commit": self.commit,
            "tree": self.tree,
            "head_ref": self.head.ref,
            "head": self.head.sha,
        }

    @classmethod
    def from_dict(cls, key: str, data: dict[str, Any]) -> WorkspaceSnapshot:
        return cls(
            key,
            str(data.get("kind", "hub")),
            Path(str(data["path"])),
            str(data["commit"]),
            str(data["tree"]),
            Head(data.get("head_ref"), data.get("head")),
        )


class Checkpoint(Struct, frozen=True):
    """A numbered snapshot of every workspace of a change."""

    change_id: str
    number: int
    time: str
    phase: str
    state: str
    reason: str
    workspaces: dict[str, WorkspaceSnapshot] = field(default_factory=dict)

    @property
    def refs(self) -> dict[str, str]:
        """Workspace -> checkpoint commit sha."""
        return {k: w.commit for k, w in self.workspaces.items()}

    def with_commit(self, key: str, commit: str) -> Checkpoint:
        """A copy with workspace ``key``'s commit filled in."""
        snap = self.workspaces[key]
        spaces = dict(self.workspaces)
        spaces[key] = WorkspaceSnapshot(key, snap.kind, snap.path, commit, snap.tree, snap.head)
        return Checkpoint(self.change_id, self.number, self.time, self.phase, self.state, self.reason, spaces)

    def ref_name(self, key: str) -> str:
        return f"{REF_ROOT}/{self.change_id}/{self.number}/{key}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "time": self.time,
            "phase": self.phase,
            "state": self.state,
            "reason": self.reason,
            "refs": self.refs,
        }

    def message(self) -> str:
        record = {
            "change": self.change_id,
            "number": self.number,
            "time": self.time,
            "phase": self.phase,
            "state": self.state,
            "reason": self.reason,
            "workspaces": {k: w.to_dict() for k, w in self.workspaces.items()},
        }
        title = f"specflow checkpoint #{self.number} of {self.change_id} ({self.phase}, state {self.state})"
        return title + "\n\n" + json.dumps(record, sort_keys=True) + "\n"

    @classmethod
    def from_message(cls, text: str) -> Checkpoint | None:
        start = text.find("\n{")
        if start < 0:
            return None
        try:
            data = json.loads(text[start + 1 :])
            return cls(
                str(data["change"]),
                int(data["number"]),
                str(data["time"]),
                str(data.get("phase", "")),
                str(data.get("state", "")),
                str(data.get("reason", "")),
                {k: WorkspaceSnapshot.from_dict(k, v) for k, v in data["workspaces"].items()},
            )
        except (ValueError, KeyError, TypeError):
            return None
