"""The audit of HEADs and refs: every ref but specflow's own, as the checkpoint recorded them.

A moved HEAD is pointed back.  A branch the agent created, moved or deleted is put back, its
commits kept under ``refs/specflow/rejected/<id>/<n>/branches/``; the change's own branch may
move in phases that write its worktrees, and another change's branch is that change's while it
runs.  Every other ref — tags, notes, ``refs/replace``, ``refs/stash``, remotes — is put back the
same way, what it pointed at kept under ``refs/specflow/rejected/<id>/<n>/refs/``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from specflow.errors import GitError
from specflow.workspace.checkpoints import SPECFLOW_REFS, Checkpoint, Workspace
from specflow.workspace.checkpointstore import CheckpointStore
from specflow.workspace.gates import GatePolicy
from specflow.workspace.git import Head
from specflow.workspace.rejected import branch_ref, saved_ref
from specflow.workspace.report import AuditReport, Violation


def _persons_branches(ws: Workspace, present: Sequence[Workspace]) -> set[str]:
    """Branches checked out in a checkout of the repository that is none of the change's workspaces.

    The person commits there while agents run; the sandbox, not the audit, keeps agents off them.
    """
    ours = {os.path.realpath(w.path) for w in present if w.repo_id == ws.repo_id}
    try:
        trees = ws.repo.worktrees()
    except GitError:
        return set()
    return {
        f"refs/heads/{t.branch}"
        for t in trees
        if t.branch and not t.branch.startswith("specflow/") and os.path.realpath(t.path) not in ours
    }


def audit_refs(
    store: CheckpointStore,
    checkpoint: Checkpoint,
    present: Sequence[Workspace],
    gate: tuple[GatePolicy, str],
    local: dict[str, Any],
    report: AuditReport,
    journaled: Callable[[], dict[str, set[str | None]]] = dict,
    active: Callable[[], set[str]] = set,
) -> set[str]:
    """Undo moved HEADs and ref changes; return the workspaces whose HEAD or branch was put back.

    ``gate``: the policy and the change's own branch.  Other changes' branches (``specflow/<other>``)
    are theirs while those changes run (``active``), and a branch an other change's engine moved
    (a merge it journaled) is left where that engine put it.
    """
    restored = _put_back_heads(checkpoint, present, report)
    recorded_branches: dict[str, dict[str, str]] = local.get("branches", {})
    recorded_refs: dict[str, dict[str, str]] = local.get("refs", {})
    for ws in one_per_repo(present):
        before = recorded_branches.get(str(ws.repo_id))
        if before is None:
            continue
        leave = _leave_alone(ws, present, gate, journaled, active)
        cmds = _branch_commands(store, checkpoint, ws, present, before, leave, report, restored)
        symbolic: list[tuple[str, str]] = []
        recorded = recorded_refs.get(str(ws.repo_id))
        if recorded is not None:
            cmds += _other_refs(store, checkpoint, ws, recorded, report, journaled, symbolic)
        try:
            ws.repo.update_refs(cmds, message="specflow: put back refs changed outside the gate")
            for name, target in symbolic:
                ws.repo.set_symbolic_ref(name, target)
        except GitError as exc:
            report.errors.append(exc.message)
    return restored


def _put_back_heads(checkpoint: Checkpoint, present: Sequence[Workspace], report: AuditReport) -> set[str]:
    """Point every moved HEAD back where the checkpoint saw it; return those workspaces."""
    restored: set[str] = set()
    for ws in present:
        snap = checkpoint.workspaces[ws.key]
        ref, detached = ws.repo.head_file()
        moved = ref != snap.head.ref if snap.head.ref else (ref is not None or detached != snap.head.sha)
        if moved:
            now = Head(ref, detached).describe() if ref or detached else "nothing"
            ws.repo.set_head(snap.head)
            restored.add(ws.key)
            report.violations.append(
                Violation(ws.key, "HEAD", "head", f"HEAD moved from {snap.head.describe()} to {now}; put back")
            )
    return restored


def _leave_alone(
    ws: Workspace,
    present: Sequence[Workspace],
    gate: tuple[GatePolicy, str],
    journaled: Callable[[], dict[str, set[str | None]]],
    active: Callable[[], set[str]],
) -> Callable[[str, str | None], bool]:
    """Which moved branches of ``ws``'s repository are not the agent's doing to undo."""
    policy, own_branch = gate
    own_ref = f"refs/heads/{own_branch}"
    persons: set[str] | None = None  # asked of git only when a branch moved (seldom)

    def leave(name: str, new: str | None) -> bool:
        nonlocal persons
        if name == own_ref:
            if policy.worktrees and new is not None:
                return True  # the change's own branch, in a phase that writes its worktrees
        elif name.startswith("refs/heads/specflow/") and name.removeprefix("refs/heads/specflow/") in active():
            return True  # a change that ran meanwhile: its engine may have moved its branch
        if persons is None:
            persons = _persons_branches(ws, present)
        if name in persons:
            return True  # checked out in a person's own checkout: their commits are theirs
        return new is not None and new in journaled().get(f"ref:{ws.repo_id}:{name}", set())  # specflow merge

    return leave


def _branch_commands(
    store: CheckpointStore,
    checkpoint: Checkpoint,
    ws: Workspace,
    present: Sequence[Workspace],
    before: dict[str, str],
    leave: Callable[[str, str | None], bool],
    report: AuditReport,
    restored: set[str],
) -> list[str]:
    """``update-ref --stdin`` lines putting back every branch the agent created, moved or deleted.

    What a branch pointed at is kept under the rejected refs first; each one is reported, and the
    workspaces that had it checked out are added to ``restored``.
    """
    tips = ws.repo.read_refs("refs/heads/")
    cmds: list[str] = []
    for name in sorted(set(before) | set(tips)):
        old, new = before.get(name), tips.get(name)
        if old == new or leave(name, new):
            continue
        branch = name.removeprefix("refs/heads/")
        owner = _checked_out_by(present, ws.repo_id, name) or ws.key
        keep = branch_ref(store.change_id, checkpoint.number, branch)
        if old is None:
            cmds += [f"update {keep} {new}", f"delete {name} {new}"]
            detail = f"branch {branch} created at {new[:10] if new else '?'}; deleted (kept as {keep})"
        elif new is None:
            cmds.append(f"create {name} {old}")
            detail = f"branch {branch} deleted; restored at {old[:10]}"
        else:
            cmds += [f"update {keep} {new}", f"update {name} {old} {new}"]
            detail = f"commits on {branch} undone: {old[:10]} -> {new[:10]} (kept as {keep})"
        report.violations.append(Violation(owner, branch, "commit", detail, saved=keep if new is not None else ""))
        restored.update(
            m.key for m in present if m.repo_id == ws.repo_id and checkpoint.workspaces[m.key].head.ref == name
        )
    return cmds


def _other_refs(
    store: CheckpointStore,
    checkpoint: Checkpoint,
    ws: Workspace,
    recorded: dict[str, str],
    report: AuditReport,
    journaled: Callable[[], dict[str, set[str | None]]],
    symbolic: list[tuple[str, str]],
) -> list[str]:
    """``update-ref`` commands that put back every ref outside ``refs/heads/`` the agent changed.

    What a created or moved ref pointed at is kept under ``refs/specflow/rejected/``; a symbolic
    ref to point back is added to ``symbolic`` (set after the transaction).
    """
    before = {n: v for n, v in recorded.items() if not n.startswith("refs/heads/")}
    now = {n: v for n, v in ws.repo.all_refs(skip=SPECFLOW_REFS).items() if not n.startswith("refs/heads/")}
    cmds: list[str] = []
    for name in sorted(set(before) | set(now)):
        old, new = before.get(name), now.get(name)
        if old == new:
            continue
        if new is not None and new in journaled().get(f"ref:{ws.repo_id}:{name}", set()):
            continue
        keep = saved_ref(store.change_id, checkpoint.number, name)
        if new is not None and not new.startswith("ref:"):
            cmds.append(f"update {keep} {new}")
        if new is not None and (old is None or old.startswith("ref:")):
            cmds += ["option no-deref", f"delete {name}"]
        if old is not None and old.startswith("ref:"):
            symbolic.append((name, old[4:].strip()))
        elif old is not None:
            cmds += ["option no-deref", f"update {name} {old}"]
        was, got = _describe_ref(old), _describe_ref(new)
        if old is None:
            detail = f"ref {name} created at {got}; deleted"
        elif new is None:
            detail = f"ref {name} deleted; restored at {was}"
        else:
            detail = f"ref {name} moved from {was} to {got}; put back"
        saved = keep if new is not None and not new.startswith("ref:") else ""
        report.violations.append(
            Violation(ws.key, name, "ref", detail + (f" (kept as {saved})" if saved else ""), saved)
        )
    return cmds


def _describe_ref(value: str | None) -> str:
    if value is None:
        return "nothing"
    return value if value.startswith("ref:") else value[:10]


def _checked_out_by(present: Sequence[Workspace], repo_id: Path, ref: str) -> str | None:
    for ws in present:
        if ws.repo_id == repo_id and ws.repo.head_file()[0] == ref:
            return ws.key
    return None


def one_per_repo(workspaces: Sequence[Workspace]) -> list[Workspace]:
    seen: set[Path] = set()
    out = []
    for ws in workspaces:
        if ws.repo_id not in seen:
            seen.add(ws.repo_id)
            out.append(ws)
    return out
