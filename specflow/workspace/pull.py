"""Pulling a change: its branches and checkpoint refs fetched from each repo's remote.

``pull`` fetches them, creates or fast-forwards the local branches and updates the change's
worktrees; it makes the change's worktree of the hub (where its folder and records live) when this
clone has none yet.  It checks every repo before changing anything, and refuses with every problem
listed.  The repos and their remotes are ``remote.py``'s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from specflow.changestate import records, recordtypes
from specflow.changestate.machine_id import machine_name
from specflow.definitions.config import HubConfig
from specflow.errors import GitError, RemoteError, WorkspaceError
from specflow.structs import Struct, field, replace
from specflow.workspace.checkpoints import REF_ROOT
from specflow.workspace.git import GitRepo
from specflow.workspace.layout import branch_name
from specflow.workspace.remote import (
    DEFAULT_REMOTE,
    HUB_NAME,
    ChangeRepo,
    checkpoint_pattern,
    git_reason,
    hub_and_repos,
    remotes,
    tracked_remote,
)
from specflow.workspace.workspaces import Workspaces

# Checkpoints are numbered by each clone.  Two clones that ran the change apart (before merging its
# branches) both have a checkpoint 1, 2, ... of other content: such a ref is never overwritten on
# either side (nothing is destroyed); each clone keeps its own, and push and pull count them "apart".
PullOutcome = Literal["created", "fast-forwarded", "up-to-date", "ahead", "absent", "no-remote"]


class RepoPull(Struct, frozen=True):
    """What ``pull`` did in one repo; ``worktree`` is the checkout it fast-forwarded or made, if any.

    ``worktree_made``: the hub's worktree of the change was made from the pulled branch (the change
    is open on this clone from now on).
    """

    repo: str
    remote: str | None
    branch: str
    outcome: PullOutcome
    commit: str | None = None
    checkpoints: int = 0
    worktree: Path | None = None
    worktree_made: bool = False
    apart: int = 0
    """Checkpoint refs this clone has with other content than the remote's: this clone's are kept."""

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["worktree"] = str(self.worktree) if self.worktree else None
        return data


class PullResult(Struct, frozen=True):
    change_id: str
    repos: list[RepoPull] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change_id, "repos": [r.to_dict() for r in self.repos]}


class _PullPlan(Struct):
    cr: ChangeRepo
    remote: str | None
    outcome: PullOutcome = "absent"
    tip: str | None = None
    local: str | None = None
    checkpoints: int = 0
    apart: int = 0
    worktree: GitRepo | None = None
    put_back: str | None = None
    """The change's state file, holding an attempt of this machine that the pulled history records
    as lost: put back to its last commit before the fast-forward (``_lost_attempt``)."""


def pull(hub_root: Path, config: HubConfig, change_id: str, remote: str | None = None) -> PullResult:
    """Fetch the change's branches and checkpoint refs; create or fast-forward the local branches.

    A worktree that has the branch checked out is fast-forwarded too.  Nothing is changed when a
    local branch has commits the remote lacks while the remote has new ones (diverged), or when a
    worktree to update has local changes: every such problem is listed, with its fix.
    """
    branch = branch_name(change_id)
    plans = [_fetch(cr, branch, change_id, remote) for cr in hub_and_repos(hub_root, config)]
    if not any(p.tip for p in plans):
        where = ", ".join(f"{p.cr.name} ({p.remote or 'no remote'})" for p in plans)
        raise RemoteError(
            f"no remote has branch {branch} of change '{change_id}' (looked in {where})",
            fix=f"push it from the clone where it was made ('specflow push {change_id}'), or name the remote"
            " with --remote",
        )
    problems = [problem for p in plans if (problem := _classify(p, branch)) is not None]
    if problems:
        raise RemoteError(
            f"cannot pull change '{change_id}'; nothing was changed:\n  - " + "\n  - ".join(problems), fix=None
        )
    results = [_apply(p, branch) for p in plans]
    made = _make_hub_worktree(hub_root, config, change_id, plans[0])
    if made is not None:
        results[0] = replace(results[0], worktree=made, worktree_made=True)
    return PullResult(change_id, results)


def _fetch(cr: ChangeRepo, branch: str, change_id: str, chosen: str | None) -> _PullPlan:
    repo = cr.repo
    name = chosen or tracked_remote(repo, branch) or DEFAULT_REMOTE
    if name not in remotes(repo):
        if chosen is not None and cr.name == HUB_NAME:
            raise RemoteError(
                f"the hub ({repo.root}) has no remote '{name}' (it has: {', '.join(remotes(repo)) or 'none'})",
                fix=f"git -C {repo.root} remote add {name} URL, or name another with --remote",
            )
        return _PullPlan(cr, None, "no-remote")
    try:
        found = repo.remote_refs(name, f"refs/heads/{branch}", checkpoint_pattern(change_id))
    except GitError as exc:
        raise RemoteError(
            f"cannot reach remote '{name}' of {cr.name} ({repo.root}): {git_reason(exc.message)}",
            fix="check the remote's URL (git remote -v) and your access to it, then run again",
        ) from None
    plan = _PullPlan(cr, name, local=repo.resolve(f"refs/heads/{branch}"))
    checkpoints = sorted(ref for ref in found if ref.startswith(f"{REF_ROOT}/"))
    ours = repo.read_refs(f"{REF_ROOT}/{change_id}/") if checkpoints else {}
    apart = [ref for ref in checkpoints if ours.get(ref, found[ref]) != found[ref]]
    specs = [f"{ref}:{ref}" for ref in checkpoints if ref not in ours]
    if f"refs/heads/{branch}" in found:
        specs.insert(0, f"+refs/heads/{branch}:refs/remotes/{name}/{branch}")
    if not specs:
        return plan
    try:
        repo.run("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", name, *specs)
    except GitError as exc:
        raise RemoteError(
            f"fetching change '{change_id}' from '{name}' into {cr.name} failed: {git_reason(exc.message)}",
            fix="check the remote's URL (git remote -v) and your access to it, then run again",
        ) from None
    plan.tip = repo.resolve(f"refs/remotes/{name}/{branch}") if f"refs/heads/{branch}" in found else None
    plan.checkpoints = len(checkpoints) - len(apart)
    plan.apart = len(apart)
    return plan


def _checked_out(repo: GitRepo, branch: str) -> GitRepo | None:
    """The working tree (main checkout or linked worktree) that has ``branch`` checked out."""
    for wt in repo.worktrees():
        if wt.branch == branch and not wt.prunable and wt.path.is_dir():
            return GitRepo.open(wt.path)
    return None


def _classify(plan: _PullPlan, branch: str) -> str | None:
    """Decide what pulling does in one repo; return the problem that forbids it, if any."""
    repo, tip, local = plan.cr.repo, plan.tip, plan.local
    if tip is None:
        return None
    if local is None:
        plan.outcome = "created"
        return None
    if local == tip:
        plan.outcome = "up-to-date"
        return None
    if repo.is_ancestor(tip, local):
        plan.outcome = "ahead"
        return None
    if not repo.is_ancestor(local, tip):
        where = _checked_out(repo, branch)
        merge = f"git -C {where.root}" if where else f"where {branch} is checked out, git"
        return (
            f"{plan.cr.name}: {branch} has diverged from {plan.remote}/{branch} (each has commits the other"
            f" lacks); fix: merge them ({merge} merge {plan.remote}/{branch}; the change's history merges"
            f" by itself), then 'specflow push'"
        )
    plan.outcome = "fast-forwarded"
    plan.worktree = _checked_out(repo, branch)
    if plan.worktree is None:
        return None
    dirty = plan.worktree.status()
    if plan.cr.name == HUB_NAME and len(dirty) == 1:
        plan.put_back = _lost_attempt(plan.worktree, tip, branch.removeprefix("specflow/"), dirty[0][3:])
        if plan.put_back is not None:
            return None
    if dirty:
        shown = ", ".join(line[3:] for line in dirty[:5]) + (" ..." if len(dirty) > 5 else "")
        return (
            f"{plan.cr.name}: the worktree {plan.worktree.root} has {len(dirty)} local change(s) ({shown});"
            f" fix: put them aside (git -C {plan.worktree.root} stash) and pull again, or commit them and merge"
            f" {plan.remote}/{branch} there"
        )
    return None


def _lost_attempt(worktree: GitRepo, tip: str, change_id: str, changed: str) -> str | None:
    """``changed`` when it is the change's state file holding an attempt in flight of this machine
    that the history at ``tip`` records as interrupted.

    A queue worker killed in the middle of a phase of a pushed change leaves that record here,
    never committed; the machine that took the lease over after it expired recorded the attempt
    as lost and ran the phase again.  Putting the file back to its commit drops nothing that is
    not already in the pulled history, and the attempt stays recorded once.
    """
    folder = f"openspec/changes/{change_id}/{recordtypes.STATE_DIR}"
    if changed != f"{folder}/{recordtypes.STATE_FILE}":
        return None
    state = records.read_state(worktree.root / "openspec" / "changes" / change_id)
    flight = (state or {}).get("in_flight")
    if not flight:
        return None
    try:
        lines = worktree.text("show", f"{tip}:{folder}/{recordtypes.HISTORY_FILE}").splitlines()
    except GitError:
        return None
    me = machine_name()
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if (
            isinstance(event, dict)
            and event.get("outcome") == "interrupted"
            and event.get("machine") == me
            and (event.get("from"), event.get("to"), event.get("attempt"))
            == (flight.get("from"), flight.get("to"), flight.get("attempt"))
        ):
            return changed
    return None


def _apply(plan: _PullPlan, branch: str) -> RepoPull:
    repo, name = plan.cr.repo, plan.cr.name
    ref = f"refs/heads/{branch}"
    if plan.outcome == "created" and plan.tip:
        repo.run("branch", "--quiet", "--track", branch, f"{plan.remote}/{branch}")
    elif plan.outcome == "fast-forwarded" and plan.tip and plan.local:
        if plan.worktree is not None:
            if plan.put_back is not None:
                plan.worktree.run("checkout", "--quiet", "--", plan.put_back)
            plan.worktree.run("merge", "--quiet", "--ff-only", plan.tip)
        else:
            repo.update_refs([f"update {ref} {plan.tip} {plan.local}"], message=f"specflow pull: {branch}")
    if plan.tip and plan.remote and tracked_remote(repo, branch) is None:
        repo.run("branch", "--quiet", f"--set-upstream-to={plan.remote}/{branch}", branch)
    worktree = plan.worktree.root if plan.worktree is not None else None
    commit = repo.resolve(ref)
    return RepoPull(name, plan.remote, branch, plan.outcome, commit, plan.checkpoints, worktree, apart=plan.apart)


def _make_hub_worktree(hub_root: Path, config: HubConfig, change_id: str, plan: _PullPlan) -> Path | None:
    """Make the change's worktree of the hub from its pulled branch, when it holds the change open
    and has none here yet: the change's folder and records live there.  Return its path if made."""
    if plan.cr.name != HUB_NAME or plan.tip is None:
        return None
    workspaces = Workspaces(hub_root, config, change_id, [])
    open_there = f"refs/heads/{branch_name(change_id)}:openspec/changes/{change_id}"
    if workspaces.hub_target().exists or not plan.cr.repo.ok("cat-file", "-e", open_there):
        return None  # already made (it was fast-forwarded), or archived on its branch: nothing to work in
    try:
        return workspaces.ensure_hub()
    except WorkspaceError:
        # another process opened the change meanwhile (reading a change whose branch is here makes
        # its worktree): the worktree is there, made from the branch just pulled
        if Workspaces(hub_root, config, change_id, []).hub_target().exists:
            return None
        raise
