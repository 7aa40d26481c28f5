"""The workspaces of one change, as the engine and the CLI use them.

A change works in the hub (hub phases) or in one git worktree per affected repo (worktree
phases).  ``Workspaces`` prepares the worktrees, renders the phase's gate into a policy, takes a
checkpoint before every agent turn, audits after it, and offers revert, diff, merge and clean.

Every workspace of the change is checkpointed and audited: the hub, the change's worktrees, and
the checkouts of the hub's component repos (so a write into another repo is caught too).  Writes
outside all of them (``/tmp``, the hub's parent folder) are out of git's sight; the adapter's own
enforcement covers those where it can.  Ignored files are, like in git, not part of a snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specflow.agents.base import EventCallback, ignore_event
from specflow.audit import GITLINK, AuditReport, Violation, audit, put_back
from specflow.checkpoints import HUB_KEY, Checkpoint, CheckpointStore, Workspace, WorkspaceKind
from specflow.config import HubConfig
from specflow.errors import GitError
from specflow.gates import GatePolicy
from specflow.git import GitRepo, find_git_dirs
from specflow.state import append_event, read_state, write_state
from specflow.worktrees import (
    Layout,
    RepoTarget,
    WorkspaceError,
    base_of,
    branch_name,
    check_clean,
    create_worktree,
    open_source,
    plan_targets,
    remove_worktree,
    run_setup,
)

__all__ = [
    "AuditReport",
    "Checkpoint",
    "MergeResult",
    "RevertResult",
    "Violation",
    "WorkspaceError",
    "Workspaces",
]

CHECKOUT_SUFFIX = "@checkout"
MERGE_MESSAGE = "specflow: merge change {id}"


@dataclass(frozen=True)
class RevertResult:
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


@dataclass(frozen=True)
class MergeResult:
    """One repo's merge: ``merged``, ``already merged`` or ``nothing to merge``."""

    repo: str
    branch: str
    base: str
    status: str
    commit: str | None = None
    files: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "branch": self.branch,
            "base": self.base,
            "status": self.status,
            "commit": self.commit,
            "files": self.files,
        }


@dataclass
class _MergePlan:
    target: RepoTarget
    repo: GitRepo
    base: str
    base_sha: str
    branch_sha: str
    tree: str
    checkout: Path | None
    files: int


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
        self._hub_excludes()
        paths: dict[str, Path] = {}
        for target in targets:
            path, _base = create_worktree(target, self.layout, on_event)
            run_setup(target, self.layout, timeout=self.config.command_timeout, on_event=on_event)
            paths[target.name] = path
        return paths

    def existing(self) -> dict[str, Path]:
        """``hub`` -> the hub, plus each affected repo whose worktree exists -> its path."""
        found: dict[str, Path] = {HUB_KEY: self.hub}
        for target in self._known_targets():
            if target.exists:
                found[target.name] = target.worktree
        return found

    def remove_worktrees(self, *, force: bool = False, strict: bool = False) -> list[Path]:
        """Remove the change's worktrees, keeping the branches; return the paths removed.

        A worktree with uncommitted work is kept (``strict``: refused with an error) unless ``force``.
        """
        removed: list[Path] = []
        targets = self._known_targets()
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
            policy = GatePolicy(self.hub, read_only=True, phase=phase, change_id=self.change_id)
        else:
            roots = tuple(t.worktree for t in self._known_targets()) if worktrees else ()
            policy = GatePolicy(self.hub, tuple(write), roots, phase=phase, change_id=self.change_id)
        self._policy = policy
        return policy

    def agent_cwd(self, *, worktrees: bool) -> Path:
        """Where the agent starts: the hub; for worktree phases its worktree, or the change's worktrees folder."""
        if not worktrees:
            return self.hub
        targets = self._known_targets()
        if len(targets) == 1:
            return targets[0].worktree
        if targets:
            return self.layout.worktrees_root
        return self.hub

    # -- the workspaces -------------------------------------------------------------------

    def workspaces(self) -> list[Workspace]:
        """Every workspace to checkpoint and audit: the hub first, worktrees, component checkouts."""
        entries: list[tuple[str, WorkspaceKind, Path]] = [(HUB_KEY, "hub", self.hub)]
        for target in self._known_targets():
            if target.exists:
                entries.append((target.name, "worktree", Path(os.path.realpath(target.worktree))))
        if not self.single_repo:
            for name, rc in self.config.repos.items():
                path = Path(os.path.realpath(self.hub / rc.path))
                if find_git_dirs(path) is not None and all(path != e[2] for e in entries):
                    entries.append((name + CHECKOUT_SUFFIX, "checkout", path))
        state_root = Path(os.path.realpath(self.hub / ".specflow"))
        roots = [e[2] for e in entries] + [state_root, Path(os.path.realpath(self.layout.worktrees_root.parent))]
        result: list[Workspace] = []
        for key, kind, path in entries:
            repo = self._hub_repo() if key == HUB_KEY else GitRepo.open(path)
            skip = tuple(sorted({r.relative_to(path).as_posix() for r in roots if r != path and path in r.parents}))
            result.append(Workspace(key, kind, path, repo, skip))
        return result

    def _hub_excludes(self) -> None:
        self._hub_repo().add_excludes(self.layout.hub_excludes(), "specflow: local state, worktrees and logs")

    # -- checkpoints and audit ------------------------------------------------------------

    def checkpoint(self, *, phase: str, state: str, reason: str = "before agent turn") -> Checkpoint:
        """Snapshot every existing workspace as commits under ``refs/specflow/checkpoints/<id>/<n>``."""
        self._hub_excludes()
        folders = {str(f): sorted(os.listdir(f)) if f.is_dir() else [] for f, _ in self._folders()}
        cp = self.store.take(self.workspaces(), phase=phase, state=state, reason=reason, extra={"folders": folders})
        if self._policy is not None:
            self._write_active_gate(self._policy)
        return cp

    def audit(self, checkpoint: Checkpoint, policy: GatePolicy) -> AuditReport:
        """Diff every workspace against ``checkpoint``; put back whatever lies outside ``policy``."""
        try:
            lost = self._recreate_lost_worktrees(checkpoint)
            report = audit(
                self.store,
                checkpoint,
                self.workspaces(),
                policy,
                own_branch=self.branch,
                folders=self._folders(),
                foreign=self._foreign_policies,
                engine_writes=lambda: self._engine_writes(checkpoint),
            )
        finally:
            self._active_gate_path().unlink(missing_ok=True)
        for target in lost:
            if not policy.allows_real(Path(os.path.realpath(target.worktree.parent)) / target.worktree.name):
                report.violations.insert(
                    0, Violation(target.name, ".", "deleted", f"the worktree {target.worktree} was deleted; made again")
                )
        return report

    def _recreate_lost_worktrees(self, checkpoint: Checkpoint) -> list[RepoTarget]:
        """Worktrees the checkpoint saw that are gone now, made again on their branch (files follow)."""
        lost = [t for t in self._known_targets() if t.name in checkpoint.workspaces and not t.exists]
        for target in lost:
            shutil.rmtree(target.worktree, ignore_errors=True)
            create_worktree(target, self.layout)
        return lost

    def _folders(self) -> list[tuple[Path, Callable[[str], bool]]]:
        """Folders outside every repo an agent reaches with ``..``: the worktrees folders.

        In the change's folder only its repos' worktrees belong; in the folder of all changes,
        only other changes' folders.
        """
        names = {t.name for t in self._known_targets()}
        changes = self.hub / "openspec" / "changes"

        def is_change(name: str) -> bool:
            return (changes / name).is_dir() or any((changes / "archive").glob(f"*-{name}"))

        root = self.layout.worktrees_root
        return [(root, names.__contains__), (root.parent, is_change)]

    def _engine_writes(self, checkpoint: Checkpoint) -> dict[str, set[str | None]]:
        """Hub writes other changes' engines journaled since ``checkpoint`` was taken."""
        from datetime import datetime

        from specflow import journal

        since = datetime.fromisoformat(checkpoint.time.replace("Z", "+00:00")).timestamp()
        return journal.foreign_writes(self.hub, self.change_id, since - 1.0)

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
        record = {"gate": policy.to_dict(), "pid": os.getpid(), "host": socket.gethostname()}
        path.write_text(json.dumps(record), encoding="utf-8")

    def _foreign_policies(self) -> list[GatePolicy]:
        """The gates of other changes whose agents are running now (their lock is held)."""
        from specflow.lock import ChangeLock, pid_alive

        policies: list[GatePolicy] = []
        root = self.layout.state_dir.parent
        if not root.is_dir():
            return policies
        for gate_file in root.glob("*/gate.json"):
            other = gate_file.parent.name
            if other == self.change_id:
                continue
            holder = ChangeLock(self.hub, other).holder()
            if holder is None or holder.host != socket.gethostname() or not pid_alive(holder.pid):
                continue
            try:
                data = json.loads(gate_file.read_text(encoding="utf-8"))
                policies.append(GatePolicy.from_dict(data["gate"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return policies

    # -- revert ---------------------------------------------------------------------------

    def revert(self, to: int | None = None) -> RevertResult:
        """Restore every workspace to checkpoint ``to`` (default: the latest) and the state it recorded.

        The present is checkpointed first, so the revert itself can be reverted.  Refuses, each
        case with its own message, where it would discard commits specflow did not make.  The
        caller holds the change's lock.
        """
        checkpoints = self.checkpoints()
        if not checkpoints:
            raise WorkspaceError(
                f"change '{self.change_id}' has no checkpoint to revert to",
                fix="checkpoints are taken before every agent turn; advance the change first",
            )
        if to is None:
            target = checkpoints[-1]
        else:
            found = [cp for cp in checkpoints if cp.number == to]
            if not found:
                known = ", ".join(str(cp.number) for cp in checkpoints)
                raise WorkspaceError(
                    f"change '{self.change_id}' has no checkpoint #{to} (it has: {known})",
                    fix=f"pick one of them; 'specflow checkpoints {self.change_id}' lists them",
                )
            target = found[0]
        change_dir = self.hub / "openspec" / "changes" / self.change_id
        if not change_dir.is_dir():
            raise WorkspaceError(
                f"change '{self.change_id}' is archived (or gone): its folder {change_dir} does not exist",
                fix="a revert restores an open change; restore the archived folder with git first",
            )
        record = read_state(change_dir)
        if record is None:
            raise WorkspaceError(
                f"change '{self.change_id}' is not managed by specflow (no .specflow/state.json)",
                fix=f"put it under a workflow with 'specflow adopt {self.change_id}'",
            )
        present = {ws.key: ws for ws in self.workspaces()}
        moves = self._revert_checks(target, checkpoints, present)
        undo = self.checkpoint(phase="revert", state=str(record["state"]), reason=f"before revert to #{target.number}")
        restored: dict[str, list[str]] = {}
        notes: list[str] = []
        errors: list[str] = []
        for key, snap in target.workspaces.items():
            ws = present[key]
            if key in moves:
                ws.repo.reset_mixed(moves[key])
            now_tree = undo.workspaces[key].tree
            changes = [
                c
                for c in ws.repo.diff_trees(snap.tree, now_tree)
                if not ws.ignored(c.path)
                and not self._other_change(ws, c.path)
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
        old_state = str(record["state"])
        record["state"] = target.state
        write_state(change_dir, record)
        append_event(
            change_dir,
            {
                "trigger": "revert",
                "from": old_state,
                "to": target.state,
                "outcome": "reverted",
                "checkpoint": target.number,
                "undo_checkpoint": undo.number,
                "restored": {k: len(v) for k, v in restored.items()},
            },
        )
        return RevertResult(
            self.change_id, target.number, undo.number, old_state, target.state, restored, notes, errors
        )

    def _other_change(self, ws: Workspace, rel: str) -> bool:
        """True for hub paths inside another change's folder: a revert leaves them alone."""
        if ws.kind != "hub" or not rel.startswith("openspec/changes/"):
            return False
        parts = rel.split("/")
        if len(parts) < 4:
            return False
        if parts[2] == "archive":
            return not parts[3].endswith(self.change_id) if len(parts) > 4 else False
        return parts[2] != self.change_id

    def _revert_checks(
        self, target: Checkpoint, checkpoints: Sequence[Checkpoint], present: dict[str, Workspace]
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
                    f"HEAD of {key} ({ws.path}) is on {now}; at checkpoint #{target.number} it was on"
                    f" {snap.head.describe()}",
                    fix=f"switch back first (git -C {ws.path} switch {snap.head.describe()});"
                    " a revert does not move HEAD to another branch",
                )
            if not snap.head.ref and (ref is not None or detached != snap.head.sha):
                raise WorkspaceError(
                    f"HEAD of {key} ({ws.path}) moved since checkpoint #{target.number}"
                    f" (it was {snap.head.describe()})",
                    fix=f"put it back first (git -C {ws.path} switch --detach {snap.head.sha})",
                )
            if ws.kind != "worktree" or not snap.head.ref or not snap.head.sha:
                continue
            now_sha = ws.repo.resolve(snap.head.ref)
            if now_sha is None or now_sha == snap.head.sha:
                continue
            branch = snap.head.describe()
            # the commits the move would take off the branch (none when it only moves forward)
            commits = ws.repo.commits(f"{snap.head.sha}..{now_sha}")
            merges = [c for c in commits if c.is_merge]
            if merges:
                raise WorkspaceError(
                    f"reverting {key} to checkpoint #{target.number} would discard the merge commit"
                    f" {merges[0].describe()} on {branch}",
                    fix=f"undo a merge with git yourself (git -C {ws.path} reset --keep <commit>),"
                    " or pick a later checkpoint",
                )
            made = self._agent_commits(key, ws, target, checkpoints)
            foreign = [c for c in commits if c.sha not in made]
            if foreign:
                shown = "; ".join(c.describe() for c in foreign[:3]) + (" ..." if len(foreign) > 3 else "")
                raise WorkspaceError(
                    f"reverting {key} to checkpoint #{target.number} would discard {len(foreign)}"
                    f" commit(s) on {branch} that specflow did not make: {shown}",
                    fix=f"keep them on a branch (git -C {ws.path} branch keep-{self.change_id} {now_sha[:10]})"
                    f" and move {branch} back yourself (git -C {ws.path} reset --keep {snap.head.sha[:10]}),"
                    " or pick a later checkpoint",
                )
            moves[key] = snap.head.sha
        return moves

    def _agent_commits(
        self, key: str, ws: Workspace, target: Checkpoint, checkpoints: Sequence[Checkpoint]
    ) -> set[str]:
        """Commits an agent made on ``key``'s branch during audited turns since ``target``."""
        made: set[str] = set()
        for cp in checkpoints:
            if cp.number < target.number or key not in cp.workspaces:
                continue
            snap = cp.workspaces[key]
            after = self.store.read_audit(cp.number).get(str(ws.repo_id), {}).get(snap.head.ref or "")
            if snap.head.sha and after and after != snap.head.sha:
                made.update(ws.repo.rev_list(f"{snap.head.sha}..{after}"))
        return made

    # -- review and merge -----------------------------------------------------------------

    def _select(self, repo: str | None) -> list[RepoTarget]:
        targets = self.targets()
        if repo is None:
            return targets
        chosen = [t for t in targets if t.name == repo]
        if not chosen:
            names = ", ".join(t.name for t in targets) or "none"
            raise WorkspaceError(
                f"repo '{repo}' is not affected by change '{self.change_id}' (affected: {names})",
                fix=f"pick one of them, or add it: specflow repos {self.change_id} add {repo}",
            )
        return chosen

    def diff(self, repo: str | None = None, stat: bool = False) -> str:
        """The change's work against its base in every affected repo, uncommitted work included."""
        parts: list[str] = []
        for target in self._select(repo):
            source = open_source(target)
            if not source.branch_exists(target.branch):
                parts.append(f"== {target.name}: no work yet (branch {target.branch} does not exist)\n")
                continue
            base = base_of(self.layout, target, source)
            fork = source.merge_base(base, target.branch) or base
            if target.exists:
                ws = Workspace(
                    target.name, "worktree", Path(os.path.realpath(target.worktree)), GitRepo.open(target.worktree)
                )
                new = self.store.snapshot(ws)
                where = str(target.worktree)
            else:
                new = target.branch
                where = f"branch {target.branch}"
            body = source.diff(fork, new, stat=stat)
            parts.append(f"== {target.name}: {target.branch} against {base} ({where})\n{body}")
        return "\n".join(parts)

    def merge(self) -> list[MergeResult]:
        """Merge each change branch into its base with a merge commit naming the change.

        Every repo is checked first (uncommitted work, a dirty base checkout, conflicts), so a
        refusal leaves nothing half-merged.  The caller holds the change's lock.
        """
        results: list[MergeResult] = []
        plans: list[_MergePlan] = []
        for target in self.targets():
            source = open_source(target)
            base = base_of(self.layout, target, source)
            branch_sha = source.resolve(f"refs/heads/{target.branch}")
            base_sha = source.resolve(f"refs/heads/{base}")
            if branch_sha is None or base_sha is None:
                results.append(MergeResult(target.name, target.branch, base, "nothing to merge"))
                continue
            if target.exists:
                dirty = GitRepo.open(target.worktree).status()
                if dirty:
                    raise WorkspaceError(
                        f"the worktree of '{target.name}' has {len(dirty)} uncommitted change(s): " + _shown(dirty),
                        fix=f"commit them on {target.branch}: git -C {target.worktree} add -A &&"
                        f" git -C {target.worktree} commit -m '...'; then merge again",
                    )
            if source.is_ancestor(branch_sha, base_sha):
                results.append(MergeResult(target.name, target.branch, base, "already merged"))
                continue
            preview = source.merge_preview(base_sha, branch_sha)
            where = target.worktree if target.exists else source.root
            if not preview.clean:
                raise WorkspaceError(
                    f"merging {target.branch} into {base} in '{target.name}' would conflict in: "
                    + ", ".join(preview.conflicts[:10]),
                    fix=f"merge {base} into the branch and resolve there (git -C {where} merge {base}),"
                    f" commit, then run 'specflow merge {self.change_id}' again",
                )
            changed = source.diff_trees(base_sha, preview.tree)
            checkout = next((w.path for w in source.worktrees() if w.branch == base), None)
            if checkout is not None:
                self._check_base_checkout(target, base, GitRepo.open(checkout), changed)
            plans.append(_MergePlan(target, source, base, base_sha, branch_sha, preview.tree, checkout, len(changed)))
        done: list[_MergePlan] = []
        message = MERGE_MESSAGE.format(id=self.change_id)
        for plan in plans:
            try:
                if plan.checkout is not None:
                    GitRepo.open(plan.checkout).merge_no_ff(plan.target.branch, message)
                else:
                    commit = plan.repo.commit_tree_as_user(plan.tree, [plan.base_sha, plan.branch_sha], message)
                    plan.repo.update_refs([f"update refs/heads/{plan.base} {commit} {plan.base_sha}"], message=message)
            except Exception as exc:
                self._undo_merges(done)
                detail = getattr(exc, "message", str(exc))
                raise WorkspaceError(
                    f"merging {plan.target.branch} into {plan.base} in '{plan.target.name}' failed: {detail};"
                    " every merge of this run was undone",
                    fix="fix the cause git names above, then run the merge again",
                ) from None
            done.append(plan)
            commit_sha = plan.repo.resolve(f"refs/heads/{plan.base}")
            results.append(
                MergeResult(plan.target.name, plan.target.branch, plan.base, "merged", commit_sha, plan.files)
            )
        return results

    def _check_base_checkout(self, target: RepoTarget, base: str, checkout: GitRepo, changed: Sequence[Any]) -> None:
        """Refuse a dirty base checkout (specflow's own change folders in the hub do not count)."""
        touched = {c.path for c in changed}
        dirty = []
        for line in checkout.status(untracked=False):
            path = line[3:]
            staged = line[0] not in (" ", "?")
            if not staged and path.startswith("openspec/") and path not in touched:
                continue
            dirty.append(line)
        if dirty:
            raise WorkspaceError(
                f"the checkout of {base} in '{target.name}' ({checkout.root}) has uncommitted changes: "
                + _shown(dirty),
                fix=f"commit or stash them (git -C {checkout.root} status), then merge again",
            )
        blocked = [c.path for c in changed if c.status == "A" and (checkout.root / c.path).exists()]
        if blocked:
            raise WorkspaceError(
                f"the merge would overwrite untracked files in {checkout.root}: " + ", ".join(blocked[:5]),
                fix="move them away (or commit them), then merge again",
            )

    @staticmethod
    def _undo_merges(done: Sequence[_MergePlan]) -> None:
        for plan in reversed(done):
            if plan.checkout is not None:
                GitRepo.open(plan.checkout).reset_keep(plan.base_sha)
            else:
                plan.repo.update_refs([f"update refs/heads/{plan.base} {plan.base_sha}"])

    def merged(self) -> dict[str, str | None]:
        """For each affected repo: None when its branch is merged into its base, else why not."""
        out: dict[str, str | None] = {}
        for target in self.targets():
            source = open_source(target)
            base = base_of(self.layout, target, source)
            branch_sha = source.resolve(f"refs/heads/{target.branch}")
            if branch_sha is None:
                out[target.name] = None  # never worked on: nothing to merge
                continue
            if target.exists and GitRepo.open(target.worktree).status():
                out[target.name] = f"the worktree of {target.name} has uncommitted work"
                continue
            if source.is_ancestor(branch_sha, f"refs/heads/{base}"):
                out[target.name] = None
                continue
            ahead = len(source.rev_list(f"refs/heads/{base}..{branch_sha}"))
            out[target.name] = f"{target.branch} is not merged into {base} in {target.name} ({ahead} commit(s) ahead)"
        return out


def _shown(lines: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(line[3:] for line in lines[:n])
    return shown + (f" and {len(lines) - n} more" if len(lines) > n else "")


def for_change(change: Any) -> Workspaces:
    """The workspaces of a ``specflow.hub.Change`` (its hub, configuration and affected repos)."""
    return Workspaces(change.hub.root, change.hub.config, change.id, list(change.repos))
