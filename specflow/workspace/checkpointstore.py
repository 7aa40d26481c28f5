"""Taking, listing and reading the checkpoints of one change (``CheckpointStore``).

Taking a checkpoint snapshots every workspace (``specflow.workspace.checkpointfiles``), commits
each tree under the change's checkpoint refs (``specflow.workspace.checkpoints``), and records
what only this machine keeps of it: every ref, a copy of each real index, the unusual permission
bits, the ignored files and the nested ``.git`` folders (bits and ignored files looked at again only
where a file changed since the previous checkpoint).  Listing reads every checkpoint's record from
its hub commit in one git process.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
import time as clock
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from specflow.changestate.records import now_iso
from specflow.structs import replace
from specflow.trees import remove_tree
from specflow.workspace import unreadable
from specflow.workspace.checkpointfiles import AUDIT_TOUCHED, CheckpointFiles, link_or_copy, write_json
from specflow.workspace.checkpoints import (
    HUB_KEY,
    REF_ROOT,
    SPECFLOW_REFS,
    Checkpoint,
    Workspace,
    WorkspaceSnapshot,
)
from specflow.workspace.filestats import (
    NOT_KEPT,
    holding_git,
    keep_ignored,
    nested_git_dirs,
    touched_between,
    touched_since,
    unusual_perm,
)
from specflow.workspace.git import GitRepo, Head

KEEP_INDEX_COPIES = 3


class CheckpointStore(CheckpointFiles):
    """Takes, lists and reads the checkpoints of one change."""

    @property
    def prefix(self) -> str:
        return f"{REF_ROOT}/{self.change_id}/"

    # -- taking ---------------------------------------------------------------------------

    def take(
        self,
        workspaces: Sequence[Workspace],
        *,
        phase: str,
        state: str,
        reason: str,
        extra: dict[str, Any] | None = None,
    ) -> Checkpoint:
        """Snapshot every workspace and record the checkpoint (the hub's workspace comes first)."""
        if workspaces[0].key != HUB_KEY:
            raise ValueError("the hub's workspace comes first")
        groups = _group(workspaces)
        refs = {str(repo_id): members[0].repo.all_refs(skip=SPECFLOW_REFS) for repo_id, members in groups.items()}
        branches = {str(repo_id): members[0].repo.read_refs("refs/heads/") for repo_id, members in groups.items()}
        number = self._next_number()
        umask = current_umask()
        local: dict[str, Any] = {
            "stat_second": int(clock.time()),
            "branches": branches,
            "refs": refs,
            "index": {},
            "umask": umask,
            "modes": {},
            "ignored": {},
            "nested_git": {},
            **(extra or {}),
        }
        trees = self._snapshot_all(workspaces, number, local)
        record = Checkpoint(self.change_id, number, now_iso(), phase, state, reason)
        final = self._commit_all(workspaces, record, trees)
        for members in groups.values():
            made = {final.ref_name(m.key): final.refs[m.key] for m in members}
            members[0].repo.create_refs(made, message=f"specflow checkpoint #{number}")
        write_json(self.local_path(number), local)
        self._prune_copies(number)
        return final

    def _next_number(self) -> int:
        """One more than the change's last checkpoint: the numbers only are read, never the refs,
        so numbering costs the same at checkpoint #1 and #200."""
        return max((int(n) for n in self.hub_repo.ref_children(self.prefix) if n.isdigit()), default=0) + 1

    def _snapshot_all(
        self, workspaces: Sequence[Workspace], number: int, local: dict[str, Any]
    ) -> dict[str, tuple[str, Head]]:
        """Each workspace's tree and HEAD; ``local`` gets what only this machine keeps of it."""
        trees: dict[str, tuple[str, Head]] = {}
        umask = int(local["umask"])
        for ws in workspaces:
            # the listing of ignored files walks the tree as the snapshot does: both run at once
            listing = ws.repo.ignored_files_started(ws.skip)
            try:
                ref, detached = ws.repo.head_file()
                sha = local["branches"][str(ws.repo_id)].get(ref) if ref else detached
                looked: dict[bytes, bool] = {}
                copied: dict[str, Any] = {}
                beside = functools.partial(self._beside_add, ws, number, copied, looked)
                trees[ws.key] = (self.snapshot(ws, beside=beside, keep_parse=False), Head(ref, sha))
                assert copied, "the snapshot calls beside with its add: the index audit needs the copy"
                local["index"][ws.key] = copied
                local["modes"][ws.key] = self._record_modes(ws, number, umask)
                local["ignored"][ws.key] = self._record_ignored(ws, number, listing.result())
                snap = self.snap_copy_path(number, ws.key)
                local["nested_git"][ws.key] = sorted(nested_git_dirs(ws, snap, looked))
                if ws.repo.unreadable:  # the person's own: the audit leaves them as they are
                    local.setdefault("unreadable", {})[ws.key] = unreadable.record(ws.path, ws.repo.unreadable)
            finally:
                listing.close()
        return trees

    def _beside_add(self, ws: Workspace, number: int, copied: dict[str, Any], looked: dict[bytes, bool]) -> bool:
        """While ``git add`` scans the tree (into a temporary index; the real one is left alone):
        the real index copied, its stat data into ``copied``, and which folders the last snapshot
        knew hold a nested ``.git``, into ``looked`` (one ``lstat`` each).  It changes nothing (False)."""
        copied.update(_copy_index(ws.repo.real_index(), self.real_copy_path(number, ws.key)))
        seed = self.seed_path(ws.key)
        looked.update(holding_git(ws.path, ws.repo.index_folders(seed) if seed.is_file() else ()))
        return False

    def _commit_all(
        self, workspaces: Sequence[Workspace], record: Checkpoint, trees: dict[str, tuple[str, Head]]
    ) -> Checkpoint:
        """A commit of each workspace's tree; ``record`` (without workspaces) filled in with them."""
        snaps: dict[str, WorkspaceSnapshot] = {}
        for ws in workspaces[1:]:
            tree, head = trees[ws.key]
            msg = f"specflow checkpoint #{record.number} of {self.change_id}: {ws.key}\n"
            commit = ws.repo.commit_tree(tree, [head.sha] if head.sha else [], msg)
            snaps[ws.key] = WorkspaceSnapshot(ws.key, ws.kind, ws.path, commit, tree, head)
        # The hub's commit carries the record (naming every other commit), so it is made last;
        # it cannot name itself, so its own entry has an empty commit, filled in from the ref.
        hub_ws = workspaces[0]
        tree, head = trees[hub_ws.key]
        hub_snap = WorkspaceSnapshot(hub_ws.key, hub_ws.kind, hub_ws.path, "", tree, head)
        record = replace(record, workspaces={hub_ws.key: hub_snap, **snaps})
        hub_commit = hub_ws.repo.commit_tree(tree, [head.sha] if head.sha else [], record.message())
        return record.with_commit(hub_ws.key, hub_commit)

    def _record_modes(self, ws: Workspace, number: int, umask: int) -> dict[str, int]:
        """The workspace's files whose permission bits are not git's usual ones under ``umask``.

        Kept from the previous checkpoint, with only the files touched since (``git diff-files``
        over its snapshot index: stat data, no hashing) looked at again; the first checkpoint of
        a change (or one after a umask change) looks at every file once.
        """
        copy = self.snap_copy_path(number, ws.key)
        copy.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(self.seed_path(ws.key), copy)
        before = self.read_local(number - 1)
        known = before.get("modes", {}).get(ws.key) if before.get("umask") == umask else None
        previous = self.snap_copy_path(number - 1, ws.key)
        if isinstance(known, dict) and previous.is_file():
            modes = {str(k): int(v) for k, v in known.items()}
            touched = self._touched_since_audit(ws, number - 1, copy)
            if touched is None:
                touched = touched_since(ws, previous, copy, int(before.get("stat_second", 0)))
            paths = sorted(touched | self.big_paths(ws.key))
        else:
            # every path of the snapshot, from its parse (no ``ls-files`` process)
            modes, paths = {}, [os.fsdecode(p) for p in ws.repo.index_ctimes(copy)]
        for rel in paths:
            perm = unusual_perm(ws.path / rel, umask)
            if perm is None:
                modes.pop(rel, None)
            else:
                modes[rel] = perm
        return modes

    def _touched_since_audit(self, ws: Workspace, number: int, copy: Path) -> set[str] | None:
        """The files touched since checkpoint ``number``, from what its audit found touched and
        what changed since the audit's snapshot; None when this snapshot did not start from the
        audit's (then the checkpoint's own snapshot index is compared).

        The audit's snapshot lies between the two checkpoints, so a file touched between them
        was touched before it or after it: the checkpoint's index need not be read again.
        """
        found = self.read_audit(number).get(AUDIT_TOUCHED, {}).get(ws.key)
        start = self.starts.get(ws.key)
        if not isinstance(found, dict) or start is None or found.get("seed") != start[0].hex():
            return None
        since = touched_between(ws, start[1], ws.repo.index_ctimes(copy), int(found["second"]))
        return since | {str(p) for p in found["paths"]}

    def _record_ignored(self, ws: Workspace, number: int, listed: Sequence[str]) -> dict[str, list[Any]]:
        """``path -> [size, mtime_ns, ctime_ns, mode, ino, blob]`` of the workspace's ignored files.

        An ignored file is in no snapshot, so its bytes are written as a blob here, for the
        audit to put it back; only files whose stat data changed since the previous checkpoint
        are hashed again (the first checkpoint of a change hashes them all once).  Files over
        ``IGNORED_FILE_MAX``, or past ``IGNORED_BUDGET`` bytes in one checkpoint (a build folder,
        ``node_modules``), are recorded without their bytes (``NOT_KEPT``): a change to one is
        still seen and reported, but cannot be put back.  ``listed``:
        the ignored files git lists now.
        """
        before = self.read_local(number - 1).get("ignored", {}).get(ws.key)
        known: dict[str, list[Any]] = before if isinstance(before, dict) else {}
        found: dict[str, list[Any]] = {}
        fresh: list[str] = []
        for rel in listed:
            if ws.ignored(rel):
                continue
            try:
                st = (ws.path / rel).lstat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            now = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_ino]
            old = known.get(rel)
            if isinstance(old, list) and old[:5] == now and len(old) == 6 and old[5] != NOT_KEPT:
                found[rel] = old
            else:
                found[rel] = now
                fresh.append(rel)
        kept = keep_ignored(fresh, [int(found[rel][0]) for rel in fresh])
        shas = dict(zip(kept, ws.repo.hash_files(kept), strict=True))
        for rel in fresh:
            found[rel].append(shas.get(rel, NOT_KEPT))
        return found

    def _prune_copies(self, number: int) -> None:
        with os.scandir(self.layout.state_dir / "checkpoints") as entries:
            old = [e.path for e in entries if e.name.isdigit() and int(e.name) <= number - KEEP_INDEX_COPIES]
        for path in old:
            if os.path.isdir(path):
                remove_tree(path, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------

    def list(self) -> list[Checkpoint]:
        """Every checkpoint of the change, oldest first (one git process)."""
        found: dict[int, Checkpoint] = {}
        for _ref, sha, message in self.hub_repo.refs_with_messages(f"{self.prefix}*/{HUB_KEY}"):
            cp = Checkpoint.from_message(message)
            if cp is None or cp.change_id != self.change_id or HUB_KEY not in cp.workspaces:
                continue
            found[cp.number] = cp.with_commit(HUB_KEY, sha)
        return [found[n] for n in sorted(found)]

    def get(self, number: int) -> Checkpoint | None:
        for cp in self.list():
            if cp.number == number:
                return cp
        return None

    def delete_all(self, repos: Iterable[GitRepo]) -> None:
        """Delete every checkpoint ref of the change (used by tests and explicit clean-ups)."""
        for repo in repos:
            refs = repo.refs(self.prefix)
            repo.update_refs([f"delete {r}" for r in refs])


def _group(workspaces: Sequence[Workspace]) -> dict[Path, list[Workspace]]:
    groups: dict[Path, list[Workspace]] = {}
    for ws in workspaces:
        groups.setdefault(ws.repo_id, []).append(ws)
    return groups


def _copy_index(real: Path, copy: Path) -> dict[str, Any]:
    """Copy the real index (for the audit to put staged entries back); return its stat."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    try:
        st = real.stat()
        shutil.copy2(real, copy)
    except FileNotFoundError:
        copy.unlink(missing_ok=True)
        return {"exists": False}
    return {"exists": True, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino}


def index_unchanged(real: Path, recorded: dict[str, Any]) -> bool:
    """True if the real index file is the very file the checkpoint saw."""
    try:
        st = real.stat()
    except FileNotFoundError:
        return not recorded.get("exists", False)
    return bool(
        recorded.get("exists")
        and st.st_size == recorded.get("size")
        and st.st_mtime_ns == recorded.get("mtime_ns")
        and st.st_ino == recorded.get("ino")
    )


def current_umask() -> int:
    """This process's umask, read without changing it (from ``/proc`` where there is one)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022
