"""Putting paths back: each path of a workspace made exactly as a checkpoint's tree has it.

The file writing shared by the audit, a restore (``specflow.workspace.restore``) and a revert
(``specflow.workspace.revert``): ``put_back`` removes what the tree does not hold and writes what it
does (with the permission bits the checkpoint recorded, when given); a nested repository is moved
aside whole where the caller says so.  For the audit, ``save_and_put_back`` saves what lies outside
the gate first (``specflow.workspace.rejected``) and puts back nothing it could not save.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from specflow.errors import GitError
from specflow.structs import replace
from specflow.trees import remove_tree
from specflow.workspace.checkpoints import Checkpoint, Workspace
from specflow.workspace.checkpointstore import CheckpointStore, current_umask
from specflow.workspace.filestats import usual_perm
from specflow.workspace.git import TreeChange
from specflow.workspace.rejected import move_aside, save_files
from specflow.workspace.report import AuditReport

GITLINK = "160000"  # a nested repository, as git records it


def save_and_put_back(
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
    # a violation already saved elsewhere (what was moved aside whole) keeps its place
    report.violations[:] = [
        replace(v, saved=ref) if v.workspace == ws.key and v.path in paths and not v.saved else v
        for v in report.violations
    ]

    def aside(loc: Path, rel: str) -> None:
        dest = move_aside(store, checkpoint.number, loc, f"{ws.key}/{rel}")
        assert report.rejected is not None
        report.rejected.folders[str(dest)] = str(loc)

    report.errors += put_back(ws, bad, checkpoint.workspaces[ws.key].tree, aside=aside, umask=umask, perms=perms)


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
            write_entry(root, c.path, c.old_mode, blobs[c.old_sha], mask, exact)
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


def write_entry(root: Path, rel: str, mode: str, data: bytes, umask: int, exact: int | None = None) -> None:
    """Write ``data`` at ``rel`` as git checks out an entry of ``mode``: bits from ``umask`` (kept
    for a file already there), or ``exact``; folders and links in the way are cleared."""
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
