"""Giving a change up, and taking it back: ``specflow discard <id>`` and ``discard --restore <id>``.

A discarded change is out of the open changes and out of ``openspec list``: its folder moves to
``openspec/changes/archive/discarded/<id>/`` (OpenSpec lists and validates neither the archive nor
anything under it), with its state and history, which record why.  Its worktrees are removed after
a checkpoint of everything in them, so no work is lost; its branches stay unless asked, and while
they stay the change can be restored, in the state it was discarded in.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from specflow.changestate import records
from specflow.changestate.lock import ChangeLock, Holder, pid_alive
from specflow.changestate.machine_id import host_name
from specflow.changestate.recordtypes import Discarded, HistoryEvent, StateRecord
from specflow.engine.engine import Engine
from specflow.engine.runnable import RunnableChange
from specflow.errors import LockedError, StateError
from specflow.structs import Struct, field
from specflow.workspace import journal
from specflow.workspace.checkpoints import HUB_KEY
from specflow.workspace.git import GitRepo, who_am_i
from specflow.workspace.journal import hub_writes
from specflow.workspace.workspaces import Workspaces, for_change

#: How long a running attempt gets to stop after SIGTERM before discard gives up.
STOP_WAIT_S = 30.0
#: How long a stopped holder gets between removing its record and letting go of the lock.
LET_GO_S = 2.0


class DiscardResult(Struct):
    """What ``discard`` did."""

    change_id: str
    moved_to: Path
    reason: str | None
    stopped: Holder | None = None
    checkpoint: int | None = None
    worktrees_removed: list[Path] = field(default_factory=list)
    branches_deleted: list[str] = field(default_factory=list)
    branches_kept: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change_id,
            "moved_to": str(self.moved_to),
            "reason": self.reason,
            "stopped": None if self.stopped is None else self.stopped.describe(),
            "checkpoint": self.checkpoint,
            "worktrees_removed": [str(p) for p in self.worktrees_removed],
            "branches_deleted": self.branches_deleted,
            "branches_kept": self.branches_kept,
        }


def stop_holder(hub_root: Path, change_id: str, wait_s: float = STOP_WAIT_S) -> Holder | None:
    """SIGTERM whoever holds the change's lock on this host, and wait (bounded) for it to let go.

    Returns the holder that was stopped, or None when nobody alive held the lock here.  A holder
    on another machine cannot be stopped from here: taking the lock then says who it is.
    """
    lock = ChangeLock(hub_root, change_id)
    holder = lock.holder()
    if holder is None or holder.host != host_name() or holder.pid == os.getpid():
        return None
    if not pid_alive(holder.pid):
        return None
    try:
        os.kill(holder.pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not pid_alive(holder.pid) or lock.holder() != holder:
            _wait_let_go(hub_root, change_id, min(deadline, time.monotonic() + LET_GO_S))
            return holder
        time.sleep(0.05)
    raise LockedError(
        f"change '{change_id}' is held by {holder.describe()}, which did not stop within {wait_s:g} s of SIGTERM",
        fix=f"stop it yourself (kill {holder.pid}), then run 'specflow discard {change_id}' again",
    )


def _wait_let_go(hub_root: Path, change_id: str, deadline: float) -> None:
    """A stopping holder removes its record a moment before it lets go of the lock itself
    (``ChangeLock.release``): wait, bounded, until the lock can be taken."""
    while True:
        try:
            with ChangeLock(hub_root, change_id, command="discard"):
                return
        except LockedError:
            if time.monotonic() >= deadline:
                return  # taking the lock for the discard says who holds it
            time.sleep(0.02)


class Discard(Struct):
    """One discard of an open change: short steps over what it has done so far."""

    change: RunnableChange
    reason: str | None
    delete_branches: bool
    by: str
    result: DiscardResult = field(init=False)
    workspaces: Workspaces = field(init=False)

    def run(self, wait_s: float) -> DiscardResult:
        change = self.change
        self.refuse_closed()
        destination = change.hub.discarded_dir(change.id)
        self.result = DiscardResult(change.id, destination, self.reason)
        self.result.stopped = stop_holder(change.hub.root, change.id, wait_s)
        with ChangeLock(change.hub.root, change.id, command="discard"):
            # an attempt stopped mid-phase is audited and recorded as interrupted first, as advance would
            Engine(change).recover()
            record = change.require_record()
            self.refuse_taken(destination)
            self.workspaces = for_change(change, record.get("repos"))
            self.save_work(record)
            if change.on_branch:  # everything of it stays on its branches
                self.workspaces.commit(f"specflow({change.id}): discarded\n\nSpecflow-Change: {change.id}\n")
            published = self.published()
            self.move(destination)
            if published:
                self.withdraw()
            self.remove_worktrees()
            self.handle_branches()
            self.record(record)
        return self.result

    def refuse_closed(self) -> None:
        if self.change.archived or not self.change.dir.is_dir():
            raise StateError(
                f"change '{self.change.id}' is archived ({self.change.dir}); only an open change can be discarded",
                fix="an archived change is finished; 'specflow clean' removes its worktrees",
            )

    def refuse_taken(self, destination: Path) -> None:
        if destination.exists():
            raise StateError(
                f"a discarded change '{self.change.id}' is already at {destination}",
                fix=f"restore it first ('specflow discard --restore {self.change.id}'), or remove that folder",
            )

    def save_work(self, record: StateRecord) -> None:
        """A checkpoint of every workspace, so uncommitted work in the worktrees stays recoverable."""
        if not [name for name in self.workspaces.existing() if name != HUB_KEY]:
            return
        cp = self.workspaces.checkpoint(phase="discard", state=record["state"], reason="before discard")
        self.result.checkpoint = cp.number

    def published(self) -> bool:
        """True when the change was published to the hub's base branch (its approval, say).

        Its copy there leaves with it; local edits a person made in that copy refuse the discard.
        """
        if not self.change.on_branch:
            return False
        rel = f"openspec/changes/{self.change.id}"
        repo = GitRepo.open(self.change.hub.root)
        if not repo.tracks(rel):
            return False
        dirty = [line[3:] for line in repo.status() if line[3:].startswith(rel + "/")]
        if dirty:
            raise StateError(
                f"the hub's checkout has local changes in the published copy of '{self.change.id}':"
                f" {', '.join(dirty[:5])}",
                fix=f"commit or stash them (git -C {repo.root} stash), then discard again",
            )
        return True

    def withdraw(self) -> None:
        """Take the published copy off the hub's base branch, in one commit naming the change."""
        GitRepo.open(self.change.hub.root).remove_committed(
            f"openspec/changes/{self.change.id}",
            f"specflow: withdraw change {self.change.id} (discarded)\n\nSpecflow-Change: {self.change.id}\n",
        )

    def remove_worktrees(self) -> None:
        self.result.worktrees_removed = self.workspaces.remove_worktrees(force=True)

    def handle_branches(self) -> None:
        for target in self.workspaces.all_targets():
            repo = GitRepo.open(target.source)
            if not repo.branch_exists(target.branch):
                continue
            label = f"{target.name}:{target.branch}"
            if self.delete_branches:
                repo.update_refs([f"delete refs/heads/{target.branch}"], message=f"specflow discard {self.change.id}")
                self.result.branches_deleted.append(label)
            else:
                self.result.branches_kept.append(label)

    def move(self, destination: Path) -> None:
        """Move the folder out of the open changes, journaled so parallel audits know it was us."""
        hub = self.change.hub
        with hub_writes(hub.root):
            before = journal.snapshot(hub.openspec_dir, hub.root)
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self.change.dir, destination)
            self.change.dir = destination
            after = journal.snapshot(hub.openspec_dir, hub.root)
            journal.record(hub.root, self.change.id, journal.changed(before, after))

    def record(self, record: StateRecord) -> None:
        discarded = Discarded(
            at=records.now_iso(), by=self.by, reason=self.reason, branches_deleted=self.delete_branches
        )
        event = HistoryEvent(
            reason=self.reason or "",
            moved_to=str(self.result.moved_to.relative_to(self.change.hub.root)),
            worktrees_removed=[str(p) for p in self.result.worktrees_removed],
            branches_deleted=self.result.branches_deleted,
            branches_kept=self.result.branches_kept,
        )
        if self.result.checkpoint is not None:
            event["checkpoint"] = self.result.checkpoint
        if self.result.stopped is not None:
            event["stopped"] = self.result.stopped.describe()
        records.record_discard(self.change.dir, record, discarded, event)


def discard(
    change: RunnableChange,
    *,
    reason: str | None = None,
    delete_branches: bool = False,
    by: str | None = None,
    wait_s: float = STOP_WAIT_S,
) -> DiscardResult:
    """Stop what runs, save and remove the worktrees, move the folder away, record why."""
    who = by or who_am_i(change.hub.root)
    return Discard(change, reason, delete_branches, who).run(wait_s)


def restore(change: RunnableChange) -> Path:
    """Bring a discarded change back among the open changes; returns its folder.

    Refused once its branches were deleted: the work they held is gone, and a change is its branches.
    """
    hub = change.hub
    open_dir = hub.changes_dir / change.id
    with ChangeLock(hub.root, change.id, command="restore"):
        record = change.require_record()
        discarded = record.get("discarded")
        if not discarded:
            raise StateError(
                f"change '{change.id}' at {change.dir} is not discarded",
                fix=f"'specflow status {change.id}' shows where it stands",
            )
        if discarded.get("branches_deleted"):
            raise StateError(
                f"change '{change.id}' was discarded with its branches deleted ({discarded.get('at')}):"
                " the work it held is gone",
                fix=f"start again with 'specflow new {change.id}' (its old folder stays at {change.dir})",
            )
        if open_dir.exists() or hub.archived_dir(change.id) is not None:
            raise StateError(
                f"a change '{change.id}' exists again ({open_dir if open_dir.exists() else 'archived'})",
                fix=f"the discarded one stays at {change.dir}; move or rename one of them by hand",
            )
        with hub_writes(hub.root):
            before = journal.snapshot(hub.openspec_dir, hub.root)
            os.rename(change.dir, open_dir)
            after = journal.snapshot(hub.openspec_dir, hub.root)
            journal.record(hub.root, change.id, journal.changed(before, after))
        change.dir = open_dir
        records.record_reopened(open_dir, record)
    return open_dir
