"""A change of a hub with every operation: its transitions, approvals, workspaces, branches, remotes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Unpack

from specflow.changestate import records, recordtypes
from specflow.changestate.approvals import current_approval, make_approval, void_reason
from specflow.changestate.lock import ChangeLock
from specflow.changestate.recordtypes import HistoryEvent
from specflow.engine import background, statemerge
from specflow.engine import discard as discarding
from specflow.engine.background import BackgroundRun
from specflow.engine.discard import DiscardResult
from specflow.engine.eventreader import EventReader
from specflow.engine.lease import Lease, LeaseHolder
from specflow.engine.results import AdvanceResult, CheckpointInfo, CleanResult, ReposResult, WorkspacePath
from specflow.engine.runnable import RunnableChange, RunnerHub, RunOptions
from specflow.engine.timeline import Timeline, build_timeline
from specflow.entrypoints import entry_points
from specflow.errors import ChangeNotFoundError, ConfigError, WorkspaceError
from specflow.workspace import branchdiff, branches
from specflow.workspace import pull as pulling
from specflow.workspace import push as pushing
from specflow.workspace import revert as reverting
from specflow.workspace.git import who_am_i
from specflow.workspace.mergeplan import MergeResult
from specflow.workspace.pull import PullResult
from specflow.workspace.push import PushResult
from specflow.workspace.remote import change_repos, lease_remote
from specflow.workspace.restore import RestoreResult
from specflow.workspace.revert import RevertResult, pick_checkpoint
from specflow.workspace.workspaces import Workspaces, for_change

#: The entry-point group told of each approval once it is recorded: ``hook(change, by)``.
#: specflow's own queue is one (``specflow.queue.hooks.approval_given``, see pyproject.toml).
APPROVAL_HOOKS = "specflow.approvals"


def tell_approval(change: Change, by: str) -> None:
    """Call every ``APPROVAL_HOOKS`` entry point with the approved change and who approved it.

    A hook whose package's dependencies are not installed here (the queue's extra) is skipped:
    nothing of it can be waiting.  The approval is recorded before; a hook only saves a waiting
    run its next re-read of the change.
    """
    for ep in entry_points(APPROVAL_HOOKS):
        try:
            hook = ep.load()
        except ImportError:
            continue
        hook(change, by)


class Change(RunnableChange):
    """One change of a hub, with every operation.  State and history live in its folder's ``.specflow/``.

    Everything the CLI does to a change is a method here; those that write take the change's
    lock themselves, so a library caller is as safe as the CLI.
    """

    hub: RunnerHub[Change]

    def __init__(self, hub: RunnerHub[Change], change_id: str, directory: Path) -> None:
        super().__init__(hub, change_id, directory)

    async def advance_async(self, **options: Unpack[RunOptions]) -> list[AdvanceResult]:
        """``advance`` in a worker thread, for async hosts (bots, servers)."""
        return await asyncio.to_thread(self.advance, **options)

    async def trigger_async(self, name: str, **options: Unpack[RunOptions]) -> list[AdvanceResult]:
        """``trigger`` in a worker thread, for async hosts."""
        return await asyncio.to_thread(self.trigger, name, **options)

    def approve(self, *, by: str | None = None, note: str | None = None) -> recordtypes.Approval:
        """Record a person's approval of the change as it is now, and publish it.

        Publishing lands the change's hub branch on the hub's base branch, so every agent and
        person sees the approved proposal.  When that is impossible (local changes in the files
        it would touch, a conflict) the approval is refused and nothing is written.
        """
        with ChangeLock(self.hub.root, self.id, command="approve"):
            record = self.require_record()
            ws = self.workspaces()
            if self.on_branch:
                self._commit_records(ws, "before approval")
                branches.land(ws, check_only=True)
            approval = make_approval(self.dir, self.id, record["state"], by or who_am_i(self.hub.root), note)
            records.record_approval(self.dir, record, approval)
            if self.on_branch:
                self._commit_records(ws, f"approved by {approval.get('by')}")
                branches.land(ws)
        tell_approval(self, approval["by"])  # a queued workflow waiting for it continues now
        return approval

    def publish(self) -> MergeResult:
        """Land the change's hub branch on the hub's base branch (its folder, records and specs)."""
        with ChangeLock(self.hub.root, self.id, command="publish"):
            ws = self.workspaces()
            if not self.on_branch:
                raise WorkspaceError(
                    f"change '{self.id}' is on the hub's checkout, not on a branch of its own",
                    fix=f"advance it once ('specflow advance {self.id}') to move it onto its branch",
                )
            self._commit_records(ws, "before publishing")
            return branches.land(ws)

    def _commit_records(self, ws: Workspaces, why: str) -> None:
        """Commit the change's records (and anything else left) on its branches."""
        ws.commit(f"specflow({self.id}): records {why}\n\nSpecflow-Change: {self.id}\n")

    def discard(
        self,
        *,
        reason: str | None = None,
        delete_branches: bool = False,
        by: str | None = None,
        wait_s: float | None = None,
    ) -> DiscardResult:
        """Give the change up: stop its running attempt (SIGTERM, waiting up to ``wait_s``),
        checkpoint and remove its worktrees, keep its branches unless ``delete_branches``, and move
        its folder to ``openspec/changes/archive/discarded/<id>`` with ``reason`` in its history.
        """
        wait = discarding.STOP_WAIT_S if wait_s is None else wait_s
        return discarding.discard(self, reason=reason, delete_branches=delete_branches, by=by, wait_s=wait)

    def reopen(self) -> Path:
        """Bring a discarded change back among the open changes, in the state it was discarded in."""
        return discarding.restore(self)

    # -- several machines: the change's branches on a remote ------------------------------------

    @classmethod
    def named(cls, hub: RunnerHub[Change], change_id: str) -> Change:
        """The change ``change_id`` whether or not this clone has it yet (to pull it from a remote)."""
        try:
            return hub.change(change_id)
        except ChangeNotFoundError:
            return cls(hub, change_id, hub.changes_dir / change_id)

    def push(self, *, remote: str | None = None) -> PushResult:
        """Send the change's branches (hub and every repo that has one) and checkpoint refs to their remotes."""
        with ChangeLock(self.hub.root, self.id, command="push"):
            statemerge.register(self.hub.root)
            result = pushing.push(self.hub.root, self.hub.config, self.id, remote)
        # An approval given here reaches a run waiting for it on another machine only now: wake it
        # to re-read the change rather than leave it to its next periodic re-read.
        record = self.record
        approval = current_approval(record, self.dir)[0] if record is not None else None
        if approval is not None:
            tell_approval(self, approval["by"])
        return result

    def pull(self, *, remote: str | None = None) -> PullResult:
        """Fetch the change's branches and checkpoints; create or fast-forward its branches and worktrees."""
        with ChangeLock(self.hub.root, self.id, command="pull"):
            statemerge.register(self.hub.root)  # before anything merges this change's records here
            return pulling.pull(self.hub.root, self.hub.config, self.id, remote)

    def lease_holder(self) -> LeaseHolder | None:
        """Who holds the change's lease on its remote now (None: nobody, or its branches are not on one)."""
        where = lease_remote(change_repos(self.hub.root, self.hub.config), self.id)
        return None if where is None else Lease.holder(*where, self.id)

    # -- workspaces, checkpoints, review, merge ----------------------------------------------

    def workspaces(self) -> Workspaces:
        """The change's workspaces: its hub and the worktrees of the repos it affects."""
        return for_change(self)

    def workspace_paths(self) -> list[WorkspacePath]:
        """The hub, then each affected repo's worktree (planned or existing)."""
        ws = self.workspaces()
        paths = [WorkspacePath("hub", ws.hub, None, True)]
        return paths + [WorkspacePath(t.name, t.worktree, t.branch, t.exists) for t in ws.targets()]

    def workspace_path(self, repo: str) -> Path:
        """The worktree of ``repo`` for this change; it must exist."""
        targets = self.workspaces().targets()
        target = next((t for t in targets if t.name == repo), None)
        if target is None:
            names = ", ".join(t.name for t in targets) or "none"
            raise WorkspaceError(
                f"repo '{repo}' is not affected by change '{self.id}' (affected: {names})",
                fix=f"add it with 'specflow repos {self.id} add {repo}'",
            )
        if not target.exists:
            raise WorkspaceError(
                f"the worktree of '{target.name}' for '{self.id}' does not exist yet ({target.worktree})",
                fix="it is created by the first phase that works in worktrees (specflow advance)",
            )
        return target.worktree

    def checkpoints(self) -> list[CheckpointInfo]:
        """Every checkpoint of the change, oldest first, with how many files differ from it now."""
        ws = self.workspaces()
        cps = ws.checkpoints()
        changed = ws.changed_since(cps) if cps else {}
        return [CheckpointInfo(cp, changed.get(cp.number, 0)) for cp in cps]

    def checkpoint(self, number: int | None = None) -> CheckpointInfo:
        """Checkpoint ``number`` (default: the latest), with how many files differ from it now."""
        ws = self.workspaces()
        target = pick_checkpoint(ws.checkpoints(), number, self.id)
        return CheckpointInfo(target, ws.changed_since([target]).get(target.number, 0))

    def revert(self, to: int | None = None) -> RevertResult:
        """Restore every workspace to checkpoint ``to`` (default: the latest), and its state.

        The present is checkpointed first, so a revert can be reverted.
        """
        with ChangeLock(self.hub.root, self.id, command="revert"):
            ws = self.workspaces()
            target = pick_checkpoint(ws.checkpoints(), to, self.id)
            if self.archived or not self.dir.is_dir():
                raise WorkspaceError(
                    f"change '{self.id}' is archived (or gone): its folder {self.dir} is no open change",
                    fix="a revert restores an open change; restore the archived folder with git first",
                )
            record = self.require_record()
            result = reverting.revert(ws, target, record["state"])
            event = HistoryEvent(
                checkpoint=target.number,
                undo_checkpoint=result.undo,
                restored={k: len(v) for k, v in result.restored.items()},
            )
            states = list(self.hub.workflow(record.get("workflow")).states)
            voided = void_reason(states, record, "revert", target.state, succeeded=True)
            if voided is not None:
                records.void_approvals(record, event, voided)
            records.record_revert(self.dir, record, target.state, event)
        return result

    def restore(
        self, checkpoint: int | None = None, *, paths: Sequence[str] = (), force: bool = False
    ) -> RestoreResult:
        """Put back what the audit of ``checkpoint`` (default: the latest that saved any) removed.

        ``paths`` narrows it to files or folders.  A path edited since the audit is refused unless
        ``force`` (the present is then checkpointed first).
        """
        with ChangeLock(self.hub.root, self.id, command="restore"):
            record = self.require_record()
            result = self.workspaces().restore(checkpoint, paths, force=force, state=record["state"])
            event = HistoryEvent(
                checkpoint=result.checkpoint,
                restored={k: len(v) for k, v in result.restored.items()},
            )
            if result.undo is not None:
                event["undo_checkpoint"] = result.undo
            records.record_restore(self.dir, record, event)
        return result

    def diff(self, repo: str | None = None, *, stat: bool = False) -> str:
        """The change's work against its base, in every repo (or ``repo``), as a patch."""
        return branchdiff.diff(self.workspaces(), repo, stat)

    def diff_data(self, repo: str | None = None, *, stat: bool = False) -> list[dict[str, Any]]:
        """``diff`` as data, per repo: branch, base, changed files with line counts, the patch."""
        return branchdiff.diff_data(self.workspaces(), repo, stat)

    def merged(self) -> dict[str, str | None]:
        """Each affected repo's merge state: None when merged, else why not."""
        return branches.merged(self.workspaces())

    def merge(self) -> list[MergeResult]:
        """Merge each of the change's branches into its base."""
        with ChangeLock(self.hub.root, self.id, command="merge"):
            ws = self.workspaces()
            # the records (and anything else left in the worktrees) are committed as the merge looks
            message = f"specflow({self.id}): records before merging\n\nSpecflow-Change: {self.id}\n"
            results = branches.merge(ws, commit=message if self.on_branch else None)
            if self.archived and self.on_branch and all(r.status != "nothing to merge" for r in results[:1]):
                ws.remove_worktrees()
                self.follow_archive()
            return results

    def set_repos(self, *, add: Sequence[str] = (), remove: Sequence[str] = (), force: bool = False) -> ReposResult:
        """Add or remove repos the change affects.

        A repo whose worktree exists is not removed unless ``force`` (its worktree and branch stay).
        """
        configured = self.hub.config.repos
        unknown = [n for n in [*add, *remove] if n not in configured]
        if unknown:
            raise ConfigError(
                f"unknown repo(s) {', '.join(unknown)} (configured in specflow.yaml:"
                f" {', '.join(configured) or 'none'})",
                fix="list component repos under 'repos:' in specflow.yaml, or pick a configured one",
            )
        with ChangeLock(self.hub.root, self.id, command="repos"):
            record = self.require_record()
            repos = list(record.get("repos") or [])
            added = [n for n in add if n not in repos]
            removed = [n for n in remove if n in repos]
            if removed and not force:
                existing = for_change(self, repos).existing()
                busy = [n for n in removed if n in existing]
                if busy:
                    raise WorkspaceError(
                        f"repo {busy[0]} already has a worktree for '{self.id}' at {existing[busy[0]]}",
                        fix="merge or discard its work first; --force stops tracking it (the worktree and branch stay)",
                    )
            repos = [r for r in repos + added if r not in removed]
            records.set_repos(self.dir, record, repos)
        return ReposResult(self.id, repos, added, removed)

    def clean(self, *, force: bool = False) -> CleanResult:
        """Remove the worktrees of an archived change; its branches stay."""
        if not self.archived:
            raise WorkspaceError(
                f"change '{self.id}' is not archived (state {self.state}); clean removes the worktrees"
                " of archived changes only",
                fix=f"archive it first (specflow advance {self.id}), or remove a worktree yourself with"
                " 'git worktree remove PATH'",
            )
        ws = self.workspaces()
        with ChangeLock(self.hub.root, self.id, command="clean"):
            before = {t.name: t.worktree for t in ws.all_targets() if t.exists}
            removed = ws.remove_worktrees(force=force, strict=True)
        return CleanResult(self.id, ws.branch, [(name, path, path in removed) for name, path in before.items()])

    # -- what a dashboard shows, and runs that need no terminal -------------------------------

    def timeline(self) -> Timeline:
        """The history as typed entries: attempts with steps, reasons, refused writes, cost, session."""
        return build_timeline(self)

    def events(self, *, from_start: bool = True) -> EventReader:
        """A reader of the change's event log (every phase's live progress), from its start or from now."""
        if from_start:
            return EventReader(self.hub.root, self.id)
        return EventReader.at_end(self.hub.root, self.id)

    def advance_in_background(
        self,
        *,
        to: str | None = None,
        agent: str | None = None,
        fresh: bool = False,
        trigger: str = "advance",
        take_over: bool = False,
    ) -> BackgroundRun:
        """Start ``advance`` (or ``trigger``) in a detached process of its own and return at once."""
        return background.start(self, trigger, to=to, agent=agent, fresh=fresh, take_over=take_over)

    def cancel(self) -> int:
        """Stop the change's running phase (SIGTERM: the agent is stopped, the attempt audited)."""
        return background.cancel(self)
