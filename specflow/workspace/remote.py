"""A change's repos and their remotes: which repos may hold its branches, which remote each uses, what the remotes have.

A change is its branches: ``specflow/<id>`` in the hub and in each repo that has it, plus its
checkpoints under ``refs/specflow/checkpoints/<id>/``.  ``push.py`` sends them to each repo's
remote and ``pull.py`` brings them back, both over the repos and remotes named here; here too are
the questions asked without moving anything: whether the change is pushed, whether only a remote
has it, where its lease lives.

The remote of a repo is ``--remote`` when given, else the remote the change's branch tracks, else
``origin``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from specflow.definitions.config import HubConfig
from specflow.errors import ChangeNotFoundError, GitError, RemoteError
from specflow.structs import Struct
from specflow.workspace.checkpoints import REF_ROOT
from specflow.workspace.git import GitRepo
from specflow.workspace.layout import branch_name

DEFAULT_REMOTE = "origin"
HUB_NAME = "hub"


class ChangeRepo(Struct, frozen=True):
    """A repository that may hold the change's branch: the hub, or a configured component repo."""

    name: str
    repo: GitRepo


# -- which repos, which remote --------------------------------------------------------------------


def change_repos(hub_root: Path, config: HubConfig) -> list[ChangeRepo]:
    """The hub, then every configured repo that exists (a change's branches can only be there).

    Empty when the hub is no git repository: then no change of it is on a remote.
    """
    try:
        found = [ChangeRepo(HUB_NAME, GitRepo.open(hub_root))]
    except GitError:
        return []
    seen = {found[0].repo.common_dir}
    for name, rc in config.repos.items():
        path = Path(os.path.realpath(hub_root / rc.path))
        if not path.is_dir():
            continue
        try:
            repo = GitRepo.open(path)
        except GitError:
            continue
        if repo.common_dir not in seen:
            seen.add(repo.common_dir)
            found.append(ChangeRepo(name, repo))
    return found


def hub_and_repos(hub_root: Path, config: HubConfig) -> list[ChangeRepo]:
    """``change_repos``, refusing a hub that is no git repository (push and pull move its branches)."""
    repos = change_repos(hub_root, config)
    if not repos:
        raise RemoteError(
            f"the hub {hub_root} is not a git repository, so its changes have no branches to move",
            fix=f"run 'git init' in {hub_root}, commit its files and add a remote (git remote add origin URL)",
        )
    return repos


def remotes(repo: GitRepo) -> list[str]:
    return repo.text("remote").split()


def remote_of(repo: GitRepo, branch: str, chosen: str | None) -> str:
    """``chosen``, else the remote ``branch`` tracks, else ``origin``."""
    return chosen or repo.config_get(f"branch.{branch}.remote") or DEFAULT_REMOTE


def tracked_remote(repo: GitRepo, branch: str) -> str | None:
    """The remote ``branch`` tracks, when it is one of the repo's remotes (``.`` is not)."""
    remote = repo.config_get(f"branch.{branch}.remote")
    return remote if remote and remote != "." else None


def remote_tracking(repo: GitRepo, branch: str) -> dict[str, str]:
    """``remote -> sha`` of the remote-tracking refs of ``branch`` (read without a process)."""
    found: dict[str, str] = {}
    for ref, sha in repo.read_refs("refs/remotes/").items():
        remote, _, rest = ref.removeprefix("refs/remotes/").partition("/")
        if rest == branch:
            found[remote] = sha
    return found


def checkpoint_pattern(change_id: str) -> str:
    """The refs of the change's checkpoints, as a pattern to ask a remote for."""
    return f"{REF_ROOT}/{change_id}/*"


def git_reason(message: str) -> str:
    """git's message without the command line specflow ran (the part after ``: ``, first lines)."""
    text = message.split("): ", 1)[-1]
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("To ")]
    return "; ".join(lines[:4])


# -- a change known only to a remote ------------------------------------------------------------------


def remote_only_error(hub_root: Path, config: HubConfig, change_id: str) -> ChangeNotFoundError | None:
    """When this clone lacks change ``change_id`` but a remote has its branch: the error saying to pull it.

    Remote-tracking branches are read first (no process); then each remote of each repo is asked.
    """
    branch = branch_name(change_id)
    found: list[str] = []
    repos = change_repos(hub_root, config)
    for cr in repos:
        found += [f"{cr.name}: {remote}/{branch}" for remote in sorted(remote_tracking(cr.repo, branch))]
    for cr in repos if not found else []:
        for remote in remotes(cr.repo):
            try:
                if cr.repo.remote_refs(remote, f"refs/heads/{branch}"):
                    found.append(f"{cr.name}: {remote} has {branch}")
            except GitError:
                continue  # an unreachable remote cannot tell; the plain "no change" error stands
    if not found:
        return None
    return ChangeNotFoundError(
        f"change '{change_id}' is not in this clone, but a remote has its branches ({'; '.join(found)})",
        fix=f"bring it here with 'specflow pull {change_id}', then run the command again",
    )


def is_pushed(hub_root: Path, config: HubConfig, change_id: str) -> bool:
    """Whether every branch of the change here tracks a remote that has it at the same commit.

    Then another clone can continue from exactly this state after a ``pull``.  False when no repo
    has the branch, when one has no upstream or another tip there, or when a remote is unreachable.
    """
    branch = branch_name(change_id)
    holding = [cr for cr in change_repos(hub_root, config) if cr.repo.branch_exists(branch)]
    for cr in holding:
        remote = tracked_remote(cr.repo, branch)
        if remote is None:
            return False
        try:
            theirs = cr.repo.remote_refs(remote, f"refs/heads/{branch}").get(f"refs/heads/{branch}")
        except GitError:
            return False
        if theirs is None or theirs != cr.repo.resolve(f"refs/heads/{branch}"):
            return False
    return bool(holding)


def lease_remote(repos: Sequence[ChangeRepo], change_id: str) -> tuple[GitRepo, str] | None:
    """Where the change's lease lives: the remote of the first repo (the hub first) whose branch tracks one."""
    branch = branch_name(change_id)
    for cr in repos:
        if not remote_tracking(cr.repo, branch):  # read without a process: most changes stay local
            continue
        remote = tracked_remote(cr.repo, branch)
        if remote is not None:
            return cr.repo, remote
    return None


def lease_remote_anywhere(repos: Sequence[ChangeRepo], change_id: str) -> tuple[GitRepo, str] | None:
    """Where the change's lease lives, also for a change this clone has not pulled yet: the remote
    its branch tracks here, else the hub's ``origin`` (where a pushed change's lease is)."""
    found = lease_remote(repos, change_id)
    if found is not None or not repos:
        return found
    hub = repos[0].repo
    return (hub, DEFAULT_REMOTE) if DEFAULT_REMOTE in remotes(hub) else None
