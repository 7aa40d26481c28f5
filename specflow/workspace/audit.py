"""The audit: after every agent run, whatever the adapter, put back what was written outside the gate.

For each workspace the working tree is written as a tree through a temporary index seeded from
the checkpoint's own snapshot index (so only files whose stat data changed are hashed again, and
only the folders they lie in get new trees, written without git: the cost is about one
``git status``), then the two snapshot indexes, compared in process, list what changed since
the checkpoint — content, mode, new, deleted, symlinks, untracked files included.  Only those
paths are judged, on resolved locations: a write through a symlink shows up where it landed, a
new symlink is judged by where it points.  Branch tips and each HEAD are compared with the
checkpoint's record: a commit on another branch or a moved HEAD is undone (the agent's commits
stay reachable under ``refs/specflow/rejected/``); commits on the change's own branch are
allowed in phases that may write the worktrees.  Every other ref — tags, notes, ``refs/replace``,
``refs/stash``, remotes, anything but specflow's own ``refs/specflow/`` — is compared too: one the
agent created, moved or deleted is put back, what it pointed at kept under
``refs/specflow/rejected/<id>/<n>/refs/``.

Whatever is outside the gate is saved first (``specflow.workspace.rejected``: a commit per
workspace under ``refs/specflow/rejected/``, removed folders moved under the hub's git folder),
then put back exactly as it was — only those paths; in-gate work stays.  When the save fails,
nothing is put back and the attempt fails.

HEADs and refs are judged in ``specflow.workspace.refaudit``; permission bits, ignored files and
nested ``.git`` folders, which no snapshot holds, in ``specflow.workspace.fileaudit``; the real
index in ``specflow.workspace.indexaudit``.  Files are saved and put back by
``specflow.workspace.putback``.
"""

from __future__ import annotations

import functools
import os
import stat
import time as clock
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from specflow.errors import GitError, WorkspaceError
from specflow.structs import Struct, field
from specflow.workspace import unreadable
from specflow.workspace.checkpointfiles import AUDIT_TOUCHED, link_or_copy
from specflow.workspace.checkpoints import HUB_KEY, Checkpoint, Workspace
from specflow.workspace.checkpointstore import CheckpointStore, current_umask
from specflow.workspace.fileaudit import audit_perms, changed_ignored, remove_nested_git
from specflow.workspace.filestats import git_mode, touched_since, usual_perm
from specflow.workspace.gates import GatePolicy
from specflow.workspace.git import TreeChange
from specflow.workspace.indexaudit import audit_index
from specflow.workspace.journal import content_hash
from specflow.workspace.putback import GITLINK, save_and_put_back, write_entry
from specflow.workspace.refaudit import audit_refs, one_per_repo
from specflow.workspace.rejected import Rejected, move_aside
from specflow.workspace.report import AuditReport, Violation, ViolationKind
from specflow.workspace.ticks import keep_ticks, tick_problem


def audit(
    store: CheckpointStore,
    checkpoint: Checkpoint,
    workspaces: Sequence[Workspace],
    policy: GatePolicy,
    *,
    own_branch: str,
    folders: Sequence[tuple[Path, Callable[[str], bool]]] = (),
    foreign: Callable[[], list[GatePolicy]] = lambda: [],
    engine_writes: Callable[[], dict[str, set[str | None]]] = dict,
    attempt: int | None = None,
    active: Callable[[], set[str]] = set,
) -> AuditReport:
    """Compare every workspace with ``checkpoint``; put back everything outside ``policy``.

    ``own_branch`` may move when the policy lets the agent write worktrees.  ``folders`` are
    folders outside every repo that an agent could reach with ``..`` (the worktrees folders):
    an entry new since the checkpoint is removed unless its predicate says it belongs there.
    ``foreign`` returns the gates of other changes running right now: hub paths they allow are
    theirs, not this agent's, and are left alone.  ``engine_writes`` returns the hub paths other
    changes' engines wrote since the checkpoint (record files, archives), with the content they
    left: a difference that matches one is that engine's, not this agent's.  ``attempt`` is named
    in the message of the commits that save what is put back.  ``active`` returns the other
    changes that ran (held their lock) since the checkpoint: their branches are theirs to move.
    """
    run = _Audit(store, checkpoint, policy, store.read_local(checkpoint.number), attempt, foreign, engine_writes)
    present = [ws for ws in workspaces if ws.key in checkpoint.workspaces]
    gate = (policy, own_branch)
    restored_heads = audit_refs(store, checkpoint, present, gate, run.local, run.report, run.journaled, active)
    for ws in present:
        run.workspace(ws, head_restored=ws.key in restored_heads)
    recorded_folders: dict[str, list[str]] = run.local.get("folders", {})
    for folder, legit in folders:
        if str(folder) in recorded_folders:
            _audit_folder(store, checkpoint.number, folder, set(recorded_folders[str(folder)]), legit, run.report)
    record: dict[str, Any] = {str(ws.repo_id): ws.repo.read_refs("refs/heads/") for ws in one_per_repo(present)}
    store.write_audit(checkpoint.number, {**record, AUDIT_TOUCHED: run.touched})
    return run.report


class _Audit(Struct):
    """One audit's state: what it compares with, what it found, and what it asked others once."""

    store: CheckpointStore
    checkpoint: Checkpoint
    policy: GatePolicy
    local: dict[str, Any]
    attempt: int | None
    foreign: Callable[[], list[GatePolicy]]
    engine_writes: Callable[[], dict[str, set[str | None]]]
    report: AuditReport = field(init=False)
    _others: list[GatePolicy] | None = None
    _journal: dict[str, set[str | None]] | None = None
    touched: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per workspace, what the next checkpoint reads instead of this checkpoint's index (``AUDIT_TOUCHED``)."""

    def __post_init__(self) -> None:
        self.report = AuditReport(
            self.checkpoint.number, rejected=Rejected(self.store.change_id, self.checkpoint.number)
        )

    def journaled(self) -> dict[str, set[str | None]]:
        """The hub paths other changes' engines wrote since the checkpoint (asked once)."""
        if self._journal is None:
            self._journal = self.engine_writes()
        return self._journal

    def others(self) -> list[GatePolicy]:
        """The gates of the other changes running now (asked once)."""
        if self._others is None:
            self._others = self.foreign()
        return self._others

    def workspace(self, ws: Workspace, *, head_restored: bool) -> None:
        """Audit one workspace: its files, permission bits, ignored files and index."""
        known_nested = self.local.get("nested_git", {}).get(ws.key)
        look: Callable[[], bool] | None = None
        if isinstance(known_nested, list):  # while the snapshot's add runs
            look = functools.partial(
                remove_nested_git, self.store, self.checkpoint.number, ws, set(known_nested), self.report
            )
        started = int(clock.time())
        changes = self._changes(ws, self._snapshot(ws, look))
        self._unindexable(ws)
        if self._put_back_ignore_rules(ws, changes):
            changes = self._changes(ws, self._snapshot(ws, None))  # under the checkpoint's ignore rules
        bad, ticks = self._judge_files(ws, changes)
        umask = int(self.local.get("umask", current_umask()))
        perms = self._perms(ws, bad, umask, started)
        ignored = self.local.get("ignored", {}).get(ws.key)
        if isinstance(ignored, dict):
            hidden = changed_ignored(
                ws, ignored, self.policy, self.report, lambda rel: self._read_access(ws, {rel: unreadable.DENIED})
            )
            bad += hidden
            perms = {**(perms or {}), **{c.path: int(ignored[c.path][3]) & 0o7777 for c in hidden}}
        if bad:
            save_and_put_back(self.store, self.checkpoint, ws, bad, (self.attempt, umask, perms), self.report)
            _keep_ticks(ws, ticks, self.report)
        audit_index(self.store, self.checkpoint, ws, self.policy, self.local, head_restored, self.report)

    def _put_back_ignore_rules(self, ws: Workspace, changes: list[TreeChange]) -> bool:
        """Put back, before anything else is judged, each ``.gitignore`` the agent changed outside
        the gate; True when there was one.

        The snapshot obeys the rules it found: a file a new rule ignores was hidden from it, and
        a file an old rule no longer ignores (the person's build output) looked new.  The caller
        snapshots again once the checkpoint's rules are back.
        """
        bad: list[TreeChange] = []
        for change in changes:
            if change.path.rpartition("/")[2] != ".gitignore" or ws.ignored(change.path):
                continue
            violation = judge(ws, change, self.policy)
            if violation is not None and not self._someone_elses(ws, change):
                self.report.violations.append(violation)
                bad.append(change)
        if not bad:
            return False
        umask = int(self.local.get("umask", current_umask()))
        save_and_put_back(self.store, self.checkpoint, ws, bad, (self.attempt, umask, None), self.report)
        # from the checkpoint's index: the first snapshot's holds what the agent's rules let in
        # (an entry in the index is never ignored)
        start = self.store.snap_copy_path(self.checkpoint.number, ws.key)
        if start.is_file():
            link_or_copy(start, self.store.seed_path(ws.key))
        return True

    def _snapshot(self, ws: Workspace, look: Callable[[], bool] | None) -> str:
        """``ws``'s tree once git has read all of it.

        What git could not read and was readable at the checkpoint (``unreadable``) is made
        readable to its owner again, or moved aside when it lies deeper than git reaches, and the
        snapshot is taken again; what stays unreadable is an error of the audit, never passed over.
        """
        recorded = self.local.get("unreadable", {}).get(ws.key, {})
        for _ in range(_READ_AGAIN):
            try:
                tree: str | None = self.store.snapshot(ws, beside=look)
            except GitError:
                if not ws.repo.unreadable:
                    raise
                tree = None  # git failed on what it could not read
            look = None  # once, with the first add
            found = ws.repo.unreadable.items()
            new = {p: why for p, why in found if not unreadable.unchanged(ws.path, p, recorded)}
            if not new and tree is not None:
                return tree
            if not new or not self._read_access(ws, new):
                break
        shown = "; ".join(f"{p or 'a path git did not name'} ({why})" for p, why in sorted(ws.repo.unreadable.items()))
        raise GitError(
            f"the audit of {ws.key} cannot read {shown}: what is there cannot be judged",
            fix=f"give your user access to it (chmod u+rwX), or move it out of {ws.path}, then run the phase again",
        )

    def _read_access(self, ws: Workspace, paths: dict[str, str]) -> bool:
        """Make each of ``paths`` (and the folders to it) readable to its owner, or move aside the
        folders it lies in that are too deep for git; True when anything changed.  Outside the gate
        each is a violation: a file gets the permissions it had at the checkpoint, a folder its
        owner's access back (its other bits as the agent left them)."""
        changed = False
        umask = int(self.local.get("umask", current_umask()))
        modes = self.local.get("modes", {}).get(ws.key, {})
        if unreadable.SOMEWHERE in paths:  # git's messages named no path specflow can tell
            recorded = self.local.get("unreadable", {}).get(ws.key, {})
            closed = [p for p in unreadable.find_closed(ws.path) if not unreadable.unchanged(ws.path, p, recorded)]
            why = paths[unreadable.SOMEWHERE]
            paths = {**{p: w for p, w in paths.items() if p != unreadable.SOMEWHERE}, **dict.fromkeys(closed, why)}
        for rel, why in sorted(paths.items()):
            if why == unreadable.SPECIAL:
                changed = self._move_special(ws, rel) or changed
                continue
            given = unreadable.give_access(ws.path, rel)
            changed = changed or bool(given)
            for path, was in given.items():
                loc = ws.path / path
                if self.policy.allows_real(Path(os.path.realpath(loc))):
                    continue  # the agent's own, in the gate: left readable
                now = os.lstat(loc).st_mode
                if not stat.S_ISDIR(now):
                    back = int(modes.get(path, usual_perm(now, umask)))
                    os.chmod(loc, back)
                    detail = f"made unreadable ({was:04o}) outside the gate; its permissions put back ({back:04o})"
                else:
                    back = stat.S_IMODE(now)
                    detail = f"made unreadable ({was:04o}) outside the gate; its owner's access given back ({back:04o})"
                self.report.violations.append(Violation(ws.key, path, "mode", detail))
            if not given and why != unreadable.DENIED:
                changed = self._move_too_deep(ws, rel, why) or changed
        return changed

    def _move_special(self, ws: Workspace, rel: str) -> bool:
        """Move aside ``rel``, a named pipe, socket or device where git tracks a file: git cannot
        hold it, so no snapshot could (the file it replaced is then put back like any other)."""
        loc = ws.path / rel
        try:
            mode = os.lstat(loc).st_mode
        except OSError:
            return False
        if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
            return False
        what = "named pipe" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device"
        self._move_aside(ws, rel, f"a {what}, which git cannot hold, where it tracks a file; moved aside")
        return True

    def _move_too_deep(self, ws: Workspace, rel: str, why: str) -> bool:
        """Move aside the first folder on the way to ``rel`` that is new since the checkpoint: git
        cannot read ``rel`` (``why``: too deep), so neither the audit nor a commit could see it."""
        snap = self.store.snap_copy_path(self.checkpoint.number, ws.key)
        known = ws.repo.index_folders(snap) if snap.is_file() else frozenset()
        names = rel.split("/")
        for depth in range(1, len(names) + 1):
            top = "/".join(names[:depth])
            if os.fsencode(top) not in known:
                break
        else:
            return False
        if not os.path.lexists(ws.path / top):
            return False
        detail = f"folders nested deeper than git can read ({why}); moved aside: no snapshot or commit could hold them"
        self._move_aside(ws, top, detail)
        return True

    def _move_aside(self, ws: Workspace, rel: str, detail: str) -> None:
        """Move ``rel`` aside whole (under the trash ``specflow restore`` reads), reported as added."""
        dest = move_aside(self.store, self.checkpoint.number, ws.path / rel, f"{ws.key}/{rel}")
        self.report.violations.append(Violation(ws.key, rel, "added", detail, saved=str(dest)))

    def _unindexable(self, ws: Workspace) -> None:
        """A nested repository without commits cannot be snapshot: one outside the gate is a violation."""
        for rel in ws.repo.unindexable:
            if not self.policy.allows_real(Path(os.path.realpath(ws.path / rel))):
                self.report.violations.append(
                    Violation(ws.key, rel, "added", "a git repository without commits, outside the gate; remove it")
                )

    def _judge_files(self, ws: Workspace, changes: list[TreeChange]) -> tuple[list[TreeChange], dict[str, str]]:
        """``changes`` (every difference from the checkpoint's tree), judged: those to put back,
        and the ticks to keep."""
        bad: list[TreeChange] = []
        ticks: dict[str, str] = {}
        for change in changes:
            if ws.ignored(change.path) or change.old_mode == GITLINK:
                continue  # a nested repository that was already there is its own business
            violation = judge(ws, change, self.policy)
            if violation is None:
                violation = _judge_ticks(ws, change, self.policy, ticks)
            if violation is None:
                self.report.kept.setdefault(ws.key, []).append(change.path)
            elif not self._someone_elses(ws, change):
                self.report.violations.append(violation)
                bad.append(change)
        return bad, ticks

    def _changes(self, ws: Workspace, tree: str) -> list[TreeChange]:
        """Every difference between the checkpoint's tree and ``tree`` (the snapshot just taken):
        read from the two snapshot indexes they were written from, else from git's ``diff-tree``."""
        old_tree = self.checkpoint.workspaces[ws.key].tree
        if old_tree == tree:
            return []
        snap_index = self.store.snap_copy_path(self.checkpoint.number, ws.key)
        found = ws.repo.diff_indexes(snap_index, self.store.seed_path(ws.key))
        return found if found is not None else ws.repo.diff_trees(old_tree, tree)

    def _someone_elses(self, ws: Workspace, change: TreeChange) -> bool:
        """True for a hub path another running change's agent (inside its gate) or engine wrote."""
        if ws.kind != "hub":
            return False
        if any(_judge_ok(ws, change, p) for p in self.others()):
            return True
        hashes = self.journaled().get(change.path)
        return hashes is not None and bool(hashes) and content_hash(ws.path / change.path) in hashes

    def _perms(self, ws: Workspace, bad: list[TreeChange], umask: int, started: int) -> dict[str, int] | None:
        """The unusual permission bits the checkpoint recorded (None: not recorded); bits changed since are judged.

        The files touched since the checkpoint are kept in ``touched`` with the snapshot index
        they were found with and ``started``, the second its snapshot began.
        """
        recorded = self.local.get("modes", {}).get(ws.key)
        if not isinstance(recorded, dict):
            return None
        perms = {str(k): int(v) for k, v in recorded.items()}
        seen = {c.path for c in bad} | set(self.report.kept.get(ws.key, []))
        snap_index = self.store.snap_copy_path(self.checkpoint.number, ws.key)
        since = int(self.local.get("stat_second", 0))
        seed = self.store.seed_path(ws.key)
        touched = touched_since(ws, snap_index, seed, since) if snap_index.is_file() else set()
        if snap_index.is_file():
            seed_sum = ws.repo.index_checksum(seed).hex()
            self.touched[ws.key] = {"paths": sorted(touched), "seed": seed_sum, "second": started}
        touched |= self.store.big_paths(ws.key)
        audit_perms(touched, ws, (perms, umask), seen, self.policy, self.report)
        return perms


#: snapshots taken at most to get past what git could not read: the first, one after access is
#: given back, one after what lies too deep is moved aside
_READ_AGAIN = 3


def verify(checkpoint: Checkpoint, workspaces: Sequence[Workspace]) -> None:
    """Refuse to audit, before anything is put back, when the checkpoint's snapshots are gone.

    An agent that deletes ``refs/specflow`` and prunes the objects leaves nothing to compare
    with: the audit stops here, whole, rather than put half of the workspaces back.
    """
    gone: list[str] = []
    for ws in workspaces:
        snap = checkpoint.workspaces.get(ws.key)
        if snap is None:
            continue
        shas = [s for s in (snap.tree, snap.commit, snap.head.sha) if s]
        try:
            missing = ws.repo.missing_objects(shas)
        except GitError as exc:
            missing, reason = shas, exc.message
        else:
            reason = "its objects were deleted (refs/specflow removed and the objects pruned, as by git gc --prune=now)"
        if missing:
            gone.append(f"{ws.key} ({', '.join(m[:10] for m in missing)}): {reason}")
    if gone:
        raise WorkspaceError(
            f"cannot audit the agent's work: checkpoint #{checkpoint.number} is no longer readable in "
            + "; ".join(gone)
            + "; nothing was put back or removed, so what the agent wrote is still there",
            fix="look at each workspace with 'git status' and undo by hand what the agent should not have"
            " written; the attempt is recorded as failed",
        )


# -- judging -------------------------------------------------------------------------------------


def judge(ws: Workspace, change: TreeChange, policy: GatePolicy) -> Violation | None:
    """The violation ``change`` is, or None if the gate allows it."""
    loc = ws.path / change.path
    if change.new_mode == "120000":
        if policy.allows_link(loc):
            return None
        target = os.readlink(loc) if loc.is_symlink() else "?"
        if not policy.allows_real(Path(os.path.realpath(loc.parent)) / loc.name):
            return Violation(ws.key, change.path, "symlink", f"symlink to {target} made outside the gate")
        return Violation(ws.key, change.path, "symlink", f"symlink to {target} leads out of the gate")
    if policy.allows_real(loc):
        return None
    if change.status == "A":
        return Violation(ws.key, change.path, "added", "created outside the gate")
    if change.status == "D":
        return Violation(ws.key, change.path, "deleted", "deleted outside the gate")
    if change.old_sha == change.new_sha and change.old_mode != change.new_mode:
        return Violation(ws.key, change.path, "mode", f"mode changed {change.old_mode} -> {change.new_mode}")
    return Violation(ws.key, change.path, "modified", "changed outside the gate")


def _judge_ticks(ws: Workspace, change: TreeChange, policy: GatePolicy, ticks: dict[str, str]) -> Violation | None:
    """The violation an edit of a tick-only file is when it does more than tick; None if it only ticks.

    For an edit put back, ``ticks`` gets the checkpoint's text with the edit's ticks, to write
    after the put-back.
    """
    loc = ws.path / change.path
    if not policy.is_tick_only(Path(os.path.realpath(loc))):
        return None
    rule = "may only be ticked ('- [ ]' to '- [x]')"
    if change.status == "A":
        return Violation(ws.key, change.path, "added", f"{rule}: it did not exist at the checkpoint; removed")
    if change.status == "D":
        return Violation(ws.key, change.path, "deleted", f"{rule}: it was deleted; restored")
    if change.old_sha == change.new_sha:
        return None  # a mode change of a file the agent may write
    before = ws.repo.read_blobs([change.old_sha])[change.old_sha].decode("utf-8", "replace")
    after = loc.read_bytes().decode("utf-8", "replace")
    problem = tick_problem(before, after)
    if problem is None:
        return None
    ticks[change.path], kept = keep_ticks(before, after)
    return Violation(ws.key, change.path, "modified", f"{rule}: {problem}; put back, {kept} tick(s) kept")


def _keep_ticks(ws: Workspace, ticks: dict[str, str], report: AuditReport) -> None:
    """After the put-back: write the checkpoint's version of each tick-only file with the agent's ticks."""
    for rel, text in ticks.items():
        loc = ws.path / rel
        if not any(v.workspace == ws.key and v.path == rel and v.saved for v in report.violations):
            continue  # not saved, so not put back: nothing to rebuild
        try:
            write_entry(ws.path, rel, git_mode(loc), text.encode("utf-8"), current_umask())
        except OSError as exc:
            report.errors.append(f"{ws.key}:{rel}: could not keep its ticks: {exc}")


def _judge_ok(ws: Workspace, change: TreeChange, policy: GatePolicy) -> bool:
    return judge(ws, change, policy) is None


# -- the change's worktrees folder ---------------------------------------------------------------


def _audit_folder(
    store: CheckpointStore,
    number: int,
    folder: Path,
    before: set[str],
    legit: Callable[[str], bool],
    report: AuditReport,
) -> None:
    """Move what is new in ``folder`` and not ``legit`` aside (under the hub's git folder)."""
    hub = store.layout.hub
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in sorted(set(names) - before):
        if legit(name):
            continue
        p = folder / name
        kind: ViolationKind = "symlink" if p.is_symlink() else "added"
        try:
            shown = p.relative_to(hub).as_posix()
        except ValueError:
            shown = str(p)
        try:
            dest = move_aside(store, number, p, f"folders/{shown.lstrip('/')}")
        except OSError as exc:
            report.errors.append(f"{p}: could not move it aside, so it is left as it is: {exc}")
            report.violations.append(Violation(HUB_KEY, shown, kind, "created outside every worktree"))
            continue
        assert report.rejected is not None
        report.rejected.folders[str(dest)] = str(p)
        report.violations.append(
            Violation(HUB_KEY, shown, kind, "created outside every worktree; moved aside", saved=str(dest))
        )


__all__ = ["AuditReport", "Violation", "ViolationKind", "audit", "judge", "verify"]
