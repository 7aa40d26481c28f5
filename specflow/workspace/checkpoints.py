"""Checkpoints: every workspace of a change, snapshot as git commits before each agent turn.

A checkpoint numbered ``n`` is one commit per workspace under
``refs/specflow/checkpoints/<id>/<n>/<workspace>`` in that workspace's repository.  Each commit's
tree is the working tree as it was — tracked and untracked files, ignored ones left out, as git
sees them — written through a temporary index, so HEAD, the real index, the stash and the
working tree are never touched.  Its parent is the workspace's HEAD at that moment.  The hub's
commit carries the checkpoint's record (time, phase, state, every workspace's commit) as JSON in
its message, so one ``for-each-ref`` lists every checkpoint.

Local details that only this machine needs (every ref of every repository but specflow's own
``refs/specflow/``, a copy of each real index for the audit, the snapshot indexes that make the
next scan cheap) live in the hub's records folder (``workspaces/<id>/`` there), out of every
agent's reach.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import stat
import time as clock
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from specflow.changestate.records import now_iso
from specflow.structs import Struct, field, replace
from specflow.trees import remove_tree
from specflow.workspace import bigfiles, looseobjects
from specflow.workspace.filestats import (
    NOT_KEPT,
    holding_git,
    keep_ignored,
    nested_git_dirs,
    touched_between,
    touched_since,
    unusual_perm,
)
from specflow.workspace.git import ChangedUnderAdd, GitRepo, Head
from specflow.workspace.worktrees import Layout

REF_ROOT = "refs/specflow/checkpoints"
HUB_KEY = "hub"
REJECTED_ROOT = "refs/specflow/rejected"
#: specflow's own refs: never snapshot, never put back (checkpoints and saved work live there).
SPECFLOW_REFS = "refs/specflow/"
KEEP_INDEX_COPIES = 3
#: The key of a checkpoint's audit record that holds, per workspace, the files the audit found
#: touched since the checkpoint (``paths``), the snapshot index it wrote (``seed``, its checksum)
#: and the second its snapshot began (``second``).
AUDIT_TOUCHED = "touched"

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


class CheckpointStore:
    """Takes, lists and reads the checkpoints of one change."""

    def __init__(self, layout: Layout, hub_repo: GitRepo) -> None:
        self.layout = layout
        self.hub_repo = hub_repo
        self.change_id = layout.change_id
        self.starts: dict[str, tuple[bytes, dict[bytes, bytes]]] = {}
        """Per workspace, the index its last snapshot started from: checksum and parse."""

    @property
    def prefix(self) -> str:
        return f"{REF_ROOT}/{self.change_id}/"

    # -- local files ----------------------------------------------------------------------

    def seed_path(self, key: str) -> Path:
        """The latest snapshot index of a workspace: the seed that makes the next scan cheap."""
        return self.layout.state_dir / "index" / f"{key}.index"

    def local_path(self, number: int) -> Path:
        return self.layout.state_dir / "checkpoints" / f"{number}.json"

    def real_copy_path(self, number: int, key: str) -> Path:
        return self.layout.state_dir / "checkpoints" / str(number) / f"{key}.index"

    def snap_copy_path(self, number: int, key: str) -> Path:
        """The snapshot index of checkpoint ``number``: its stat data tells which files were touched since."""
        return self.layout.state_dir / "checkpoints" / str(number) / f"{key}.snap.index"

    def audit_path(self, number: int) -> Path:
        return self.layout.state_dir / "checkpoints" / f"{number}.audit.json"

    def read_local(self, number: int) -> dict[str, Any]:
        try:
            data = json.loads(self.local_path(number).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def read_audit(self, number: int) -> dict[str, Any]:
        try:
            data = json.loads(self.audit_path(number).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_audit(self, number: int, data: dict[str, Any]) -> None:
        _write_json(self.audit_path(number), data)

    # -- snapshots ------------------------------------------------------------------------

    def snapshot(self, ws: Workspace, beside: Callable[[], bool] | None = None, *, keep_parse: bool = True) -> str:
        """The tree of ``ws``'s working tree now (seeded from its last snapshot index).

        Beside the seed is the tree written from it (``<key>.tree``: the seed's checksum and the
        tree), so a snapshot that finds nothing changed costs one ``git add`` and no ``write-tree``.
        ``beside``: work done while ``git add`` scans the tree; when it returns True (it changed
        the tree under ``add``) the snapshot is taken again, after it.  ``keep_parse``: keep the
        seed's parse beside it for the next process (a checkpoint leaves that to its audit, whose
        snapshot the next process starts from, in the same process).
        """
        seed = self.seed_path(ws.key)
        tmp = seed.with_name(f"{ws.key}.{os.getpid()}.tmp")
        try:
            openspec = ws.path / "openspec"
            # git refuses a pathspec that reaches through a link (a worktree's linked openspec/)
            exclude = SNAPSHOT_EXCLUDE if openspec.is_dir() and not openspec.is_symlink() else ()
            if not seed.is_file():  # the first snapshot: start from the real index, kept compact from then on
                real = ws.repo.real_index()
                tmp.parent.mkdir(parents=True, exist_ok=True)
                if real.is_file():
                    shutil.copy2(real, tmp)
                    ws.repo.compact_index(tmp)
            start = seed if seed.is_file() else tmp
            if start == tmp and beside is not None:
                beside()  # no seed to start again from: before the one add
                beside = None
            while True:
                if start == seed:
                    self.starts[ws.key] = (ws.repo.index_checksum(seed), ws.repo.index_ctimes(seed))
                    _link_or_copy(seed, tmp)
                else:
                    self.starts.pop(ws.key, None)
                big = self._big_files(ws, start)
                stored = [(b.path, b.mode, b.sha) for b in big]
                known = self._seed_tree(ws.key)
                try:
                    tree = ws.repo.snapshot(tmp, tmp, exclude, known, stored, beside)
                    break
                except ChangedUnderAdd:
                    beside = None  # once: what it changed, the second add sees
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        checksum = ws.repo.index_checksum(tmp)
        os.replace(tmp, seed)
        tmp.unlink(missing_ok=True)  # still there when nothing changed: a link to the seed itself
        if keep_parse:
            ws.repo.keep_index_parse(seed)  # the next process loads it instead of reading every entry
        bigfiles.write_known(seed.with_suffix(".big"), big)
        if known != (checksum, tree):  # else the seed is the very index its tree was written from
            written = tmp.with_suffix(".tree")
            written.write_text(f"{checksum.hex()} {tree}\n", encoding="ascii")
            os.replace(written, seed.with_suffix(".tree"))
        return tree

    def _big_files(self, ws: Workspace, index: Path) -> list[bigfiles.BigEntry]:
        """The big tracked files of ``ws``, hashed and stored by specflow (``bigfiles``), when git
        would store them as these files do; else none (git's ``add`` takes them)."""
        if not index.is_file() or not looseobjects.plain(ws.repo.common_dir) or not ws.repo.trusts_file_modes():
            return []
        known = bigfiles.read_known(self.seed_path(ws.key).with_suffix(".big"))
        stats = ws.repo.index_ctimes(index)
        return bigfiles.big_entries(
            ws.path, ws.repo.common_dir, stats, known, lambda sha: not ws.repo.missing_objects([sha])
        )

    def big_paths(self, key: str) -> set[str]:
        """The big files the last snapshot of ``key`` stored itself: their index entries carry no
        stat data, so they count as touched (their permission bits are looked at each time)."""
        return set(bigfiles.read_known(self.seed_path(key).with_suffix(".big")))

    def _seed_tree(self, key: str) -> tuple[bytes, str] | None:
        """The checksum of ``key``'s seed index and the tree written from it, if recorded."""
        try:
            text = self.seed_path(key).with_suffix(".tree").read_text(encoding="ascii")
            checksum, _, tree = text.strip().partition(" ")
            return bytes.fromhex(checksum), tree
        except (OSError, ValueError):
            return None

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
        _write_json(self.local_path(number), local)
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
                local["index"][ws.key] = _copy_index(ws.repo.real_index(), self.real_copy_path(number, ws.key))
                looked: dict[bytes, bool] = {}
                trees[ws.key] = (
                    self.snapshot(ws, beside=functools.partial(self._look_for_git, ws, looked), keep_parse=False),
                    Head(ref, sha),
                )
                local["modes"][ws.key] = self._record_modes(ws, number, umask)
                local["ignored"][ws.key] = self._record_ignored(ws, number, listing.result())
                snap = self.snap_copy_path(number, ws.key)
                local["nested_git"][ws.key] = sorted(nested_git_dirs(ws, snap, looked))
            finally:
                listing.close()
        return trees

    def _look_for_git(self, ws: Workspace, looked: dict[bytes, bool]) -> bool:
        """While ``git add`` scans the tree: which folders the last snapshot knew hold a nested
        ``.git`` (into ``looked``; one ``lstat`` each).  It changes nothing (False)."""
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
        _link_or_copy(self.seed_path(ws.key), copy)
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


def _link_or_copy(index: Path, to: Path) -> None:
    """``to`` as a second name of the snapshot index ``index`` (a copy where links fail).

    A snapshot index is never written in place — git and specflow write a new file and rename
    it over the old — so a link keeps the content it had, as a copy would, without the copying.
    """
    to.unlink(missing_ok=True)
    try:
        os.link(index, to)
    except OSError:
        shutil.copy2(index, to)


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


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


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
