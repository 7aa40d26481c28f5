"""Rejected work: what an audit put back or removed, saved first so nothing is ever destroyed.

Per workspace, one commit under ``refs/specflow/rejected/<id>/<n>/files/<workspace>`` in that
workspace's repository (``n``: the checkpoint the audit compared with).  Its parent is the
checkpoint's commit and its tree is the checkpoint's tree with the rejected paths as the agent
left them (a deleted file is absent, a changed mode is there), so ``git show`` of the ref is
exactly what was put back.  Nested repositories and entries of the worktrees folders — which no
commit of the outer repository can hold — are moved, whole, under the hub's git folder
(``<git>/specflow/rejected/<id>/<n>/``) instead of being deleted; ``manifest.json`` there says
where each came from.  Git's own files an agent changed (config, hooks) are kept there too under
``git/``, for inspection only: a restore never plants them again.  A second audit of the same
checkpoint (after an interrupted run) adds to the save: the earlier commit stays its second parent.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from specflow.structs import Struct, field
from specflow.workspace.checkpoints import REJECTED_ROOT, Checkpoint, Workspace
from specflow.workspace.checkpointstore import CheckpointStore
from specflow.workspace.git import GitRepo, TreeChange

MANIFEST = "manifest.json"


def files_ref(change_id: str, number: int, key: str) -> str:
    """The ref of workspace ``key``'s rejected files, saved by the audit of checkpoint ``number``."""
    return f"{REJECTED_ROOT}/{change_id}/{number}/files/{key}"


def index_ref(change_id: str, number: int, key: str) -> str:
    """Where the audit of checkpoint ``number`` keeps what was staged outside the gate in ``key``."""
    return f"{REJECTED_ROOT}/{change_id}/{number}/index/{key}"


def branch_ref(change_id: str, number: int, branch: str) -> str:
    """Where the audit of checkpoint ``number`` keeps the commits it took off ``branch``."""
    return f"{REJECTED_ROOT}/{change_id}/{number}/branches/{branch}"


def saved_ref(change_id: str, number: int, name: str) -> str:
    """Where the audit of checkpoint ``number`` keeps what the ref ``name`` (not a branch) pointed at."""
    return f"{REJECTED_ROOT}/{change_id}/{number}/refs/{name.removeprefix('refs/')}"


def restore_command(change_id: str, number: int) -> str:
    """The one command that puts the work saved by the audit of checkpoint ``number`` back."""
    return f"specflow restore {change_id} --checkpoint {number}"


def trash_dir(store: CheckpointStore, number: int) -> Path:
    """Where folders the audit of checkpoint ``number`` removed are kept (never an agent's to write)."""
    return store.hub_repo.common_dir / "specflow" / "rejected" / store.change_id / str(number)


class SavedFiles(Struct, frozen=True):
    """One workspace's rejected files: the commit holding them and the checkpoint it sits on."""

    key: str
    repo: GitRepo
    ref: str
    commit: str
    checkpoint_commit: str
    paths: tuple[str, ...]


class Rejected(Struct):
    """Everything one audit saved: commits per workspace, moved folders (saved -> original)."""

    change_id: str
    checkpoint: int
    refs: dict[str, str] = field(default_factory=dict)
    folders: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.refs or self.folders)

    @property
    def command(self) -> str:
        return restore_command(self.change_id, self.checkpoint)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "refs": dict(self.refs),
            "folders": dict(self.folders),
            "command": self.command,
        }


def save_files(
    store: CheckpointStore,
    checkpoint: Checkpoint,
    ws: Workspace,
    changes: Sequence[TreeChange],
    *,
    attempt: int | None = None,
) -> str:
    """Commit ``changes`` (as they are now in ``ws``) on top of the checkpoint; return the ref.

    The blobs are in the repository already: the audit's snapshot wrote them.
    """
    snap = checkpoint.workspaces[ws.key]
    ref = files_ref(store.change_id, checkpoint.number, ws.key)
    earlier = ws.repo.resolve(ref)
    base_tree = ws.repo.text("rev-parse", f"{earlier}^{{tree}}").strip() if earlier else snap.tree
    entries = {c.path: (c.new_mode, c.new_sha) if c.new_exists else None for c in changes}
    index = store.layout.state_dir / "index" / f"rejected-{ws.key}.{os.getpid()}.tmp"
    tree = ws.repo.edit_tree(base_tree, entries, index)
    parents = [snap.commit] if snap.commit else []
    if earlier:
        parents.append(earlier)
    attempt_text = f", attempt {attempt}" if attempt is not None else ""
    paths = sorted(entries)
    record = {
        "change": store.change_id,
        "checkpoint": checkpoint.number,
        "phase": checkpoint.phase,
        "attempt": attempt,
        "workspace": ws.key,
        "path": str(ws.path),
        "paths": paths,
    }
    message = (
        f"specflow: rejected by the audit of {store.change_id} ({checkpoint.phase}{attempt_text},"
        f" checkpoint #{checkpoint.number}): {ws.key}\n\n"
        + "".join(f"  {p}\n" for p in paths)
        + f"\nrestore with: {restore_command(store.change_id, checkpoint.number)}\n\n"
        + json.dumps(record, sort_keys=True)
        + "\n"
    )
    commit = ws.repo.commit_tree(tree, parents, message)
    old = earlier or "0" * 40
    ws.repo.update_refs([f"update {ref} {commit} {old}"], message="specflow: save rejected work")
    return ref


def save_index(
    store: CheckpointStore, checkpoint: Checkpoint, ws: Workspace, entries: dict[str, tuple[str, str] | None]
) -> str:
    """Commit what was staged at ``entries`` (None: unstaged removal) on top of the checkpoint; return the ref."""
    snap = checkpoint.workspaces[ws.key]
    ref = index_ref(store.change_id, checkpoint.number, ws.key)
    index = store.layout.state_dir / "index" / f"rejected-index-{ws.key}.{os.getpid()}.tmp"
    tree = ws.repo.edit_tree(snap.tree, entries, index)
    message = (
        f"specflow: staged outside the gate, unstaged by the audit of {store.change_id}"
        f" ({checkpoint.phase}, checkpoint #{checkpoint.number}): {ws.key}\n\n"
        + "".join(f"  {p}\n" for p in sorted(entries))
    )
    commit = ws.repo.commit_tree(tree, [snap.commit] if snap.commit else [], message)
    ws.repo.update_refs([f"update {ref} {commit}"], message="specflow: save rejected work")
    return ref


def move_aside(store: CheckpointStore, number: int, source: Path, label: str, *, copy: bool = False) -> Path:
    """Move (or ``copy``) ``source``, which the audit removes or overwrites, under the trash; return where."""
    trash = trash_dir(store, number)
    dest = trash / label
    n = 1
    while os.path.lexists(dest):
        n += 1
        dest = trash / f"{label}.{n}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        shutil.copy2(source, dest, follow_symlinks=False)
    else:
        shutil.move(str(source), str(dest))
    manifest = read_manifest(trash)
    manifest[str(dest.relative_to(trash))] = str(source)
    tmp = trash / f".{MANIFEST}.{os.getpid()}"
    tmp.write_text(json.dumps(manifest, sort_keys=True, indent=1), encoding="utf-8")
    os.replace(tmp, trash / MANIFEST)
    return dest


def read_manifest(trash: Path) -> dict[str, str]:
    """Saved path (relative to the trash folder) -> where it was."""
    try:
        data = json.loads((trash / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def saved_files(store: CheckpointStore, number: int, workspaces: Sequence[Workspace]) -> list[SavedFiles]:
    """The rejected-files commits of checkpoint ``number`` in the repos of ``workspaces``."""
    found: list[SavedFiles] = []
    seen: set[Path] = set()
    prefix = f"{REJECTED_ROOT}/{store.change_id}/{number}/files/"
    for ws in workspaces:
        if ws.repo_id in seen:
            continue
        seen.add(ws.repo_id)
        if not ws.repo.read_refs(prefix):
            continue  # nothing saved (the usual case): no git process to ask for messages
        for ref, sha, message in ws.repo.refs_with_messages(prefix):
            start = message.find("\n{")
            try:
                record = json.loads(message[start + 1 :]) if start >= 0 else {}
            except ValueError:
                record = {}
            parent = ws.repo.text("rev-parse", f"{sha}^1").strip()
            found.append(
                SavedFiles(
                    ref.removeprefix(prefix),
                    ws.repo,
                    ref,
                    sha,
                    parent,
                    tuple(str(p) for p in record.get("paths", [])),
                )
            )
    return found


def saved_numbers(store: CheckpointStore, workspaces: Sequence[Workspace]) -> list[int]:
    """Every checkpoint number under which something was saved, oldest first."""
    numbers: set[int] = set()
    seen: set[Path] = set()
    prefix = f"{REJECTED_ROOT}/{store.change_id}/"
    for ws in workspaces:
        if ws.repo_id in seen:
            continue
        seen.add(ws.repo_id)
        for ref in ws.repo.read_refs(prefix):
            head = ref.removeprefix(prefix).split("/", 2)
            if head[0].isdigit() and len(head) > 1 and head[1] == "files":
                numbers.add(int(head[0]))
    trash = trash_dir(store, 0).parent
    if trash.is_dir():
        numbers.update(int(d.name) for d in trash.iterdir() if d.name.isdigit() and read_manifest(d))
    return sorted(numbers)


def collect(store: CheckpointStore, number: int, workspaces: Sequence[Workspace]) -> Rejected:
    """What was saved under checkpoint ``number`` (for the history event of the attempt)."""
    found = Rejected(store.change_id, number)
    for saved in saved_files(store, number, workspaces):
        found.refs[saved.key] = saved.ref
    trash = trash_dir(store, number)
    for rel, original in read_manifest(trash).items():
        found.folders[str(trash / rel)] = original
    return found
