"""Where a hub is, found from any folder: the nearest one holding ``openspec/``, or the hub an
``openspec`` link leads to, and the change whose own worktree that folder is.

Opening a hub (``BaseHub.open`` in ``specflow.engine.view``) and shell completion start here,
before any change is read; a link is followed only as far as the hub's ``specflow.yaml`` allows.
"""

from __future__ import annotations

import os
from pathlib import Path

from specflow.definitions.config import CONFIG_FILE, load_config
from specflow.errors import HubNotFoundError
from specflow.structs import Struct
from specflow.workspace.git import GitRepo, find_git_dirs
from specflow.workspace.layout import BRANCH_PREFIX, Layout

OPENSPEC_DIR = "openspec"


class HubLocation(Struct, frozen=True):
    """Where the hub is, as found from a folder; ``change_id`` when that folder is a change's worktree."""

    root: Path
    change_id: str | None = None


def find_hub(start: Path | None = None) -> Path:
    """The hub of ``start`` (default: the current directory); see ``locate_hub``."""
    return locate_hub(start).root


def locate_hub(start: Path | None = None) -> HubLocation:
    """The hub of ``start``: the nearest folder at or above it holding ``openspec/``.

    A repo whose ``openspec`` is a link — a component repo, or a change's worktree — leads to the
    hub the link points into; that hub must list the repo in ``specflow.yaml``, so a stray link
    never makes another folder a hub (and no ``.specflow/`` is ever made outside the hub).  In a
    change's worktree, its branch ``specflow/<id>`` names the change.
    """
    here = Path(os.path.abspath(start or Path.cwd()))
    for candidate in (here, *here.parents):
        link = candidate / OPENSPEC_DIR
        if link.is_symlink():
            return _through_link(candidate, link)
        if link.is_dir():
            return _own_worktree(candidate) or HubLocation(candidate)
        if (candidate / ".git").exists():
            break
    raise HubNotFoundError(
        f"no hub found at or above {here}: no folder there has openspec/, and no repo an openspec link",
        fix="run 'specflow init' in your hub repo, or pass -C PATH",
    )


def _through_link(repo: Path, link: Path) -> HubLocation:
    """The hub an ``openspec`` link of ``repo`` leads to, checked against the hub's own configuration."""

    target = Path(os.path.realpath(link))
    hub = target.parent
    if target.name != OPENSPEC_DIR or not target.is_dir() or (hub / OPENSPEC_DIR).is_symlink():
        raise HubNotFoundError(
            f"{link} is a link to {target}, which is no hub's openspec/ folder",
            fix="point the link at the hub's openspec/ folder, or pass the hub with -C PATH",
        )
    own = _own_worktree(hub)
    if own is not None:  # a change's repo worktree: its link leads to the change's worktree of the hub
        hub = own.root
    dirs = find_git_dirs(repo)
    config = load_config(hub)
    known = {_common_dir(hub)} | {_common_dir(Path(os.path.realpath(hub / rc.path))) for rc in config.repos.values()}
    common = dirs[1] if dirs is not None else None
    worktrees = Path(os.path.realpath(Layout(hub, "-", config.worktrees_dir).worktrees_root.parent))
    real = Path(os.path.realpath(repo))
    if common is None or common not in known:
        raise HubNotFoundError(
            f"{repo} has an openspec link to the hub {hub}, but {hub / CONFIG_FILE} does not list this repo",
            fix=f"add it under 'repos:' in {hub / CONFIG_FILE} (path: {os.path.relpath(real, hub)}),"
            f" or pass the hub with -C {hub}",
        )
    if worktrees not in real.parents or dirs is None:
        return HubLocation(hub)
    branch = GitRepo(real, *dirs).current_branch() or ""
    change = branch.removeprefix(BRANCH_PREFIX) if branch.startswith(BRANCH_PREFIX) else None
    return HubLocation(hub, change or None)


def _own_worktree(folder: Path) -> HubLocation | None:
    """When ``folder`` is a change's own worktree of a hub, that hub (and the change its branch names)."""

    dirs = find_git_dirs(folder)
    if dirs is None or dirs[0] == dirs[1] or dirs[1].name != ".git":
        return None  # a main checkout (or a bare layout): the folder is its own hub
    hub = dirs[1].parent
    if not (hub / OPENSPEC_DIR).is_dir() or not (hub / CONFIG_FILE).is_file():
        return None
    worktrees = Path(os.path.realpath(Layout(hub, "-", load_config(hub).worktrees_dir).worktrees_root.parent))
    real = Path(os.path.realpath(folder))
    if worktrees not in real.parents:
        return None  # a worktree the person made: it is a checkout of the hub like any other
    branch = GitRepo(real, *dirs).current_branch() or ""
    change = branch.removeprefix(BRANCH_PREFIX) if branch.startswith(BRANCH_PREFIX) else None
    return HubLocation(hub, change or None)


def _common_dir(path: Path) -> Path | None:

    dirs = find_git_dirs(path)
    return dirs[1] if dirs is not None else None


__all__ = ["OPENSPEC_DIR", "HubLocation", "find_hub", "locate_hub"]
