"""The layout of a change: where its worktrees and specflow's local records live, and which worktrees it needs.

A change is its branches, ``specflow/<id>`` in the hub and in each affected repo.  This module
names the places (``Layout``) and the worktrees a change needs (``RepoTarget``, ``plan_targets``),
which checkpoints, status and the hub's view read without making anything; ``worktrees.py`` makes
and removes the worktrees.

Layout under the hub (``.specflow/`` is git-ignored through ``.git/info/exclude``, never through
the user's ``.gitignore``)::

    .specflow/worktrees/<id>/<hub>/    the change's worktree of the hub: its hub phases run here
    .specflow/worktrees/<id>/<repo>/   the change's worktree of each affected repo (apply)

and in the hub's records folder (``<git-common-dir>/specflow/``, out of every agent's reach)::

    workspaces/<id>/                   specflow's local records: snapshot indexes, audits, setup marks
    logs/<id>/                         setup and test logs
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from specflow.definitions.config import HubConfig, RepoConfig
from specflow.errors import WorkspaceError
from specflow.localdir import records_dir
from specflow.structs import Struct
from specflow.workspace.git import find_git_dirs

BRANCH_PREFIX = "specflow/"
STATE_ROOT = ".specflow"
DEFAULT_LINKS = ("openspec",)


def branch_name(change_id: str) -> str:
    """The branch a change's worktrees work on."""
    return BRANCH_PREFIX + change_id


class Layout(Struct, frozen=True):
    """Where a change's worktrees and specflow's local records live under the hub."""

    hub: Path
    change_id: str
    worktrees_dir: str = ".specflow/worktrees"

    @property
    def worktrees_root(self) -> Path:
        """The change's worktrees folder: ``<hub>/.specflow/worktrees/<id>``."""
        base = Path(self.worktrees_dir)
        return (base if base.is_absolute() else self.hub / base) / self.change_id

    @property
    def hub_worktree(self) -> Path:
        """The change's own worktree of the hub: ``<worktrees_root>/<hub folder name>``."""
        return self.worktrees_root / self_repo_name(self.hub)

    @property
    def state_dir(self) -> Path:
        """The change's checkpoint records, seed indexes, gate file and setup marks."""
        return records_dir(self.hub) / "workspaces" / self.change_id

    @property
    def logs_dir(self) -> Path:
        """The change's setup and test logs."""
        return records_dir(self.hub) / "logs" / self.change_id

    def hub_excludes(self) -> list[str]:
        """``info/exclude`` lines that keep specflow's folders out of the hub's git status."""
        # the running totals ``status`` keeps beside a change's history: a cache, never committed
        lines = [f"/{STATE_ROOT}/", "/openspec/changes/*/.specflow/summary.json"]
        lines.append("/openspec/changes/archive/*/.specflow/summary.json")
        base = Path(self.worktrees_dir)
        if not base.is_absolute() and base.parts and base.parts[0] != STATE_ROOT:
            lines.append("/" + base.as_posix().strip("/") + "/")
        return lines


class RepoTarget(Struct, frozen=True):
    """An affected repo as the change sees it: where it is, where its worktree goes."""

    name: str
    source: Path
    """The repo's own checkout (for the single-repo case: the hub)."""
    worktree: Path
    branch: str
    base: str | None
    setup: str | None
    test: str | None
    links: tuple[str, ...]
    is_hub: bool = False

    @property
    def exists(self) -> bool:
        """True if the worktree has been created (and not removed)."""
        return find_git_dirs(self.worktree) is not None


def self_repo_name(hub: Path) -> str:
    """The name of the hub's own worktree in a single-repo project: the hub folder's name."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", hub.name).strip(".-") or "repo"
    return "repo" if name == "hub" else name


def plan_targets(
    hub: Path, config: HubConfig, change_id: str, repos: Sequence[str], *, strict: bool = True
) -> list[RepoTarget]:
    """The worktrees the change needs: one per affected repo, or the hub's own when none is configured.

    ``strict``: a repo name missing from ``specflow.yaml`` is an error (else it is skipped).
    """
    layout = Layout(hub, change_id, config.worktrees_dir)
    branch = branch_name(change_id)
    if not repos and not config.repos:
        return [hub_target(hub, config, change_id)]
    unknown = [r for r in repos if r not in config.repos]
    if not strict:
        repos = [r for r in repos if r in config.repos]
    elif unknown:
        known = ", ".join(config.repos) or "none configured"
        raise WorkspaceError(
            f"change '{change_id}' names unknown repo(s) {', '.join(unknown)} (configured: {known})",
            fix=f"remove them with 'specflow repos {change_id} remove NAME', or add them under"
            " 'repos:' in specflow.yaml",
        )
    targets = []
    for name in dict.fromkeys(repos):
        rc: RepoConfig = config.repos[name]
        source = Path(os.path.realpath(hub / rc.path))
        links = tuple(rc.links) if rc.links is not None else (*DEFAULT_LINKS, *config.shared)
        targets.append(
            RepoTarget(
                name,
                source,
                layout.worktrees_root / name,
                branch,
                rc.base,
                rc.setup,
                rc.test,
                tuple(dict.fromkeys(links)),
            )
        )
    return targets


def hub_target(hub: Path, config: HubConfig, change_id: str) -> RepoTarget:
    """The change's worktree of the hub itself, on ``specflow/<id>``: where its hub phases run.

    It holds the change's own ``openspec/`` (its folder, records and the specs as the branch sees
    them), so it links nothing; the repo worktrees link their ``openspec/`` to it.
    """
    layout = Layout(hub, change_id, config.worktrees_dir)
    # among component repos it is "the hub"; alone, it is the project, named after its folder
    name = "hub" if config.repos else self_repo_name(hub)
    return RepoTarget(name, hub, layout.hub_worktree, branch_name(change_id), None, None, None, (), True)
