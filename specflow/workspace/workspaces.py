"""The workspaces of one change, as the engine and the CLI use them.

A change is its branches: it works in its own worktree of the hub (hub phases) and in one
worktree per affected repo (worktree phases), all on ``specflow/<id>``.  ``Workspaces`` prepares
the worktrees, renders the phase's gate into a policy, takes a checkpoint before every agent turn,
audits after it, commits the agent's in-gate work, and removes the worktrees; revert
(``revert``), diff (``branchdiff``) and merge (``branches``) take it as the change's owner.

Only the change's own worktrees are checkpointed and audited: the person's checkouts of the hub
and of the repos are never an agent's workspace, so nothing there is ever put back or deleted.
Writes outside every worktree (``/tmp``, the hub's parent folder) are out of git's sight: the
sandbox refuses them at the system call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from specflow.agents.base import EventCallback, ignore_event
from specflow.changestate.lock import ChangeLock, active_since, pid_alive
from specflow.changestate.machine_id import host_name
from specflow.definitions.config import HubConfig
from specflow.errors import GitError, WorkspaceError
from specflow.trees import remove_tree
from specflow.workspace import journal, rejected
from specflow.workspace.audit import AuditReport, Violation, audit, verify
from specflow.workspace.checkpoints import HUB_KEY, Checkpoint, Workspace, WorkspaceKind
from specflow.workspace.checkpointstore import CheckpointStore
from specflow.workspace.gates import GatePolicy
from specflow.workspace.git import GitRepo
from specflow.workspace.gitfiles import audit_git_files, snapshot_git_files
from specflow.workspace.journal import hub_writes
from specflow.workspace.layout import Layout, RepoTarget, branch_name, hub_target, plan_targets
from specflow.workspace.repocommands import run_setup
from specflow.workspace.restore import RestoreResult, restore_rejected
from specflow.workspace.worktrees import check_clean, create_worktree, remove_worktree

__all__ = ["AuditReport", "Checkpoint", "Violation", "Workspaces", "for_change"]

#: The change's own records, kept out of the agent's work commit (the engine commits them itself).
RECORDS_GLOB = "openspec/changes/**/.specflow/**"


class Workspaces:
    """The workspaces of one change: worktrees, gates, checkpoints, audit, revert, diff, merge."""

    def __init__(self, hub_root: Path, config: HubConfig, change_id: str, repos: Sequence[str]) -> None:
        self.hub = Path(os.path.realpath(hub_root))
        self.config = config
        self.change_id = change_id
        self.repos = list(repos)
        self.layout = Layout(self.hub, change_id, config.worktrees_dir)
        self.branch = branch_name(change_id)
        self._policy: GatePolicy | None = None
        self._store: CheckpointStore | None = None

    # -- planning -------------------------------------------------------------------------

    @property
    def single_repo(self) -> bool:
        """True when the hub itself is the repo the change is applied to."""
        return not self.repos and not self.config.repos

    def targets(self) -> list[RepoTarget]:
        """The change's affected repos with their worktree paths (planned or existing)."""
        return plan_targets(self.hub, self.config, self.change_id, self.repos)

    def _known_targets(self) -> list[RepoTarget]:
        """Like ``targets`` but skipping repo names ``specflow.yaml`` no longer lists."""
        return plan_targets(self.hub, self.config, self.change_id, self.repos, strict=False)

    def hub_target(self) -> RepoTarget:
        """The change's worktree of the hub (in a single-repo project, its only worktree)."""
        return hub_target(self.hub, self.config, self.change_id)

    def all_targets(self) -> list[RepoTarget]:
        """The hub's worktree first, then each affected repo's: every branch of the change."""
        return [self.hub_target(), *(t for t in self.targets() if not t.is_hub)]

    @property
    def root(self) -> Path:
        """The change's hub worktree: where its hub phases run and its folder and records live.

        Before it exists (a change of the previous layout, not yet moved onto its branch by its
        next ``advance``), the hub's checkout, where such a change's folder still is.
        """
        hub = self.hub_target()
        return hub.worktree if hub.exists else self.hub

    def _hub_repo(self) -> GitRepo:
        try:
            return GitRepo.open(self.hub)
        except GitError as exc:
            raise WorkspaceError(
                f"the hub {self.hub} is not a git repository: {exc.message}",
                fix=f"run 'git init' in {self.hub} and commit its files",
            ) from None

    @property
    def store(self) -> CheckpointStore:
        if self._store is None:
            self._store = CheckpointStore(self.layout, self._hub_repo())
        return self._store

    # -- worktrees ------------------------------------------------------------------------

    def ensure_hub(self, on_event: EventCallback = ignore_event) -> Path:
        """Create the change's hub worktree on ``specflow/<id>`` if it is missing; return its path."""
        self._hub_excludes()
        path, _base = create_worktree(self.hub_target(), self.layout, on_event)
        return path

    def ensure_worktrees(self, on_event: EventCallback = ignore_event) -> dict[str, Path]:
        """Create what is missing: worktrees on ``specflow/<id>``, links, setup.  Idempotent.

        A failed setup raises ``WorkspaceError`` naming the repo, the exit code and the log.
        """
        targets = self.targets()
        if not targets:
            configured = ", ".join(self.config.repos)
            raise WorkspaceError(
                f"change '{self.change_id}' affects no repo, so it has no worktree to work in"
                f" (configured repos: {configured})",
                fix=f"add the repos it changes: specflow repos {self.change_id} add NAME",
            )
        self.ensure_hub(on_event)
        paths: dict[str, Path] = {}
        for target in targets:
            path, _base = create_worktree(target, self.layout, on_event)
            run_setup(target, self.layout, timeout=self.config.command_timeout, on_event=on_event)
            paths[target.name] = path
        return paths

    def existing(self) -> dict[str, Path]:
        """``hub`` -> the hub, plus each affected repo whose worktree exists -> its path."""
        found: dict[str, Path] = {HUB_KEY: self.root}
        for target in self._known_targets():
            if target.exists and not target.is_hub:
                found[target.name] = target.worktree
        return found

    def remove_worktrees(self, *, force: bool = False, strict: bool = False) -> list[Path]:
        """Remove the change's worktrees, keeping the branches; return the paths removed.

        A worktree with uncommitted work is kept (``strict``: refused with an error) unless ``force``.
        """
        removed: list[Path] = []
        targets = [*(t for t in self._known_targets() if not t.is_hub), self.hub_target()]
        if strict and not force:
            for target in targets:
                check_clean(target)  # all or nothing
        for target in targets:
            try:
                if remove_worktree(target, self.layout, force=force):
                    removed.append(target.worktree)
            except WorkspaceError:
                if strict:
                    raise
        root = self.layout.worktrees_root
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()
        return removed

    # -- gates ----------------------------------------------------------------------------

    def policy(self, *, read_only: bool, write: Sequence[str], worktrees: bool, phase: str) -> GatePolicy:
        """The phase's gate rendered for this change (``write``: hub globs already rendered)."""
        if read_only:
            policy = GatePolicy(self.root, read_only=True, phase=phase, change_id=self.change_id)
        else:
            roots = tuple(t.worktree for t in self._known_targets()) if worktrees else ()
            policy = GatePolicy(self.root, tuple(write), roots, phase=phase, change_id=self.change_id)
        self._policy = policy
        return policy

    def agent_cwd(self, *, worktrees: bool) -> Path:
        """Where the agent starts: the change's hub worktree; for worktree phases its repo worktree,
        or the change's worktrees folder when it has several."""
        if not worktrees:
            return self.root
        targets = self._known_targets()
        if len(targets) == 1:
            return targets[0].worktree
        if targets:
            return self.layout.worktrees_root
        return self.root

    # -- the workspaces -------------------------------------------------------------------

    def workspaces(self) -> list[Workspace]:
        """Every workspace to checkpoint and audit: the change's hub worktree, then its repo worktrees.

        The person's checkouts are not among them: no agent works there, so no audit touches them.
        """
        entries: list[tuple[str, WorkspaceKind, Path]] = [(HUB_KEY, "hub", Path(os.path.realpath(self.root)))]
        for target in self._known_targets():
            if target.exists and not target.is_hub:
                entries.append((target.name, "worktree", Path(os.path.realpath(target.worktree))))
        # specflow's own folders, when they sit inside a workspace (the hub's checkout, for a change
        # of the previous layout), are not the agent's
        state_root = Path(os.path.realpath(self.hub / ".specflow"))
        roots = [e[2] for e in entries] + [state_root, Path(os.path.realpath(self.layout.worktrees_root.parent))]
        result: list[Workspace] = []
        for key, kind, path in entries:
            skip = tuple(sorted({r.relative_to(path).as_posix() for r in roots if r != path and path in r.parents}))
            result.append(Workspace(key, kind, path, GitRepo.open(path), skip))
        return result

    def _hub_excludes(self) -> None:
        self._hub_repo().add_excludes(self.layout.hub_excludes(), "specflow: local state, worktrees and logs")

    # -- commits --------------------------------------------------------------------------

    def commit(self, message: str, *, records: bool = True, hub: bool = True) -> dict[str, str]:
        """Commit what each of the change's worktrees holds on its branch; ``key -> commit``.

        ``records`` False leaves the change's own records (``.specflow/`` of its folder) out;
        ``hub`` False leaves the hub's worktree out (the engine commits it with the records).
        Each branch tip is journaled, so a running audit of another change never takes it for
        its agent's.
        """
        made: dict[str, str] = {}
        exclude = () if records else (RECORDS_GLOB,)
        with hub_writes(self.hub):
            for ws in self.workspaces():
                if ws.key == HUB_KEY and not hub:
                    continue
                if ws.repo.operation_in_progress() is not None:
                    continue  # a merge or rebase a person started there is theirs to finish
                sha = self.store.commit_worktree(ws, message, exclude if ws.key == HUB_KEY else ())
                if sha is None:
                    continue
                made[ws.key] = sha
                ref, _ = ws.repo.head_file()
                if ref is not None:
                    journal.record(self.hub, self.change_id, {journal.ref_key(ws.repo.common_dir, ref): sha})
        return made

    # -- checkpoints and audit ------------------------------------------------------------

    def checkpoint(self, *, phase: str, state: str, reason: str = "before agent turn") -> Checkpoint:
        """Snapshot every existing workspace as commits under ``refs/specflow/checkpoints/<id>/<n>``."""
        self._hub_excludes()
        folders = {str(f): sorted(os.listdir(f)) if f.is_dir() else [] for f, _ in self._folders()}
        spaces = self.workspaces()
        extra = {"folders": folders, "git_files": snapshot_git_files(spaces)}
        cp = self.store.take(spaces, phase=phase, state=state, reason=reason, extra=extra)
        if self._policy is not None:
            self._write_active_gate(self._policy)
        return cp

    def audit(self, checkpoint: Checkpoint, policy: GatePolicy, *, attempt: int | None = None) -> AuditReport:
        """Diff every workspace against ``checkpoint``; save, then put back, whatever lies outside ``policy``."""

        try:
            # other changes' engines finish (and journal) their hub writes before we look
            with hub_writes(self.hub):
                spaces = self.workspaces()
                # nothing is put back unless every snapshot can be read (cat-file runs no hook or fsmonitor)
                verify(checkpoint, [ws for ws in spaces if ws.path.is_dir()])
                # git's own files first: a planted fsmonitor or hook must not run in the audit's git calls
                git_report = AuditReport(checkpoint.number)

                def keep(path: Path, move: bool) -> str:
                    label = "git/" + path.as_posix().lstrip("/")
                    return str(rejected.move_aside(self.store, checkpoint.number, path, label, copy=not move))

                audit_git_files(self.store.read_local(checkpoint.number).get("git_files", {}), git_report, keep)
                lost = self._recreate_lost_worktrees(checkpoint)
                if lost:  # made again: they are workspaces once more
                    spaces = self.workspaces()
                report = audit(
                    self.store,
                    checkpoint,
                    spaces,
                    policy,
                    own_branch=self.branch,
                    folders=self._folders(),
                    foreign=self._foreign_policies,
                    engine_writes=lambda: self._engine_writes(checkpoint),
                    attempt=attempt,
                    active=lambda: active_since(self.hub, _epoch(checkpoint.time) - 1.0) - {self.change_id},
                )
        finally:
            self._active_gate_path().unlink(missing_ok=True)
        report.violations[:0] = git_report.violations
        report.errors += git_report.errors
        # an earlier audit of the same checkpoint (during SIGTERM) may have saved work already
        report.rejected = rejected.collect(self.store, checkpoint.number, spaces)
        for target in lost:
            if not policy.allows_real(Path(os.path.realpath(target.worktree.parent)) / target.worktree.name):
                report.violations.insert(
                    0, Violation(target.name, ".", "deleted", f"the worktree {target.worktree} was deleted; made again")
                )
        return report

    def restore(
        self, number: int | None, paths: Sequence[str] = (), *, force: bool = False, state: str = ""
    ) -> RestoreResult:
        """Put back into the workspaces what the audit of checkpoint ``number`` (default: the latest) saved."""
        with hub_writes(self.hub):
            result = restore_rejected(self, number, paths, force=force, state=state)
            # another change's running audit must not take these hub files for its agent's writes
            journal.record_files(self.hub, self.change_id, [self.hub / p for p in result.restored.get(HUB_KEY, [])])
        return result

    def _recreate_lost_worktrees(self, checkpoint: Checkpoint) -> list[RepoTarget]:
        """Worktrees the checkpoint saw that are gone now, made again on their branch (files follow)."""
        lost = [t for t in self._known_targets() if t.name in checkpoint.workspaces and not t.exists]
        for target in lost:
            remove_tree(target.worktree, ignore_errors=True)
            create_worktree(target, self.layout)
        return lost

    def _folders(self) -> list[tuple[Path, Callable[[str], bool]]]:
        """Folders outside every repo an agent reaches with ``..``: the worktrees folders.

        In the change's folder only its repos' worktrees belong; in the folder of all changes,
        only other changes' folders.
        """
        names = {t.name for t in self._known_targets()} | {self.hub_target().name}
        changes = self.hub / "openspec" / "changes"

        def is_change(name: str) -> bool:
            own = Layout(self.hub, name, self.config.worktrees_dir).hub_worktree
            return own.is_dir() or (changes / name).is_dir() or any((changes / "archive").glob(f"*-{name}"))

        root = self.layout.worktrees_root
        return [(root, names.__contains__), (root.parent, is_change)]

    def _engine_writes(self, checkpoint: Checkpoint) -> dict[str, set[str | None]]:
        """Hub writes other changes' engines journaled since ``checkpoint`` was taken."""

        return journal.foreign_writes(self.hub, self.change_id, _epoch(checkpoint.time) - 1.0)

    def checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint of the change, oldest first."""
        return self.store.list()

    def changed_since(self, checkpoints: Sequence[Checkpoint]) -> dict[int, int]:
        """For each checkpoint, how many files differ between it and the workspaces now."""
        now: dict[str, tuple[Workspace, str]] = {}
        for ws in self.workspaces():
            now[ws.key] = (ws, self.store.snapshot(ws))
        counts = {cp.number: 0 for cp in checkpoints}
        by_repo: dict[Path, list[tuple[int, str, str, Workspace]]] = {}
        for cp in checkpoints:
            for key, snap in cp.workspaces.items():
                if key in now:
                    ws, tree = now[key]
                    by_repo.setdefault(ws.repo_id, []).append((cp.number, snap.tree, tree, ws))
        for items in by_repo.values():
            repo = items[0][3].repo
            results = repo.diff_trees_batch([(a, b) for _, a, b, _ in items])
            for (number, _a, _b, ws), names in zip(items, results, strict=True):
                counts[number] += sum(1 for n in names if not ws.ignored(n))
        return counts

    def _active_gate_path(self) -> Path:
        return self.layout.state_dir / "gate.json"

    def _write_active_gate(self, policy: GatePolicy) -> None:
        path = self._active_gate_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        record = {"gate": policy.to_dict(), "pid": os.getpid(), "host": host_name()}
        path.write_text(json.dumps(record), encoding="utf-8")

    def _foreign_policies(self) -> list[GatePolicy]:
        """The gates of other changes whose agents are running now (their lock is held)."""

        policies: list[GatePolicy] = []
        root = self.layout.state_dir.parent
        if not root.is_dir():
            return policies
        for gate_file in root.glob("*/gate.json"):
            other = gate_file.parent.name
            if other == self.change_id:
                continue
            holder = ChangeLock(self.hub, other).holder()
            if holder is None or holder.host != host_name() or not pid_alive(holder.pid):
                continue
            try:
                data = json.loads(gate_file.read_text(encoding="utf-8"))
                policies.append(GatePolicy.from_dict(data["gate"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return policies


def _epoch(iso: str) -> float:
    from datetime import datetime  # only when an audit looks for other changes' writes

    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def for_change(change: Any, repos: Sequence[str] | None = None) -> Workspaces:
    """The workspaces of a ``specflow.Change`` (its hub, configuration and affected repos).

    ``repos``: the affected repos when the caller holds the change's record already.
    """
    return Workspaces(change.hub.root, change.hub.config, change.id, list(change.repos if repos is None else repos))
