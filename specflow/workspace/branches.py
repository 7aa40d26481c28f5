"""Reviewing and merging a change's branches: diff against the base, merge, merge state.

A merge is previewed for every repo first (``git merge-tree``); only when every repo would merge
cleanly into a clean base checkout is anything merged, with a merge commit naming the change, and
a failure part-way undoes the merges already made.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.errors import WorkspaceError
from specflow.workspace import journal
from specflow.workspace.checkpoints import Workspace
from specflow.workspace.git import GitRepo
from specflow.workspace.journal import hub_writes
from specflow.workspace.worktrees import (
    RepoTarget,
    base_of,
    open_source,
)

if TYPE_CHECKING:
    from specflow.workspace.workspaces import Workspaces


MERGE_MESSAGE = "specflow: merge change {id}"


@dataclass(frozen=True)
class MergeResult:
    """One repo's merge: ``merged``, ``already merged`` or ``nothing to merge``."""

    repo: str
    branch: str
    base: str
    status: str
    commit: str | None = None
    files: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "branch": self.branch,
            "base": self.base,
            "status": self.status,
            "commit": self.commit,
            "files": self.files,
        }


@dataclass
class _MergePlan:
    target: RepoTarget
    repo: GitRepo
    base: str
    base_sha: str
    branch_sha: str
    tree: str
    checkout: Path | None
    files: int


def _select(owner: Workspaces, repo: str | None) -> list[RepoTarget]:
    targets = owner.targets()
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


@dataclass
class _DiffPlan:
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


def merge(owner: Workspaces) -> list[MergeResult]:
    """Merge each change branch into its base with a merge commit naming the change.

    Every repo is checked first (uncommitted work, a dirty base checkout, conflicts), so a
    refusal leaves nothing half-merged.  The caller holds the change's lock; the hub's write
    lock is held too, so another change's audit never sees a merge half done or unjournaled.
    """

    with hub_writes(owner.hub):
        return _merge(owner)


def _merge(owner: Workspaces) -> list[MergeResult]:
    results: list[MergeResult] = []
    plans: list[_MergePlan] = []
    for target in owner.targets():
        source = open_source(target)
        base = base_of(owner.layout, target, source)
        branch_sha = source.resolve(f"refs/heads/{target.branch}")
        base_sha = source.resolve(f"refs/heads/{base}")
        if branch_sha is None or base_sha is None:
            results.append(MergeResult(target.name, target.branch, base, "nothing to merge"))
            continue
        if target.exists:
            dirty = GitRepo.open(target.worktree).status()
            if dirty:
                raise WorkspaceError(
                    f"the worktree of '{target.name}' has {len(dirty)} uncommitted change(s): " + _shown(dirty),
                    fix=f"commit them on {target.branch}: git -C {target.worktree} add -A &&"
                    f" git -C {target.worktree} commit -m '...'; then merge again",
                )
        if source.is_ancestor(branch_sha, base_sha):
            results.append(MergeResult(target.name, target.branch, base, "already merged"))
            continue
        preview = source.merge_preview(base_sha, branch_sha)
        where = target.worktree if target.exists else source.root
        if not preview.clean:
            raise WorkspaceError(
                f"merging {target.branch} into {base} in '{target.name}' would conflict in: "
                + ", ".join(preview.conflicts[:10]),
                fix=f"merge {base} into the branch and resolve there (git -C {where} merge {base}),"
                f" commit, then run 'specflow merge {owner.change_id}' again",
            )
        changed = source.diff_trees(base_sha, preview.tree)
        checkout = next((w.path for w in source.worktrees() if w.branch == base), None)
        if checkout is not None:
            _check_base_checkout(owner, target, base, GitRepo.open(checkout), changed)
        plans.append(_MergePlan(target, source, base, base_sha, branch_sha, preview.tree, checkout, len(changed)))
    done: list[_MergePlan] = []
    message = MERGE_MESSAGE.format(id=owner.change_id)
    for plan in plans:
        try:
            if plan.checkout is not None:
                base_checkout = GitRepo.open(plan.checkout)
                if base_checkout.resolve("HEAD") != plan.base_sha:
                    raise WorkspaceError(
                        f"{plan.base} in {plan.checkout} moved while the merge was being planned",
                        fix="run the merge again",
                    )
                base_checkout.merge_no_ff(plan.target.branch, message)
            else:
                commit = plan.repo.commit_tree_as_user(plan.tree, [plan.base_sha, plan.branch_sha], message)
                plan.repo.update_refs([f"update refs/heads/{plan.base} {commit} {plan.base_sha}"], message=message)
        except Exception as exc:
            _undo_merges(done)
            detail = getattr(exc, "message", str(exc))
            raise WorkspaceError(
                f"merging {plan.target.branch} into {plan.base} in '{plan.target.name}' failed: {detail};"
                " every merge of this run was undone",
                fix="fix the cause git names above, then run the merge again",
            ) from None
        done.append(plan)
        commit_sha = plan.repo.resolve(f"refs/heads/{plan.base}")
        # another change's running audit must not take this merge for its agent's doing

        journal.record(owner.hub, owner.change_id, {journal.ref_key(plan.repo.common_dir, plan.base): commit_sha})
        results.append(MergeResult(plan.target.name, plan.target.branch, plan.base, "merged", commit_sha, plan.files))
    return results


def _check_base_checkout(
    owner: Workspaces, target: RepoTarget, base: str, checkout: GitRepo, changed: Sequence[Any]
) -> None:
    """Refuse a dirty base checkout (specflow's own change folders in the hub do not count)."""
    touched = {c.path for c in changed}
    dirty = []
    for line in checkout.status(untracked=False):
        path = line[3:]
        staged = line[0] not in (" ", "?")
        if not staged and path.startswith("openspec/") and path not in touched:
            continue
        dirty.append(line)
    if dirty:
        raise WorkspaceError(
            f"the checkout of {base} in '{target.name}' ({checkout.root}) has uncommitted changes: " + _shown(dirty),
            fix=f"commit or stash them (git -C {checkout.root} status), then merge again",
        )
    blocked = [c.path for c in changed if c.status == "A" and (checkout.root / c.path).exists()]
    if blocked:
        raise WorkspaceError(
            f"the merge would overwrite untracked files in {checkout.root}: " + ", ".join(blocked[:5]),
            fix="move them away (or commit them), then merge again",
        )


def _undo_merges(done: Sequence[_MergePlan]) -> None:
    for plan in reversed(done):
        if plan.checkout is not None:
            GitRepo.open(plan.checkout).reset_keep(plan.base_sha)
        else:
            plan.repo.update_refs([f"update refs/heads/{plan.base} {plan.base_sha}"])


def merged(owner: Workspaces) -> dict[str, str | None]:
    """For each affected repo: None when its branch is merged into its base, else why not."""
    out: dict[str, str | None] = {}
    for target in owner.targets():
        source = open_source(target)
        base = base_of(owner.layout, target, source)
        branch_sha = source.resolve(f"refs/heads/{target.branch}")
        if branch_sha is None:
            out[target.name] = None  # never worked on: nothing to merge
            continue
        if target.exists and GitRepo.open(target.worktree).status():
            out[target.name] = f"the worktree of {target.name} has uncommitted work"
            continue
        if source.is_ancestor(branch_sha, f"refs/heads/{base}"):
            out[target.name] = None
            continue
        ahead = len(source.rev_list(f"refs/heads/{base}..{branch_sha}"))
        out[target.name] = f"{target.branch} is not merged into {base} in {target.name} ({ahead} commit(s) ahead)"
    return out


def _shown(lines: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(line[3:] for line in lines[:n])
    return shown + (f" and {len(lines) - n} more" if len(lines) > n else "")
