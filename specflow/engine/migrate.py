"""Moving a change of the previous layout onto its branch.

Before round 2 a change's folder and records lived on the hub's checkout, which every change
and agent shared.  On its next ``advance`` such a change (and a plain OpenSpec change put under a
workflow by ``adopt``) moves onto its own branch: its hub worktree is made on ``specflow/<id>``,
the folder as the checkout has it now is copied there and committed, and the checkout's copy goes
back to what the hub's commits hold (removed when no commit holds it).  Nothing is lost: every
file is on the branch before anything leaves the checkout.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from specflow.agents.base import EventCallback, ignore_event
from specflow.engine.results import emit
from specflow.workspace.git import GitRepo
from specflow.workspace.workspaces import for_change

if TYPE_CHECKING:
    from specflow.engine.phasechange import PhaseChange


def needs_move(change: PhaseChange) -> bool:
    """True for an open change still on the hub's checkout, in a hub where changes have branches."""
    return not change.on_branch and not change.archived and change.dir.is_dir() and change.hub.on_branches


def move_onto_branch(change: PhaseChange, on_event: EventCallback = ignore_event) -> Path:
    """Move ``change`` onto ``specflow/<id>`` (see the module's docstring); return its new folder.

    The caller holds the change's lock.
    """
    hub = change.hub
    ws = for_change(change)
    old = change.dir
    rel = old.relative_to(hub.root).as_posix()
    ws.ensure_hub(on_event)
    new = ws.root / rel
    # the branch may hold the folder already (it was committed on the base); the checkout's is newer
    shutil.copytree(old, new, dirs_exist_ok=True, symlinks=True)
    ws.commit(
        f"specflow({change.id}): move the change onto its branch\n\n"
        f"Moved from the hub's checkout ({rel}), as it was there.\n\nSpecflow-Change: {change.id}\n"
    )
    _give_back(GitRepo.open(hub.root), old, rel)
    change.dir = new
    emit(
        on_event,
        "phase",
        f"moved change '{change.id}' onto its branch {ws.branch} (its worktree: {ws.root});"
        " the hub's checkout keeps only what its commits hold",
        moved_to=str(new),
    )
    return new


def _give_back(repo: GitRepo, folder: Path, rel: str) -> None:
    """The checkout's copy of the moved folder back to what the hub's HEAD holds."""
    tracked = [p for p in repo.run("ls-files", "-z", "--", rel).decode("utf-8", "surrogateescape").split("\0") if p]
    if tracked:
        repo.run("checkout", "HEAD", "--", rel)
    keep = {repo.root / p for p in tracked}
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        here = Path(dirpath)
        for name in filenames:
            path = here / name
            if path not in keep:
                path.unlink()
        for name in dirnames:
            sub = here / name
            if sub.is_symlink():
                sub.unlink()
            elif sub.is_dir() and not any(sub.iterdir()):
                sub.rmdir()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
