"""Pushing a change: its branches and checkpoint refs sent to each repo's remote.

Every repo is checked before anything is sent, and the push is refused with every problem listed;
then each repo is pushed atomically.  The repos and their remotes are ``remote.py``'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from specflow.definitions.config import HubConfig
from specflow.errors import GitError, RemoteError
from specflow.structs import Struct, field
from specflow.workspace.checkpoints import REF_ROOT
from specflow.workspace.layout import branch_name
from specflow.workspace.remote import ChangeRepo, checkpoint_pattern, git_reason, hub_and_repos, remote_of, remotes

PushOutcome = Literal["pushed", "up-to-date", "checkpoints", "no-branch"]
"""``checkpoints``: the repo has no branch of the change, only checkpoint refs (sent too)."""


class RepoPush(Struct, frozen=True):
    """What ``push`` did in one repo."""

    repo: str
    remote: str | None
    branch: str
    outcome: PushOutcome
    commit: str | None = None
    checkpoints: int = 0
    apart: int = 0
    """Checkpoint refs the remote has with other content (another clone's of the same number): kept there."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class PushResult(Struct, frozen=True):
    change_id: str
    repos: list[RepoPush] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change_id, "repos": [r.to_dict() for r in self.repos]}


def push(hub_root: Path, config: HubConfig, change_id: str, remote: str | None = None) -> PushResult:
    """Send the change's branches and checkpoint refs to each repo's remote.

    Every repo holding the branch is checked first (its remote must exist); then each is pushed
    atomically, so a repo gets all of its refs or none.  A branch the remote has moved ahead
    (another machine pushed) is refused with the fix.
    """
    branch = branch_name(change_id)
    plans: list[_PushPlan] = []
    problems: list[str] = []
    for cr in hub_and_repos(hub_root, config):
        plan = _PushPlan(cr, cr.repo.branch_exists(branch), cr.repo.refs(f"{REF_ROOT}/{change_id}/"))
        plans.append(plan)
        if not plan.branch and not plan.checkpoints:
            continue
        plan.remote = remote_of(cr.repo, branch, remote)
        if plan.remote not in remotes(cr.repo):
            problems.append(
                f"{cr.name} ({cr.repo.root}) has no remote '{plan.remote}'; fix: git -C {cr.repo.root} remote add"
                f" {plan.remote} URL" + (", or name another with --remote" if remote is None else "")
            )
    if not any(p.branch for p in plans):
        raise RemoteError(
            f"change '{change_id}' has no branch {branch} in the hub or any configured repo: nothing to push",
            fix=f"advance it first ('specflow advance {change_id}'), or pull it from where it was pushed",
        )
    if problems:
        raise RemoteError(f"cannot push change '{change_id}':\n  - " + "\n  - ".join(problems), fix=None)
    results: list[RepoPush] = []
    failures: list[str] = []
    for plan in plans:
        try:
            results.append(_push_repo(plan, branch, change_id))
        except GitError as exc:
            failures.append(f"{plan.cr.name}: {git_reason(exc.message)}")
    if failures:
        pushed = [f"{r.repo} ({r.outcome})" for r in results if r.remote]
        raise RemoteError(
            f"could not push change '{change_id}' everywhere:\n  - "
            + "\n  - ".join(failures)
            + (f"\n  done: {', '.join(pushed)}" if pushed else ""),
            fix=f"when the remote has commits this clone lacks, run 'specflow pull {change_id}' (merge a"
            f" diverged branch with git merge), then push again",
        )
    return PushResult(change_id, results)


class _PushPlan(Struct):
    cr: ChangeRepo
    branch: bool
    checkpoints: dict[str, str]
    """``ref -> sha`` of the change's checkpoint refs in this repo."""
    remote: str | None = None


def _push_repo(plan: _PushPlan, branch: str, change_id: str) -> RepoPush:
    repo, remote = plan.cr.repo, plan.remote
    if remote is None:
        return RepoPush(plan.cr.name, None, branch, "no-branch")
    theirs = repo.remote_refs(remote, checkpoint_pattern(change_id)) if plan.checkpoints else {}
    apart = {ref for ref, sha in plan.checkpoints.items() if theirs.get(ref, sha) != sha}
    sent = sorted(ref for ref in plan.checkpoints if ref not in apart)
    specs = [f"{ref}:{ref}" for ref in sent]
    if plan.branch:
        specs.insert(0, f"refs/heads/{branch}:refs/heads/{branch}")
    upstream = ["--set-upstream"] if plan.branch else []
    out = repo.text("push", "--porcelain", "--atomic", *upstream, remote, *specs) if specs else ""
    flags = [line.split("\t", 1)[0] for line in out.splitlines() if "\t" in line]
    outcome: PushOutcome = "up-to-date" if all(f == "=" for f in flags) else "pushed"
    if not plan.branch:
        outcome = "checkpoints"
    commit = repo.resolve(f"refs/heads/{branch}") if plan.branch else None
    return RepoPush(plan.cr.name, remote, branch, outcome, commit, len(sent), len(apart))
