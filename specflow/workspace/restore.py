"""Restoring rejected work: put back into the workspaces what an audit saved before removing it.

The save of checkpoint ``n`` (``specflow.workspace.rejected``) says, per workspace, what each
rejected path was when the audit found it.  A path is restored only when it is still as the audit
left it (the checkpoint's version); a path edited since is someone's newer work, and the restore
refuses — listing every such path — unless forced, in which case the present is checkpointed
first, so the forced restore can itself be reverted.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from specflow.errors import WorkspaceError
from specflow.structs import Struct, field
from specflow.workspace.checkpoints import Checkpoint, Workspace
from specflow.workspace.checkpointstore import CheckpointStore
from specflow.workspace.git import TreeChange
from specflow.workspace.putback import put_back
from specflow.workspace.rejected import (
    SavedFiles,
    move_aside,
    read_manifest,
    restore_command,
    saved_files,
    saved_numbers,
    trash_dir,
)


class Owner(Protocol):
    """What a restore uses of the change's ``Workspaces``: its id and hub, its workspaces and
    checkpoints, and a checkpoint taken before a forced restore."""

    @property
    def change_id(self) -> str: ...

    @property
    def hub(self) -> Path: ...

    @property
    def store(self) -> CheckpointStore: ...

    def workspaces(self) -> list[Workspace]: ...

    def checkpoint(self, *, phase: str, state: str, reason: str = ...) -> Checkpoint: ...


class RestoreResult(Struct, frozen=True):
    """What a restore put back: files per workspace, folders, and the checkpoint taken first (forced)."""

    change_id: str
    checkpoint: int
    restored: dict[str, list[str]] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    undo: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change_id,
            "checkpoint": self.checkpoint,
            "restored": {k: list(v) for k, v in self.restored.items()},
            "folders": list(self.folders),
            "undo_checkpoint": self.undo,
        }

    def summary(self) -> str:
        n = sum(len(v) for v in self.restored.values()) + len(self.folders)
        text = f"restored {n} path(s) saved by the audit of checkpoint #{self.checkpoint} of {self.change_id}"
        if self.undo is not None:
            text += f"; your versions were checkpointed first: 'specflow revert {self.change_id} --to {self.undo}'"
        return text


class _Plan(Struct):
    """One workspace's part of a restore: what to write, and what was edited since the audit."""

    ws: Workspace
    saved: SavedFiles
    saved_tree: str
    todo: list[TreeChange] = field(default_factory=list)
    edited: list[TreeChange] = field(default_factory=list)


def restore_rejected(
    owner: Owner, number: int | None, paths: Sequence[str], *, force: bool, state: str
) -> RestoreResult:
    """Put back the work the audit of checkpoint ``number`` (default: the latest save) saved.

    ``paths``: only these (a file, or a folder and everything under it).  ``state``: the change's
    state, recorded in the checkpoint a forced restore takes first.
    """
    spaces = owner.workspaces()
    number = _pick(owner, spaces, number)
    wanted = _matcher(paths)
    plans, missing = _plan(owner, spaces, number, wanted)
    folders = _folders(owner, number, wanted)
    _check(owner, number, paths, plans, folders, missing, force=force)
    busy = any(p.edited for p in plans) or any(os.path.lexists(original) for original, _ in folders)
    undo = None
    if busy:  # forced: the present is checkpointed first, so 'specflow revert' brings it back
        undo = owner.checkpoint(phase="restore", state=state, reason="before a forced restore of rejected work").number
    restored, moved = _write(owner, number, plans, folders)
    return RestoreResult(owner.change_id, number, restored, moved, undo)


def _check(
    owner: Owner,
    number: int,
    paths: Sequence[str],
    plans: Sequence[_Plan],
    folders: Sequence[tuple[str, str]],
    missing: Sequence[str],
    *,
    force: bool,
) -> None:
    """Refuse, writing nothing, when a workspace is gone, nothing is left, or edits would be lost."""
    if missing:
        raise WorkspaceError(
            f"the work saved under checkpoint #{number} cannot go back: " + "; ".join(missing),
            fix="make the workspace again (specflow advance recreates a change's worktrees), then restore",
        )
    if not any(p.todo or p.edited for p in plans) and not folders:
        raise WorkspaceError(
            f"nothing to restore from checkpoint #{number} of '{owner.change_id}'"
            + (f" under {', '.join(paths)}" if paths else "")
            + ": every saved path is already as the agent left it",
            fix=f"'git show' the refs under refs/specflow/rejected/{owner.change_id}/{number}/ to see what was saved",
        )
    busy = [f"{p.ws.key}:{c.path}" for p in plans for c in p.edited]
    busy += [original for original, _saved in folders if os.path.lexists(original)]
    if busy and not force:
        raise WorkspaceError(
            f"{len(busy)} path(s) changed since the audit put them back, and restoring would overwrite"
            " them: " + ", ".join(busy[:10]) + (f" and {len(busy) - 10} more" if len(busy) > 10 else ""),
            fix="commit or move your versions away and restore again, or add --force (your versions are"
            " checkpointed first, so 'specflow revert' brings them back)",
        )


def _write(
    owner: Owner, number: int, plans: Sequence[_Plan], folders: Sequence[tuple[str, str]]
) -> tuple[dict[str, list[str]], list[str]]:
    """Write every planned path and move every saved folder back; return what was restored."""
    restored: dict[str, list[str]] = {}
    errors: list[str] = []
    for plan in plans:
        todo = plan.todo + plan.edited
        if not todo:
            continue
        errors += put_back(plan.ws, todo, plan.saved_tree, aside=lambda loc, rel: _aside(owner, number, loc, rel))
        restored[plan.ws.key] = sorted(c.path for c in todo)
    moved: list[str] = []
    for original, saved in folders:
        if os.path.lexists(original):  # forced: the version there now is kept in the trash
            _aside(owner, number, Path(original), Path(original).name)
        Path(original).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(saved, original)
        moved.append(original)
    if errors:
        raise WorkspaceError(
            "the restore could not write: " + "; ".join(errors),
            fix=f"fix the cause named above and run '{restore_command(owner.change_id, number)}' again",
        )
    return restored, moved


def _pick(owner: Owner, spaces: Sequence[Workspace], number: int | None) -> int:
    numbers = saved_numbers(owner.store, spaces)
    if not numbers:
        raise WorkspaceError(
            f"no audit of '{owner.change_id}' has put anything back, so there is nothing to restore",
            fix=f"'specflow history {owner.change_id} --verbose' shows each attempt's gate violations",
        )
    if number is None:
        return numbers[-1]
    if number not in numbers:
        raise WorkspaceError(
            f"the audit of checkpoint #{number} of '{owner.change_id}' saved nothing"
            f" (saves exist for checkpoint(s) {', '.join(map(str, numbers))})",
            fix="pick one of those; 'specflow history' names the save of each attempt",
        )
    return number


def _matcher(paths: Sequence[str]) -> Callable[[str], bool]:
    wanted = [p.strip("/") for p in paths if p.strip("/")]

    def match(path: str) -> bool:
        return not wanted or any(path == w or path.startswith(w + "/") for w in wanted)

    return match


def _plan(
    owner: Owner, spaces: Sequence[Workspace], number: int, wanted: Callable[[str], bool]
) -> tuple[list[_Plan], list[str]]:
    by_key = {ws.key: ws for ws in spaces}
    plans: list[_Plan] = []
    missing: list[str] = []
    for saved in saved_files(owner.store, number, spaces):
        ws = by_key.get(saved.key)
        if ws is None:
            missing.append(f"the workspace '{saved.key}' is gone (its files are in {saved.ref})")
            continue
        repo = ws.repo
        old_tree = repo.text("rev-parse", f"{saved.checkpoint_commit}^{{tree}}").strip()
        saved_tree = repo.text("rev-parse", f"{saved.commit}^{{tree}}").strip()
        rejected = {c.path for c in repo.diff_trees(old_tree, saved_tree) if wanted(c.path)}
        now = owner.store.snapshot(ws)
        since_audit = {c.path for c in repo.diff_trees(old_tree, now)}
        plan = _Plan(ws, saved, saved_tree)
        for change in repo.diff_trees(saved_tree, now):
            if change.path not in rejected or change.old_mode == "160000":
                continue  # already back, or a nested repository (moved back whole, with the folders)
            if change.path in since_audit:
                plan.edited.append(change)
            else:
                plan.todo.append(change)
        plans.append(plan)
    return plans, missing


def _folders(owner: Owner, number: int, wanted: Callable[[str], bool]) -> list[tuple[str, str]]:
    """``(original, saved)`` of each folder the audit moved aside that matches the paths asked for."""
    trash = trash_dir(owner.store, number)
    found = []
    for rel, original in read_manifest(trash).items():
        saved = trash / rel
        if not os.path.lexists(saved) or rel.startswith(("overwritten/", "git/")):
            continue  # restored already, or git's own files (kept to look at, never planted again)
        shown = _shown(owner.hub, Path(original))
        if wanted(shown) or wanted(rel.split("/", 1)[-1]):
            found.append((original, str(saved)))
    return found


def _shown(hub: Path, path: Path) -> str:
    try:
        return path.relative_to(hub).as_posix()
    except ValueError:
        return str(path)


def _aside(owner: Owner, number: int, loc: Path, label: str) -> None:
    move_aside(owner.store, number, loc, "overwritten/" + label.removeprefix("overwritten/"))
