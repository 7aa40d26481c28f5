"""Reverting a change's workspaces to a checkpoint, refusing where it would lose others' work.

The present is checkpointed first, so a revert can itself be reverted.  Like aider's undo, it only
undoes what specflow made: commits the user made, merge commits, a HEAD on another branch or a
merge in progress each refuse, with their own message and fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from specflow.errors import WorkspaceError
from specflow.structs import Struct, field
from specflow.workspace.checkpoints import Checkpoint, Workspace, WorkspaceSnapshot
from specflow.workspace.putback import GITLINK, put_back

if TYPE_CHECKING:
    from specflow.workspace.workspaces import Workspaces


class RevertResult(Struct, frozen=True):
    """What a revert did: the checkpoint restored, the one taken first (to undo it), the files."""

    change_id: str
    to: int
    undo: int
    from_state: str
    to_state: str
    restored: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change_id,
            "to": self.to,
            "undo_checkpoint": self.undo,
            "from": self.from_state,
            "state": self.to_state,
            "restored": {k: list(v) for k, v in self.restored.items()},
            "notes": list(self.notes),
            "errors": list(self.errors),
        }

    def summary(self) -> str:
        n = sum(len(v) for v in self.restored.values())
        text = (
            f"restored checkpoint #{self.to}: {n} file(s) put back, state {self.from_state} -> {self.to_state};"
            f" undo with 'specflow revert {self.change_id} --to {self.undo}'"
        )
        return text


def pick_checkpoint(checkpoints: Sequence[Checkpoint], to: int | None, change_id: str) -> Checkpoint:
    """Checkpoint ``to`` (default: the latest) among ``checkpoints``; an error names the ones there are."""
    if not checkpoints:
        raise WorkspaceError(
            f"change '{change_id}' has no checkpoint to revert to",
            fix="checkpoints are taken before every agent turn; advance the change first",
        )
    if to is None:
        return checkpoints[-1]
    found = [cp for cp in checkpoints if cp.number == to]
    if not found:
        known = ", ".join(str(cp.number) for cp in checkpoints)
        raise WorkspaceError(
            f"change '{change_id}' has no checkpoint #{to} (it has: {known})",
            fix=f"pick one of them; 'specflow checkpoints {change_id}' lists them",
        )
    return found[0]


def revert(owner: Workspaces, target: Checkpoint, state: str) -> RevertResult:
    """Restore every workspace to checkpoint ``target``; the change is in ``state`` now.

    The present is checkpointed first, so the revert itself can be reverted.  Refuses, each
    case with its own message, where it would discard commits specflow did not make.  The
    caller holds the change's lock and records the revert in the change's history.
    """
    checkpoints = owner.checkpoints()
    present = {ws.key: ws for ws in owner.workspaces()}
    moves = _revert_checks(owner, target, checkpoints, present)
    undo = owner.checkpoint(phase="revert", state=state, reason=f"before revert to #{target.number}")
    restored: dict[str, list[str]] = {}
    notes: list[str] = []
    errors: list[str] = []
    for key, snap in target.workspaces.items():
        ws = present.get(key)
        if ws is None:
            continue
        if ws.kind == "checkout":
            # a component repo's own checkout is no workspace of the change's: the audit already
            # put back anything an agent did there, so what differs now is the user's own work
            notes.append(f"{key}: left alone (the repo's own checkout is not the change's)")
            continue
        if key in moves:
            ws.repo.reset_mixed(moves[key])
        now_tree = undo.workspaces[key].tree
        changes = [
            c
            for c in ws.repo.diff_trees(snap.tree, now_tree)
            if not ws.ignored(c.path)
            and not _other_change(owner, ws, c.path)
            and GITLINK not in (c.old_mode, c.new_mode)  # nested repositories are never touched
        ]
        errors += put_back(ws, changes, snap.tree)
        if changes:
            restored[key] = [c.path for c in changes]
        head_now = ws.repo.head_file()[0]
        if ws.kind != "worktree" and snap.head.ref and head_now == snap.head.ref:
            tip = undo.workspaces[key].head.sha
            if tip and tip != snap.head.sha:
                notes.append(
                    f"{key}: {snap.head.describe()} has commits made since checkpoint #{target.number};"
                    " they are kept, their changes are undone in the working tree only"
                )
    for key in present:
        if key not in target.workspaces:
            notes.append(f"{key}: did not exist at checkpoint #{target.number}; left as it is")
    return RevertResult(owner.change_id, target.number, undo.number, state, target.state, restored, notes, errors)


def _other_change(owner: Workspaces, ws: Workspace, rel: str) -> bool:
    """True for hub paths inside another change's folder: a revert leaves them alone."""
    if ws.kind != "hub" or not rel.startswith("openspec/changes/"):
        return False
    parts = rel.split("/")
    if len(parts) < 4:
        return False
    if parts[2] == "archive":
        own = re.fullmatch(r"(\d{4}-\d{2}-\d{2}-)?" + re.escape(owner.change_id), parts[3]) is not None
        return not own
    return parts[2] != owner.change_id


def _revert_checks(
    owner: Workspaces, target: Checkpoint, checkpoints: Sequence[Checkpoint], present: dict[str, Workspace]
) -> dict[str, str]:
    """Refuse what would lose work; return worktrees whose branch must move back (key -> sha)."""
    moves: dict[str, str] = {}
    for key, snap in target.workspaces.items():
        ws = present.get(key)
        if ws is None:
            raise WorkspaceError(
                f"{key} ({snap.path}) existed at checkpoint #{target.number} but is gone now",
                fix="recreate it (advancing into a worktree phase recreates worktrees), or pick a later checkpoint",
            )
        _check_head(key, ws, snap, target)
        sha = _branch_move(owner, key, ws, snap, target, checkpoints)
        if sha is not None:
            moves[key] = sha
    return moves


def _check_head(key: str, ws: Workspace, snap: WorkspaceSnapshot, target: Checkpoint) -> None:
    """Refuse when ``key`` is mid-operation or its HEAD is no longer where the checkpoint saw it."""
    doing = ws.repo.operation_in_progress()
    if doing:
        raise WorkspaceError(
            f"{doing} is in progress in {key} ({ws.path})",
            fix=f"finish it or abort it (e.g. git -C {ws.path} merge --abort), then revert",
        )
    ref, detached = ws.repo.head_file()
    if snap.head.ref and ref != snap.head.ref:
        now = ref.removeprefix("refs/heads/") if ref else f"a detached HEAD ({(detached or '')[:10]})"
        raise WorkspaceError(
            f"HEAD of {key} ({ws.path}) is on {now}; at checkpoint #{target.number} it was on {snap.head.describe()}",
            fix=f"switch back first (git -C {ws.path} switch {snap.head.describe()});"
            " a revert does not move HEAD to another branch",
        )
    if not snap.head.ref and (ref is not None or detached != snap.head.sha):
        raise WorkspaceError(
            f"HEAD of {key} ({ws.path}) moved since checkpoint #{target.number} (it was {snap.head.describe()})",
            fix=f"put it back first (git -C {ws.path} switch --detach {snap.head.sha})",
        )


def _branch_move(
    owner: Workspaces,
    key: str,
    ws: Workspace,
    snap: WorkspaceSnapshot,
    target: Checkpoint,
    checkpoints: Sequence[Checkpoint],
) -> str | None:
    """The commit a worktree's branch must move back to, or None; refuses over commits specflow did not make."""
    if ws.kind != "worktree" or not snap.head.ref or not snap.head.sha:
        return None
    now_sha = ws.repo.resolve(snap.head.ref)
    if now_sha is None or now_sha == snap.head.sha:
        return None
    branch = snap.head.describe()
    # the commits the move would take off the branch (none when it only moves forward)
    commits = ws.repo.commits(f"{snap.head.sha}..{now_sha}")
    merges = [c for c in commits if c.is_merge]
    if merges:
        raise WorkspaceError(
            f"reverting {key} to checkpoint #{target.number} would discard the merge commit"
            f" {merges[0].describe()} on {branch}",
            fix=f"undo a merge with git yourself (git -C {ws.path} reset --keep <commit>), or pick a later checkpoint",
        )
    made = _agent_commits(owner, key, ws, target, checkpoints)
    foreign = [c for c in commits if c.sha not in made]
    if foreign:
        shown = "; ".join(c.describe() for c in foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise WorkspaceError(
            f"reverting {key} to checkpoint #{target.number} would discard {len(foreign)}"
            f" commit(s) on {branch} that specflow did not make: {shown}",
            fix=f"keep them on a branch (git -C {ws.path} branch keep-{owner.change_id} {now_sha[:10]})"
            f" and move {branch} back yourself (git -C {ws.path} reset --keep {snap.head.sha[:10]}),"
            " or pick a later checkpoint",
        )
    return snap.head.sha


def _agent_commits(
    owner: Workspaces, key: str, ws: Workspace, target: Checkpoint, checkpoints: Sequence[Checkpoint]
) -> set[str]:
    """Commits an agent made on ``key``'s branch during audited turns since ``target``."""
    made: set[str] = set()
    for cp in checkpoints:
        if cp.number < target.number or key not in cp.workspaces:
            continue
        snap = cp.workspaces[key]
        after = owner.store.read_audit(cp.number).get(str(ws.repo_id), {}).get(snap.head.ref or "")
        if snap.head.sha and after and after != snap.head.sha:
            made.update(ws.repo.rev_list(f"{snap.head.sha}..{after}"))
    return made
