"""The audit's checks of what git's snapshots do not hold: exact permission bits, ignored files,
nested ``.git`` folders (what each checkpoint records of them: ``specflow.workspace.filestats``)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from specflow.errors import GitError
from specflow.workspace.checkpoints import Workspace
from specflow.workspace.checkpointstore import CheckpointStore
from specflow.workspace.filestats import NOT_KEPT, git_mode, nested_git_dirs, usual_perm
from specflow.workspace.gates import GatePolicy
from specflow.workspace.git import ZERO_SHA, TreeChange
from specflow.workspace.rejected import move_aside
from specflow.workspace.report import AuditReport, Violation


def audit_perms(
    touched: set[str],
    ws: Workspace,
    recorded: tuple[dict[str, int], int],
    seen: set[str],
    policy: GatePolicy,
    report: AuditReport,
) -> None:
    """Give each file outside the gate whose permission bits alone changed its checkpoint bits back.

    Only ``touched`` files (their stat data changed since the checkpoint's snapshot index:
    ``touched_since``, no hashing) are looked at; ``seen``: paths the tree comparison judged.
    """
    perms, umask = recorded
    for rel in sorted(touched):
        if rel in seen or ws.ignored(rel):
            continue
        loc = ws.path / rel
        try:
            st = loc.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        now, was = st.st_mode & 0o7777, perms.get(rel, usual_perm(st.st_mode, umask))
        if now == was or policy.allows_real(Path(os.path.realpath(loc))):
            continue
        try:
            os.chmod(loc, was)
        except OSError as exc:
            report.errors.append(f"{ws.key}:{rel}: could not put its permissions back: {exc}")
            continue
        detail = f"permissions changed {was:04o} -> {now:04o} outside the gate; put back"
        report.violations.append(Violation(ws.key, rel, "mode", detail))


def remove_nested_git(store: CheckpointStore, number: int, ws: Workspace, known: set[str], report: AuditReport) -> bool:
    """Move aside (saved under the trash) each ``.git`` made since the checkpoint in a folder of
    files; True when there was one.

    Done while the snapshot's ``add`` scans the tree (one ``lstat`` per folder, beside it); when
    one was moved, the snapshot is taken again, so the folder's files are judged as the outer
    repository's.
    """
    snap_index = store.snap_copy_path(number, ws.key)
    if not snap_index.is_file():
        return False
    made = sorted(nested_git_dirs(ws, snap_index) - known)
    for folder in made:
        loc = ws.path / folder / ".git"
        try:
            saved = move_aside(store, number, loc, f"{ws.key}/{folder}/.git")
        except OSError as exc:
            report.errors.append(f"{ws.key}:{folder}/.git: could not move the nested git folder aside: {exc}")
            continue
        assert report.rejected is not None
        report.rejected.folders[str(saved)] = str(loc)
        what = "file pointing elsewhere" if saved.is_file() else "repository"
        detail = f"a nested git {what} made in a folder of this workspace; removed (kept at {saved})"
        report.violations.append(Violation(ws.key, f"{folder}/.git", "git", detail, saved=str(saved)))
    return bool(made)


def changed_ignored(
    ws: Workspace,
    recorded: dict[str, list[Any]],
    policy: GatePolicy,
    report: AuditReport,
    open_up: Callable[[str], bool] = lambda rel: False,
) -> list[TreeChange]:
    """The ignored files outside the gate that the agent changed or deleted, as tree changes.

    Stat data only (size, mtime, ctime, mode, inode, as the checkpoint recorded them); what
    changed is hashed (the agent's bytes, saved before the put-back).  Each is reported.  A file
    in a folder closed since (git does not open an ignored folder, so it said nothing of it) is
    looked at again once ``open_up(path)`` has given access to the folders on its way.
    """
    changed: list[tuple[str, list[Any], str]] = []
    for rel, entry in recorded.items():
        if len(entry) != 6:
            continue
        loc = ws.path / rel
        try:
            try:
                st = loc.lstat()
            except PermissionError:
                if not open_up(rel):
                    raise
                st = loc.lstat()
        except FileNotFoundError:
            changed.append((rel, entry, "deleted"))
            continue
        except OSError:
            continue
        if [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_ino] == entry[:5]:
            continue
        changed.append((rel, entry, "modified" if stat.S_ISREG(st.st_mode) else "deleted"))
    changed = [c for c in changed if not policy.allows_real(Path(os.path.realpath(ws.path / c[0])))]
    unkept = [c for c in changed if c[1][5] == NOT_KEPT]
    for rel, _, how in unkept:
        detail = f"ignored file {'changed' if how == 'modified' else 'deleted'} outside the gate; too large to"
        detail += " have been kept at the checkpoint, so it is left as it is"
        report.violations.append(Violation(ws.key, rel, "modified" if how == "modified" else "deleted", detail))
    changed = [c for c in changed if c[1][5] != NOT_KEPT]
    try:
        ws.repo.read_blobs(str(entry[5]) for _, entry, _ in changed)  # every blob there before anything is put back
    except GitError as exc:
        report.errors.append(f"{ws.key}: ignored files changed outside the gate cannot be put back: {exc.message}")
        return []
    modified = [rel for rel, _, how in changed if how == "modified"]
    shas = dict(zip(modified, ws.repo.hash_files(modified), strict=True))
    changes: list[TreeChange] = []
    for rel, entry, how in changed:
        old_mode = "100755" if int(entry[3]) & 0o100 else "100644"
        new_sha = shas.get(rel, ZERO_SHA)
        if new_sha == entry[5] and how == "modified":
            # same bytes: only its stat data changed (a touch, a chmod): the bits are put back
            loc = ws.path / rel
            was, now = int(entry[3]) & 0o7777, loc.lstat().st_mode & 0o7777
            if was != now:
                os.chmod(loc, was)
                detail = f"permissions of an ignored file changed {was:04o} -> {now:04o} outside the gate; put back"
                report.violations.append(Violation(ws.key, rel, "mode", detail))
            continue
        new_mode = git_mode(ws.path / rel) if how == "modified" else "000000"
        status = "M" if how == "modified" else "D"
        changes.append(TreeChange(rel, status, old_mode, new_mode, str(entry[5]), new_sha))
        detail = f"ignored file {'changed' if how == 'modified' else 'deleted'} outside the gate"
        report.violations.append(Violation(ws.key, rel, "modified" if how == "modified" else "deleted", detail))
    return changes
