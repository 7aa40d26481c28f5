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
nested ``.git`` folders, which no snapshot holds, in ``specflow.workspace.fileaudit``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import time as clock
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from specflow.errors import GitError, WorkspaceError
from specflow.structs import Struct, field, replace
from specflow.trees import remove_tree
from specflow.workspace.checkpointfiles import AUDIT_TOUCHED
from specflow.workspace.checkpoints import HUB_KEY, Checkpoint, Workspace
from specflow.workspace.checkpointstore import CheckpointStore, current_umask, index_unchanged
from specflow.workspace.fileaudit import audit_perms, changed_ignored, remove_nested_git
from specflow.workspace.filestats import git_mode, touched_since, usual_perm
from specflow.workspace.gates import GatePolicy
from specflow.workspace.git import IndexEntry, TreeChange
from specflow.workspace.journal import content_hash
from specflow.workspace.refaudit import audit_refs, one_per_repo
from specflow.workspace.rejected import Rejected, move_aside, save_files, save_index
from specflow.workspace.report import AuditReport, Violation, ViolationKind
from specflow.workspace.ticks import keep_ticks, tick_problem

GITLINK = "160000"  # a nested repository, as git records it


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
        tree = self.store.snapshot(ws, beside=look)
        self._unindexable(ws)
        bad, ticks = self._judge_files(ws, tree)
        umask = int(self.local.get("umask", current_umask()))
        perms = self._perms(ws, bad, umask, started)
        ignored = self.local.get("ignored", {}).get(ws.key)
        if isinstance(ignored, dict):
            hidden = changed_ignored(ws, ignored, self.policy, self.report)
            bad += hidden
            perms = {**(perms or {}), **{c.path: int(ignored[c.path][3]) & 0o7777 for c in hidden}}
        if bad:
            _save_and_put_back(self.store, self.checkpoint, ws, bad, (self.attempt, umask, perms), self.report)
            _keep_ticks(ws, ticks, self.report)
        _audit_index(self.store, self.checkpoint, ws, self.policy, self.local, head_restored, self.report)

    def _unindexable(self, ws: Workspace) -> None:
        """A nested repository without commits cannot be snapshot: one outside the gate is a violation."""
        for rel in ws.repo.unindexable:
            if not self.policy.allows_real(Path(os.path.realpath(ws.path / rel))):
                self.report.violations.append(
                    Violation(ws.key, rel, "added", "a git repository without commits, outside the gate; remove it")
                )

    def _judge_files(self, ws: Workspace, tree: str) -> tuple[list[TreeChange], dict[str, str]]:
        """Every difference from the checkpoint's tree, judged: those to put back, and the ticks to keep."""
        bad: list[TreeChange] = []
        ticks: dict[str, str] = {}
        for change in self._changes(ws, tree):
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


def _save_and_put_back(
    store: CheckpointStore,
    checkpoint: Checkpoint,
    ws: Workspace,
    bad: Sequence[TreeChange],
    attempt_umask: tuple[int | None, int, dict[str, int] | None],
    report: AuditReport,
) -> None:
    """Save ``bad`` as a commit, then put it back; if it cannot be saved, leave it as it is.

    ``attempt_umask``: the attempt named in the save, the umask of the checkpoint and the
    unusual permission bits it recorded, so a file put back gets exactly the bits it had then,
    not those of specflow's umask now.
    """
    attempt, umask, perms = attempt_umask
    try:
        ref = save_files(store, checkpoint, ws, bad, attempt=attempt)
    except GitError as exc:
        report.errors.append(f"{ws.key}: could not save what lies outside the gate, so it is left as it is: {exc}")
        return
    assert report.rejected is not None
    report.rejected.refs[ws.key] = ref
    paths = {c.path for c in bad}
    report.violations[:] = [
        replace(v, saved=ref) if v.workspace == ws.key and v.path in paths else v for v in report.violations
    ]

    def aside(loc: Path, rel: str) -> None:
        dest = move_aside(store, checkpoint.number, loc, f"{ws.key}/{rel}")
        assert report.rejected is not None
        report.rejected.folders[str(dest)] = str(loc)

    report.errors += put_back(ws, bad, checkpoint.workspaces[ws.key].tree, aside=aside, umask=umask, perms=perms)


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
            _write_entry(ws.path, rel, git_mode(loc), text.encode("utf-8"), current_umask())
        except OSError as exc:
            report.errors.append(f"{ws.key}:{rel}: could not keep its ticks: {exc}")


def _judge_ok(ws: Workspace, change: TreeChange, policy: GatePolicy) -> bool:
    return judge(ws, change, policy) is None


# -- the index -----------------------------------------------------------------------------------


def _audit_index(
    store: CheckpointStore,
    checkpoint: Checkpoint,
    ws: Workspace,
    policy: GatePolicy,
    local: dict[str, Any],
    head_restored: bool,
    report: AuditReport,
) -> None:
    """Put back staged entries outside the gate; after a HEAD or branch was put back, the whole index."""
    recorded = local.get("index", {}).get(ws.key)
    copy = store.real_copy_path(checkpoint.number, ws.key)
    real = ws.repo.real_index()
    if recorded is None or not recorded.get("exists") or not copy.is_file():
        return
    if index_unchanged(real, recorded):
        return
    if head_restored:
        tmp = real.with_name(f"index.specflow.{os.getpid()}")
        shutil.copy2(copy, tmp)  # the copy keeps its mtime, so git's racy-clean check still holds
        os.replace(tmp, real)
        return
    _audit_index_flags(ws, copy, report)
    before = ws.repo.index_entries(index=copy)
    now = ws.repo.index_entries()
    reported = {v.path for v in report.violations if v.workspace == ws.key}
    fixes: dict[str, IndexEntry | None] = {}
    staged: dict[str, IndexEntry | None] = {}
    for path in set(before) | set(now):
        if before.get(path) == now.get(path) or ws.ignored(path):
            continue
        if policy.allows_real(ws.path / path):
            continue
        fixes[path] = before.get(path)
        staged[path] = now.get(path)
    if not fixes:
        return
    try:
        saved = save_index(
            store, checkpoint, ws, {p: (e.mode, e.sha) if e and e.stage == 0 else None for p, e in staged.items()}
        )
        ws.repo.set_index_entries(fixes)
    except GitError as exc:
        report.errors.append(exc.message)
        return
    for path in sorted(fixes):
        if path not in reported:
            detail = "staged in the index outside the gate; unstaged"
            report.violations.append(Violation(ws.key, path, "modified", detail, saved=saved))


def _audit_index_flags(ws: Workspace, copy: Path, report: AuditReport) -> None:
    """Take back the ``assume-unchanged`` and ``skip-worktree`` flags the agent set in the real index.

    A flag already there at the checkpoint (a sparse worktree's skip-worktree) is the person's and stays.
    """
    try:
        before = ws.repo.flagged_entries(index=copy)
        now = ws.repo.flagged_entries()
        added = {p: tuple(f for f in flags if f not in before.get(p, ())) for p, flags in now.items()}
        added = {p: flags for p, flags in added.items() if flags}
        for flag in ("assume-unchanged", "skip-worktree"):
            ws.repo.set_index_flag(sorted(p for p, flags in added.items() if flag in flags), flag, on=False)
    except GitError as exc:
        report.errors.append(f"{ws.key}: could not clear the index flags the agent set: {exc.message}")
        return
    for path, flags in sorted(added.items()):
        detail = f"marked {' and '.join(flags)} in the index (git stops looking at its edits); cleared"
        report.violations.append(Violation(ws.key, path, "index", detail))


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


# -- putting paths back --------------------------------------------------------------------------


def put_back(
    ws: Workspace,
    changes: Sequence[TreeChange],
    old_tree: str,
    *,
    aside: Callable[[Path, str], None] | None = None,
    umask: int | None = None,
    perms: Mapping[str, int] | None = None,
) -> list[str]:
    """Make each changed path exactly as it is in ``old_tree``; return what could not be done.

    ``aside`` moves a nested repository out of the way (to keep it) instead of deleting it.
    A file made again gets the bits of ``umask`` (default: this process's); with ``perms`` (the
    checkpoint's unusual permission bits) every file put back gets exactly the bits it had then.
    """
    errors: list[str] = []
    root = ws.path
    removals = [c for c in changes if not c.old_exists]
    writes = [c for c in changes if c.old_exists and c.old_mode != GITLINK]
    blobs = ws.repo.read_blobs(c.old_sha for c in writes)  # read first: a missing one stops before any removal
    parents: set[str] = set()
    for c in sorted(removals, key=lambda c: c.path.count("/"), reverse=True):
        if not _real_parents(root, c.path):
            continue  # a folder on the way is now a link: nothing of this workspace is there
        loc = root / c.path
        try:
            if loc.is_symlink() or loc.is_file():
                loc.unlink()
            elif c.new_mode == GITLINK and loc.is_dir():
                if aside is not None:
                    aside(loc, c.path)  # a repository the agent cloned or made there, kept whole
                else:
                    remove_tree(loc)
        except FileNotFoundError:
            pass
        except OSError as exc:
            errors.append(f"{ws.key}:{c.path}: {exc}")
        parts = c.path.split("/")[:-1]
        parents.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    if parents:
        keep = ws.repo.tree_dirs(old_tree, parents)
        for d in sorted(parents - keep, key=lambda d: d.count("/"), reverse=True):
            with contextlib.suppress(OSError):  # not empty (in-gate work lives there) or gone
                (root / d).rmdir()
    mask = current_umask() if umask is None else umask
    for c in writes:
        try:
            exact = (
                None if perms is None else perms.get(c.path, usual_perm(0o100 if c.old_mode == "100755" else 0, mask))
            )
            _write_entry(root, c.path, c.old_mode, blobs[c.old_sha], mask, exact)
        except OSError as exc:
            errors.append(f"{ws.key}:{c.path}: {exc}")
    return errors


def _real_parents(root: Path, rel: str) -> bool:
    cur = root
    for part in rel.split("/")[:-1]:
        cur = cur / part
        if cur.is_symlink() or (cur.exists() and not cur.is_dir()):
            return False
    return True


def _clear_way(root: Path, rel: str) -> None:
    """Make every folder on the way to ``rel`` a real folder (removing files or links in the way)."""
    cur = root
    for part in rel.split("/")[:-1]:
        cur = cur / part
        if cur.is_symlink() or (cur.exists() and not cur.is_dir()):
            cur.unlink()
        if not cur.exists():
            cur.mkdir()


def _write_entry(root: Path, rel: str, mode: str, data: bytes, umask: int, exact: int | None = None) -> None:
    _clear_way(root, rel)
    loc = root / rel
    if mode == "120000":
        if loc.is_symlink() and os.readlink(loc) == os.fsdecode(data):
            return
        if loc.is_symlink() or loc.is_file():
            loc.unlink()
        elif loc.is_dir():
            loc.rmdir()
        os.symlink(os.fsdecode(data), loc)
        return
    regular = loc.is_file() and not loc.is_symlink()
    perm = loc.stat().st_mode & 0o7777 if regular else 0o666 & ~umask
    perm = perm | ((perm & 0o444) >> 2) if mode == "100755" else perm & ~0o111
    if exact is not None:
        perm = exact
    if loc.is_file() and not loc.is_symlink() and loc.read_bytes() == data:
        os.chmod(loc, perm)
        return
    if loc.is_symlink():
        loc.unlink()
    elif loc.is_dir():
        loc.rmdir()
    tmp = loc.with_name(f".{loc.name}.specflow-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, perm)
    os.replace(tmp, loc)


__all__ = ["GITLINK", "AuditReport", "Violation", "ViolationKind", "audit", "judge", "put_back", "verify"]
