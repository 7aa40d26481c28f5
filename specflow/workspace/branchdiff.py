"""The diffs of a change's branches: each repo's work against the point where it left its base.

The work is a snapshot of the repo's worktree, uncommitted work included (the branch itself when
there is no worktree).  Merging the branches is ``branches.py``'s.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.errors import WorkspaceError
from specflow.structs import Struct
from specflow.workspace.checkpoints import Workspace
from specflow.workspace.git import GitRepo
from specflow.workspace.layout import RepoTarget
from specflow.workspace.worktrees import base_of, open_source

if TYPE_CHECKING:
    from specflow.workspace.workspaces import Workspaces


def _select(owner: Workspaces, repo: str | None) -> list[RepoTarget]:
    targets = owner.all_targets()
    if repo is None:
        return targets
    chosen = [t for t in targets if t.name == repo]
    if not chosen:
        names = ", ".join(t.name for t in targets) or "none"
        raise WorkspaceError(
            f"repo '{repo}' is not affected by change '{owner.change_id}' (affected: {names})",
            fix=f"pick one of them, or add it: specflow repos {owner.change_id} add {repo}",
        )
    return chosen


class _DiffPlan(Struct):
    """What one repo's diff compares: the fork point with the base, and the work (a snapshot of
    the worktree, uncommitted work included, or the branch when there is no worktree)."""

    target: RepoTarget
    source: GitRepo
    base: str | None = None
    fork: str | None = None
    new: str | None = None
    where: str = ""


def _diff_plans(owner: Workspaces, repo: str | None) -> list[_DiffPlan]:
    plans = []
    for target in _select(owner, repo):
        plan = _DiffPlan(target, open_source(target))
        plans.append(plan)
        if not plan.source.branch_exists(target.branch):
            continue  # no work yet
        plan.base = base_of(owner.layout, target, plan.source)
        plan.fork = plan.source.merge_base(plan.base, target.branch) or plan.base
        if target.exists:
            ws = Workspace(
                target.name, "worktree", Path(os.path.realpath(target.worktree)), GitRepo.open(target.worktree)
            )
            plan.new, plan.where = owner.store.snapshot(ws), str(target.worktree)
        else:
            plan.new, plan.where = target.branch, f"branch {target.branch}"
    return plans


def diff(owner: Workspaces, repo: str | None = None, stat: bool = False) -> str:
    """The change's work against its base in every affected repo, uncommitted work included."""
    parts: list[str] = []
    for plan in _diff_plans(owner, repo):
        name, branch = plan.target.name, plan.target.branch
        if plan.new is None or plan.fork is None:
            parts.append(f"== {name}: no work yet (branch {branch} does not exist)\n")
            continue
        body = plan.source.diff(plan.fork, plan.new, stat=stat)
        parts.append(f"== {name}: {branch} against {plan.base} ({plan.where})\n{body}")
    return "\n".join(parts)


def diff_data(owner: Workspaces, repo: str | None = None, stat: bool = False) -> list[dict[str, Any]]:
    """``diff`` as data, per repo: branch, base, worktree, changed files and (without ``stat``) the patch."""
    out: list[dict[str, Any]] = []
    for plan in _diff_plans(owner, repo):
        target = plan.target
        entry: dict[str, Any] = {
            "repo": target.name,
            "branch": target.branch,
            "branch_exists": plan.new is not None,
            "base": plan.base,
            "worktree": str(target.worktree) if target.exists else None,
            "files": [],
        }
        if plan.new is not None and plan.fork is not None:
            entry["files"] = plan.source.numstat(plan.fork, plan.new)
        if not stat:
            entry["patch"] = plan.source.diff(plan.fork, plan.new) if plan.new and plan.fork else ""
        out.append(entry)
    return out
