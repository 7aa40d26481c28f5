"""A merge of a change's branches, planned before anything is written: what to merge, and every problem.

Each repo's merge is previewed (``git merge-tree``) and every problem of every repo is collected —
uncommitted work in a worktree, a conflict, local changes in the checkout of the base in the files
the merge would change — each with its fix, so a refusal can list them all.  Carrying the plans
out (or refusing them) is ``branches.py``'s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.structs import Struct
from specflow.workspace import journal
from specflow.workspace.git import GitRepo, MergePreview, TreeChange
from specflow.workspace.layout import RepoTarget
from specflow.workspace.sidethread import Pending, SideThread
from specflow.workspace.worktrees import base_of, open_source

if TYPE_CHECKING:
    from specflow.workspace.workspaces import Workspaces


class MergeResult(Struct, frozen=True):
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


class MergePlan(Struct):
    """One repo's merge, planned: the tree ``git merge-tree`` wrote, the two tips it joins, the checkout of the base."""

    target: RepoTarget
    repo: GitRepo
    base: str
    base_sha: str
    branch_sha: str
    tree: str
    checkout: Path | None
    files: int
    commit: Pending[str] | None = None
    """The merge commit, made while the checkout of the base is looked at (unreferenced if refused)."""


class MergeProblem(Struct, frozen=True):
    """One reason a repo cannot be merged now, with its fix."""

    repo: str
    problem: str
    fix: str


def plan_merges(
    owner: Workspaces,
    targets: Sequence[RepoTarget],
    commit: str | None = None,
    *,
    scan: bool = True,
    message: str | None = None,
) -> tuple[list[MergeResult], list[MergePlan], list[MergeProblem]]:
    """Look at every repo before anything is written: what to merge, and every problem found.

    ``commit``: commit what each worktree holds first (see ``branches.merge``); ``scan`` False: the
    worktrees are known clean (see ``branches.land``), unless a merge or rebase is left half done there;
    ``message``: make each merge commit with it meanwhile (no branch points at it yet).
    """
    results: list[MergeResult] = []
    plans: list[MergePlan] = []
    problems: list[MergeProblem] = []
    with SideThread(width=2) as pool:
        for target in targets:
            # known clean (see ``branches.land``) unless a person left a merge or rebase half done there
            rescan = scan or (target.exists and GitRepo.open(target.worktree).operation_in_progress() is not None)
            result, plan, found = _plan_one(owner, target, pool, commit, scan=rescan, message=message)
            results += [result] if result is not None else []
            plans += [plan] if plan is not None else []
            problems += found
    return results, plans, problems


class _Left(Struct, frozen=True):
    """What a worktree holds beyond its branch: uncommitted lines, or the commit just made of them."""

    dirty: list[str]
    commit: str | None = None


def _commit_left(owner: Workspaces, target: RepoTarget, message: str) -> _Left:
    """Commit what ``target``'s worktree holds on its branch and journal the new tip.

    A merge or rebase a person started there is theirs to finish: it is scanned, not committed.
    """
    repo = GitRepo.open(target.worktree)
    if repo.operation_in_progress() is not None:
        return _Left(repo.status())
    sha = repo.commit_all(message)
    if sha is not None:
        # another change's running audit must not take this commit for its agent's doing
        key = journal.ref_key(repo.common_dir, f"refs/heads/{target.branch}")
        journal.record(owner.hub, owner.change_id, {key: sha})
    return _Left([], sha)


def _scan_left(target: RepoTarget) -> _Left:
    return _Left(GitRepo.open(target.worktree).status())


def _plan_one(
    owner: Workspaces,
    target: RepoTarget,
    pool: SideThread,
    commit: str | None = None,
    *,
    scan: bool = True,
    message: str | None = None,
) -> tuple[MergeResult | None, MergePlan | None, list[MergeProblem]]:
    """One repo's merge: its result when there is nothing to do, else its plan, and its problems.

    The worktree's scan for uncommitted work (with ``commit``: its commit) runs while the branch
    is looked at; when a commit was made, the branch is looked at again from its new tip, the
    worktree known clean (``scan`` False).  ``message``: see ``plan_merges``.
    """
    source = open_source(target)
    base = base_of(owner.layout, target, source)
    left = None
    if target.exists and scan:
        left = pool.submit(_commit_left, owner, target, commit) if commit else pool.submit(_scan_left, target)
    heads = source.read_refs("refs/heads/")
    branch_sha = heads.get(f"refs/heads/{target.branch}")
    base_sha = heads.get(f"refs/heads/{base}")
    # a tip about to move (work being committed) gets its merge commit once it has moved
    premade = None if left is not None and commit else message
    result, plan, problems = _look(target, source, base, branch_sha, base_sha, pool, premade)
    found = left.result() if left is not None else _Left([])
    if found.commit is not None:
        return _plan_one(owner, target, pool, scan=False, message=message)
    if found.dirty and not (result is not None and result.status == "nothing to merge"):
        # named first: the worktree is where the person looks
        problems.insert(
            0,
            MergeProblem(
                target.name,
                f"its worktree {target.worktree} has {len(found.dirty)} uncommitted change(s): {_shown(found.dirty)}",
                f"commit them on {target.branch}: git -C {target.worktree} add -A &&"
                f" git -C {target.worktree} commit -m '...'",
            ),
        )
    return result, plan, problems


def _look(
    target: RepoTarget,
    source: GitRepo,
    base: str,
    branch_sha: str | None,
    base_sha: str | None,
    pool: SideThread,
    message: str | None = None,
) -> tuple[MergeResult | None, MergePlan | None, list[MergeProblem]]:
    """The branch against its base: nothing to merge, already merged, a conflict, or a plan.

    The checkout of the base is asked for its staged changes while the merge is computed, and
    (with ``message``) the merge commit is made while the checkout is looked at.
    """
    if branch_sha is None or base_sha is None:
        return MergeResult(target.name, target.branch, base, "nothing to merge"), None, []
    checkout = _checkout_of(source, base)
    checkout_repo = GitRepo.open(checkout) if checkout else None
    staged = pool.submit(checkout_repo.staged_paths) if checkout_repo else None
    if source.surely_descends(branch_sha, base_sha):
        # the base has not moved since the branch left it: merging gives the branch's own tree
        preview = MergePreview(True, source.tree_of(branch_sha), ())
    else:
        preview = source.merge_preview(base_sha, branch_sha)
    # merging an ancestor of the base gives the base's own tree: only then can it be merged already
    if preview.clean and preview.tree == source.tree_of(base_sha) and source.is_ancestor(branch_sha, base_sha):
        return MergeResult(target.name, target.branch, base, "already merged"), None, []
    if not preview.clean:
        where = target.worktree if target.exists else source.root
        problem = MergeProblem(
            target.name,
            f"merging {target.branch} into {base} would conflict in: " + ", ".join(preview.conflicts[:10]),
            f"merge {base} into the branch and resolve there: git -C {where} merge {base}; then commit",
        )
        return None, None, [problem]
    parents = [base_sha, branch_sha]
    made = pool.submit(source.commit_tree_as_user, preview.tree, parents, message) if message is not None else None
    changed = source.diff_to_tree(base_sha, preview.tree)
    problems: list[MergeProblem] = []
    if checkout_repo is not None and staged is not None:
        problems = _base_checkout_problems(target, base, checkout_repo, changed, staged.result())
    plan = MergePlan(target, source, base, base_sha, branch_sha, preview.tree, checkout, len(changed), made)
    return None, plan, problems


def _checkout_of(source: GitRepo, base: str) -> Path | None:
    """The working tree that has ``base`` checked out, if any: the main one when its HEAD names
    ``base`` (read from the file, no process; git lists it first), else asked of git."""
    if source.common_dir == source.root / ".git" and source.current_branch() == base:
        return source.root
    return next((w.path for w in source.worktrees() if w.branch == base), None)


def _base_checkout_problems(
    target: RepoTarget, base: str, checkout: GitRepo, changed: Sequence[TreeChange], staged: list[str]
) -> list[MergeProblem]:
    """What in the checkout of ``base`` the merge would overwrite or take into its commit.

    Local edits to paths the merge leaves alone are the person's own business and stay; staged
    changes block any merge (git would record them in the merge commit).
    """
    touched = {c.path for c in changed}
    where = f"the checkout of {base} ({checkout.root})"
    problems: list[MergeProblem] = []
    # three narrow questions instead of a 'git status' (which scans every folder for untracked
    # files); ``staged`` (``checkout.staged_paths()``) was asked while the merge was computed
    unstaged = touched.difference(staged)
    edited = checkout.edited_paths(sorted(unstaged))
    added = [c.path for c in changed if not c.old_exists and c.path not in staged]
    untracked = checkout.untracked_among([p for p in added if os.path.lexists(checkout.root / p)])
    if edited:
        problems.append(
            MergeProblem(
                target.name,
                f"{where} has local changes in files the merge would change: {_listed(edited)}",
                f"commit or stash them: git -C {checkout.root} stash",
            )
        )
    if staged:
        problems.append(
            MergeProblem(
                target.name,
                f"{where} has staged changes, which the merge commit would take in: {_listed(staged)}",
                f"commit them, or unstage them: git -C {checkout.root} restore --staged {' '.join(staged[:5])}",
            )
        )
    if untracked:
        problems.append(
            MergeProblem(
                target.name,
                f"the merge would overwrite untracked files in {checkout.root}: {_listed(untracked)}",
                f"move them away or commit them (git -C {checkout.root} status)",
            )
        )
    return problems


def _listed(paths: Sequence[str], n: int = 5) -> str:
    return ", ".join(paths[:n]) + (f" and {len(paths) - n} more" if len(paths) > n else "")


def _shown(lines: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(line[3:] for line in lines[:n])
    return shown + (f" and {len(lines) - n} more" if len(lines) > n else "")
