"""The audit of the real index: what the agent staged or flagged there, taken back.

An entry staged outside the gate since the checkpoint is unstaged (what was staged kept under
``refs/specflow/rejected/``), an ``assume-unchanged`` or ``skip-worktree`` flag the agent set is
cleared, and after a HEAD or branch was put back the whole index is the checkpoint's copy again.
The copy and its stat data are taken with each checkpoint (``specflow.workspace.checkpointstore``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from specflow.errors import GitError
from specflow.workspace.checkpoints import Checkpoint, Workspace
from specflow.workspace.checkpointstore import CheckpointStore, index_unchanged
from specflow.workspace.gates import GatePolicy
from specflow.workspace.git import IndexEntry
from specflow.workspace.rejected import save_index
from specflow.workspace.report import AuditReport, Violation


def audit_index(
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
