"""The files a change's checkpoints keep on this machine, and the snapshot that starts from them.

Local details that only this machine needs (every ref of every repository but specflow's own
``refs/specflow/``, a copy of each real index for the audit, the snapshot indexes that make the
next scan cheap) live in the hub's records folder (``workspaces/<id>/`` there), out of every
agent's reach.  ``CheckpointFiles`` names those files, reads and writes the checkpoint's local
record and its audit's record, and takes a workspace's snapshot from its seed index; the
checkpoint store (``specflow.workspace.checkpointstore``) builds on it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from specflow.workspace import bigfiles, looseobjects
from specflow.workspace.checkpoints import SNAPSHOT_EXCLUDE, Workspace
from specflow.workspace.git import ChangedUnderAdd, GitRepo
from specflow.workspace.layout import Layout

#: The key of a checkpoint's audit record that holds, per workspace, the files the audit found
#: touched since the checkpoint (``paths``), the snapshot index it wrote (``seed``, its checksum)
#: and the second its snapshot began (``second``).
AUDIT_TOUCHED = "touched"


class CheckpointFiles:
    """The local files of one change's checkpoints, and the snapshots seeded from them."""

    def __init__(self, layout: Layout, hub_repo: GitRepo) -> None:
        self.layout = layout
        self.hub_repo = hub_repo
        self.change_id = layout.change_id
        self.starts: dict[str, tuple[bytes, dict[bytes, bytes]]] = {}
        """Per workspace, the index its last snapshot started from: checksum and parse."""

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
        write_json(self.audit_path(number), data)

    # -- snapshots ------------------------------------------------------------------------

    def snapshot(self, ws: Workspace, beside: Callable[[], bool] | None = None, *, keep_parse: bool = True) -> str:
        """The tree of ``ws``'s working tree now (seeded from its last snapshot index).

        Beside the seed is the tree written from it (``<key>.tree``: the seed's checksum and the
        tree), so a snapshot that finds nothing changed costs one ``git add`` and no ``write-tree``.
        ``beside``: work done while ``git add`` scans the tree, always called once (with the
        first ``add``, or before it when there is no seed); when it returns True (it changed
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
                    link_or_copy(seed, tmp)
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

    def commit_worktree(self, ws: Workspace, message: str, exclude: Sequence[str] = ()) -> str | None:
        """Commit ``ws``'s working tree on its branch (``GitRepo.commit_all``; None when nothing
        changed), staging the big files its last snapshot hashed and stored, unchanged since, as
        they are instead of having ``add`` hash them again.

        Their entries then get the stat data ``add`` would have given them, so a later ``git
        status`` (Claude Code runs one as it starts) does not read them either.  The seed leaves
        out every path a commit may leave out (``SNAPSHOT_EXCLUDE``), so none of them is one.
        """
        stored = self._stored_big_files(ws)
        sha = ws.repo.commit_all(message, exclude=exclude, stored=[(e.path, e.mode, e.sha) for e in stored])
        if stored:
            # looked at again: what changed since it was staged keeps no stat data, and git reads it
            again = bigfiles.unchanged(ws.path, {e.path: e for e in stored})
            ws.repo.record_stat({e.path: (st, e.sha) for e, st in again})
        return sha

    def _stored_big_files(self, ws: Workspace) -> list[bigfiles.BigEntry]:
        """The big files ``ws``'s last snapshot stored that are unchanged since, their blob still
        in the repository."""
        known = bigfiles.read_known(self.seed_path(ws.key).with_suffix(".big"))
        if not known or not looseobjects.plain(ws.repo.common_dir) or not ws.repo.trusts_file_modes():
            return []
        entries = [e for e, _ in bigfiles.unchanged(ws.path, known)]
        missing = set(ws.repo.missing_objects(e.sha for e in entries)) if entries else set()
        return [e for e in entries if e.sha not in missing]

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


def link_or_copy(index: Path, to: Path) -> None:
    """``to`` as a second name of the snapshot index ``index`` (a copy where links fail).

    A snapshot index is never written in place — git and specflow write a new file and rename
    it over the old — so a link keeps the content it had, as a copy would, without the copying.
    """
    to.unlink(missing_ok=True)
    try:
        os.link(index, to)
    except OSError:
        shutil.copy2(index, to)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` as JSON, whole: a temporary file renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
