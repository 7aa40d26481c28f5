"""Landing a change's branches: each merged into its base (``merge``, the hub's alone ``land``), merge state.

Every repo is planned first (``specflow.workspace.mergeplan``: the merge previewed, every problem of
every repo collected before anything is written), and a refusal lists them all, each with its fix.
Only when there is none is anything merged, with a merge commit naming the change; a failure
part-way undoes the merges already made.  The diffs of the branches are ``branchdiff.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from specflow.errors import WorkspaceError
from specflow.workspace import journal
from specflow.workspace.git import GitRepo
from specflow.workspace.journal import hub_writes
from specflow.workspace.layout import RepoTarget
from specflow.workspace.looserefs import RefMove
from specflow.workspace.mergeplan import MergePlan, MergeProblem, MergeResult, plan_merges
from specflow.workspace.worktrees import merge_state

if TYPE_CHECKING:
    from specflow.workspace.workspaces import Workspaces


MERGE_MESSAGE = "specflow: merge change {id}"
LAND_MESSAGE = "specflow: publish change {id}"
FINAL_MESSAGE = "specflow: land change {id}, which reached its final state"


def merge(owner: Workspaces, *, commit: str | None = None) -> list[MergeResult]:
    """Land every branch of the change — the hub's and each repo's — on its base with a merge
    commit naming the change.

    Every repo is checked first (uncommitted work, a dirty base checkout, conflicts), so a
    refusal leaves nothing half-merged.  ``commit``: a message to commit what each worktree
    holds with first (each branch tip journaled), instead of refusing it as uncommitted work.
    The caller holds the change's lock; the hub's write lock is held too, so another change's
    audit never sees a merge half done or unjournaled.
    """

    with hub_writes(owner.hub):
        return _merge(owner, owner.all_targets(), MERGE_MESSAGE, commit=commit)


def land(
    owner: Workspaces, *, message: str = LAND_MESSAGE, check_only: bool = False, committed: bool = False
) -> MergeResult:
    """Land the change's hub branch on the hub's base branch (publishing its folder and records).

    ``check_only``: look for every problem and raise as ``land`` would, writing nothing.
    ``committed``: the caller has just committed everything the change's worktree held, under
    the change's lock (an attempt's records), so it is not scanned for uncommitted work again.
    """
    target = owner.hub_target()
    with hub_writes(owner.hub):
        if check_only:
            results, _plans, problems = plan_merges(owner, [target])
            if problems:
                raise _refusal(owner.change_id, problems, verb="publishing")
            return results[0] if results else MergeResult(target.name, target.branch, "", "ready")
        return _merge(owner, [target], message, verb="publishing", scan=not committed)[0]


def _merge(
    owner: Workspaces,
    targets: Sequence[RepoTarget],
    template: str,
    verb: str = "merge",
    commit: str | None = None,
    *,
    scan: bool = True,
) -> list[MergeResult]:
    message = template.format(id=owner.change_id)
    results, plans, problems = plan_merges(owner, targets, commit, scan=scan, message=message)
    if problems:
        raise _refusal(owner.change_id, problems, verb=verb)
    done: list[MergePlan] = []
    for plan in plans:
        try:
            # the merge commit of the tree merge-tree wrote, made as the person (as 'git merge' would)
            commit_sha = (
                plan.commit.result()
                if plan.commit is not None
                else plan.repo.commit_tree_as_user(plan.tree, [plan.base_sha, plan.branch_sha], message)
            )
            reflog = f"merge {plan.target.branch}: {message}"
            if plan.checkout is not None:
                checkout = GitRepo.open(plan.checkout)
                if (checkout.head_sha_from_files() or checkout.resolve("HEAD")) != plan.base_sha:
                    raise WorkspaceError(
                        f"{plan.base} in {plan.checkout} moved while the merge was being planned",
                        fix="run the merge again",
                    )
                # the checkout's files follow: only the paths the merge changes are written
                checkout.move_checkout(plan.base, plan.base_sha, commit_sha, reflog)
            else:
                plan.repo.move_refs([RefMove(f"refs/heads/{plan.base}", commit_sha, plan.base_sha)], reflog)
        except Exception as exc:
            _undo_merges(done)
            detail = getattr(exc, "message", str(exc))
            raise WorkspaceError(
                f"merging {plan.target.branch} into {plan.base} in '{plan.target.name}' failed: {detail};"
                " every merge of this run was undone",
                fix="fix the cause git names above, then run the merge again",
            ) from None
        done.append(plan)
        # another change's running audit must not take this merge for its agent's doing
        journal.record(owner.hub, owner.change_id, {journal.ref_key(plan.repo.common_dir, plan.base): commit_sha})
        results.append(MergeResult(plan.target.name, plan.target.branch, plan.base, "merged", commit_sha, plan.files))
    return results


def _refusal(change_id: str, problems: Sequence[MergeProblem], verb: str = "merge") -> WorkspaceError:
    repos = list(dict.fromkeys(p.repo for p in problems))
    lines = [
        f"{verb} of '{change_id}' refused, nothing was merged:"
        f" {len(problems)} problem(s) in {len(repos)} repo(s) ({', '.join(repos)})"
    ]
    for p in problems:
        lines += [f"  - {p.repo}: {p.problem}", f"      fix: {p.fix}"]
    return WorkspaceError("\n".join(lines), fix=f"fix each problem above, then run 'specflow merge {change_id}' again")


def _undo_merges(done: Sequence[MergePlan]) -> None:
    for plan in reversed(done):
        if plan.checkout is not None:
            GitRepo.open(plan.checkout).reset_keep(plan.base_sha)
        else:
            plan.repo.update_refs([f"update refs/heads/{plan.base} {plan.base_sha}"])


def merged(owner: Workspaces) -> dict[str, str | None]:
    """For each affected repo: None when its branch is merged into its base, else why not (``merge_state``)."""
    return merge_state(owner.layout, owner.targets())
