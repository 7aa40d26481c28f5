"""The Python API: a ``Hub`` holds ``openspec/`` and ``specflow.yaml``; a ``Change`` runs through a workflow.

from specflow import Hub

hub = Hub.open(".")
change = hub.new_change("add-login", workflow="openspec")
change.advance(on_event=print)        # draft -> explore
change.approve(by="ana")
await change.advance_async()          # from an async host
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from specflow.definitions.config import CONFIG_FILE, load_config
from specflow.engine import records
from specflow.engine.change import ARCHIVE_DIR, DISCARDED_DIR, Change
from specflow.engine.lock import ChangeLock
from specflow.engine.status import ChangeStatus, hub_statuses
from specflow.errors import (
    ChangeExistsError,
    ChangeNotFoundError,
    ConfigError,
    HubNotFoundError,
    StateError,
)
from specflow.ids import check_change_id

if TYPE_CHECKING:
    from specflow.definitions.config import HubConfig
    from specflow.definitions.workflow import Workflow
    from specflow.engine.board import Board
    from specflow.openspec.adopt import Adopted
    from specflow.steps.registry import StepRegistry
    from specflow.workspace.workspaces import Workspaces

OPENSPEC_DIR = "openspec"


@dataclass(frozen=True)
class HubLocation:
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
    from specflow.workspace.git import GitRepo, find_git_dirs
    from specflow.workspace.worktrees import BRANCH_PREFIX, Layout

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
    from specflow.workspace.git import GitRepo, find_git_dirs
    from specflow.workspace.worktrees import BRANCH_PREFIX, Layout

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


def for_change_workspaces(hub: Hub, change_id: str, repos: Sequence[str] = ()) -> Workspaces:
    """The workspaces of change ``change_id`` before a ``Change`` of it exists."""
    from specflow.workspace.workspaces import Workspaces

    return Workspaces(hub.root, hub.config, change_id, list(repos))


def _common_dir(path: Path) -> Path | None:
    from specflow.workspace.git import find_git_dirs

    dirs = find_git_dirs(path)
    return dirs[1] if dirs is not None else None


class Hub:
    """A hub: the repo holding ``openspec/`` and ``specflow.yaml``."""

    def __init__(self, root: Path, *, here_change: str | None = None) -> None:
        self.root = Path(os.path.abspath(root))
        self.here_change = here_change
        """The change whose worktree the hub was found from, if it was."""

    def __repr__(self) -> str:
        here = f", here_change={self.here_change!r}" if self.here_change else ""
        return f"Hub({str(self.root)!r}{here})"

    @classmethod
    def open(cls, path: Path | str | None = None) -> Hub:
        """Open the hub at ``path``, or the one of the current directory (see ``locate_hub``)."""
        if path is not None:
            p = Path(path)
            if not p.exists():
                raise HubNotFoundError(f"{p} does not exist", fix="pass the hub's path with -C")
            if (p / OPENSPEC_DIR).is_dir() and not (p / OPENSPEC_DIR).is_symlink():
                return cls(p)
        found = locate_hub(Path(path) if path is not None else None)
        return cls(found.root, here_change=found.change_id)

    @classmethod
    def init(cls, path: Path | str = ".") -> tuple[Hub, list[Path]]:
        """Create ``openspec/`` (as ``openspec init --tools none`` does) and ``specflow.yaml``."""
        from specflow.definitions.scaffold import init_hub  # only when a hub is made

        root = Path(path)
        created = init_hub(root)
        return cls(root), created

    # -- configuration ---------------------------------------------------------------------

    @property
    def openspec_dir(self) -> Path:
        return self.root / OPENSPEC_DIR

    @property
    def changes_dir(self) -> Path:
        return self.openspec_dir / "changes"

    @cached_property
    def config(self) -> HubConfig:

        return load_config(self.root)

    @cached_property
    def steps(self) -> StepRegistry:
        # the definitions' machinery (steps, workflow checks, parse) loads for a command that runs
        # a workflow, not for one that only reads changes (status, list, show)
        from specflow.steps.registry import build_registry

        return build_registry(self.root, self.config.steps)

    def workflow(self, name: str | None = None) -> Workflow:
        """Load workflow ``name`` (default: the hub's default) with every check."""

        cache: dict[str, Workflow] = self.__dict__.setdefault("_workflows", {})
        key = name or self.config.default_workflow
        if key not in cache:
            from specflow.definitions.workflow import load_workflow_by_name

            cache[key] = load_workflow_by_name(key, self.root, registry=self.steps)
        return cache[key]

    # -- changes --------------------------------------------------------------------------

    @property
    def on_branches(self) -> bool:
        """True when changes live on branches: the hub is a git repository with a commit.

        In a hub with no commit yet a new change's folder is made in place; its first ``advance``
        moves it onto its branch.
        """
        from specflow.workspace.git import GitRepo, find_git_dirs

        dirs = find_git_dirs(self.root)
        return dirs is not None and GitRepo(self.root, *dirs).resolve("HEAD") is not None

    def change(self, change_id: str) -> Change:
        """The open or archived change ``change_id``."""
        check_change_id(change_id)
        own = self._own_dir(change_id)
        if own is not None:
            return Change(self, change_id, own)
        d = self.changes_dir / change_id
        if d.is_dir():
            return Change(self, change_id, d)
        archived = self.archived_dir(change_id)
        if archived is not None:
            return Change(self, change_id, archived)
        if self.discarded_dir(change_id).is_dir():
            raise ChangeNotFoundError(
                f"change '{change_id}' was discarded (its folder is {self.discarded_dir(change_id)})",
                fix=f"restore it with 'specflow discard --restore {change_id}'",
            )
        if self._open_on_branch(change_id):
            # its branch is here but its worktree is not (removed, or the branch was pulled): make it
            for_change_workspaces(self, change_id).ensure_hub()
            own = self._own_dir(change_id)
            if own is not None:
                return Change(self, change_id, own)
        raise ChangeNotFoundError(
            f"no change '{change_id}' in {self.changes_dir}{self._did_you_mean(change_id)}",
            fix=f"create it with 'specflow new {change_id}', or list changes with 'specflow status'",
        )

    def _did_you_mean(self, name: str) -> str:
        """`` (did you mean ...?)`` over open and archived changes and the specs, for a mistyped id."""

        from specflow.openspec.discovery import spec_ids  # only for a mistyped id

        archive = self.changes_dir / ARCHIVE_DIR
        known = {c.id: "" for c in self.changes()}
        if archive.is_dir():
            for p in sorted(archive.iterdir()):
                if p.is_dir() and p.name != DISCARDED_DIR:
                    known.setdefault(re.sub(r"^\d{4}-\d{2}-\d{2}-", "", p.name), "the archived change ")
        for spec in spec_ids(self.openspec_dir / "specs"):
            known.setdefault(spec, "the spec ")
        close = difflib.get_close_matches(name, list(known), n=1)
        return f" (did you mean {known[close[0]]}'{close[0]}'?)" if close else ""

    def worktree_of(self, change_id: str) -> Path:
        """Where change ``change_id``'s own worktree of the hub is (or would be)."""
        from specflow.workspace.worktrees import Layout

        return Layout(self.root, change_id, self.config.worktrees_dir).hub_worktree

    def _own_dir(self, change_id: str) -> Path | None:
        """The change's folder in its own hub worktree (open, or archived there), if it has one."""
        changes = self.worktree_of(change_id) / OPENSPEC_DIR / "changes"
        if (changes / change_id).is_dir():
            return changes / change_id
        archive = changes / ARCHIVE_DIR
        if archive.is_dir():
            hits = sorted(p for p in archive.glob(f"*-{change_id}") if re.match(r"^\d{4}-\d{2}-\d{2}-", p.name))
            if hits:
                return hits[-1]
        return None

    def changes_on_branches(self) -> dict[str, Path | None]:
        """Every change that has its own worktree of the hub, by id: its open folder there, or None
        when it is no longer open there (archived on its branch) — a copy the hub's checkout holds
        from publishing is then not an open change either."""
        from specflow.workspace.worktrees import Layout

        found: dict[str, Path | None] = {}
        worktrees = Layout(self.root, "-", self.config.worktrees_dir).worktrees_root.parent
        try:
            entries = sorted(worktrees.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return found
        for entry in entries:
            own = self.worktree_of(entry.name)
            if (own / OPENSPEC_DIR).is_dir():
                folder = own / OPENSPEC_DIR / "changes" / entry.name
                found[entry.name] = folder if folder.is_dir() else None
        return found

    def change_root(self, change_id: str) -> Path:
        """The hub as change ``change_id`` sees it: its own worktree when it has one, else the hub."""
        return self.worktree_of(change_id) if self._own_dir(change_id) is not None else self.root

    def _has_branch(self, change_id: str) -> bool:
        from specflow.workspace.git import GitRepo, find_git_dirs
        from specflow.workspace.worktrees import BRANCH_PREFIX

        dirs = find_git_dirs(self.root)
        return dirs is not None and GitRepo(self.root, *dirs).branch_exists(BRANCH_PREFIX + change_id)

    def _pushed_branch(self, change_id: str) -> str | None:
        """``<remote>/specflow/<id>`` when this clone has fetched the change's branch from a remote."""
        from specflow.workspace.git import GitRepo, find_git_dirs
        from specflow.workspace.worktrees import BRANCH_PREFIX, pushed_branch

        dirs = find_git_dirs(self.root)
        return None if dirs is None else pushed_branch(GitRepo(self.root, *dirs), BRANCH_PREFIX + change_id)

    def _open_on_branch(self, change_id: str) -> bool:
        """True when the hub's branch of the change holds it open (its folder, not yet archived)."""
        from specflow.workspace.git import GitRepo, find_git_dirs
        from specflow.workspace.worktrees import BRANCH_PREFIX

        dirs = find_git_dirs(self.root)
        ref = f"refs/heads/{BRANCH_PREFIX}{change_id}:{OPENSPEC_DIR}/changes/{change_id}"
        return dirs is not None and GitRepo(self.root, *dirs).ok("cat-file", "-e", ref)

    def archived_dir(self, change_id: str) -> Path | None:
        """The archive folder of ``change_id`` (``archive/YYYY-MM-DD-<id>``), if archived."""
        archive = self.changes_dir / ARCHIVE_DIR
        if not archive.is_dir():
            return None
        pattern = re.compile(r"^\d{4}-\d{2}-\d{2}-" + re.escape(change_id) + r"$")
        hits = sorted(
            p
            for p in archive.iterdir()
            if p.is_dir() and p.name != DISCARDED_DIR and (pattern.match(p.name) or p.name == change_id)
        )
        return hits[-1] if hits else None

    def discarded_dir(self, change_id: str) -> Path:
        """Where a discarded change's folder goes: ``archive/discarded/<id>``, which OpenSpec never lists."""
        check_change_id(change_id)
        return self.changes_dir / ARCHIVE_DIR / DISCARDED_DIR / change_id

    def discarded(self, change_id: str) -> Change:
        """The discarded change ``change_id`` (to restore it)."""
        d = self.discarded_dir(change_id)
        if not d.is_dir():
            raise ChangeNotFoundError(
                f"no discarded change '{change_id}' in {d.parent}",
                fix="'specflow status' lists the open changes; 'specflow discard ID' discards one",
            )
        return Change(self, change_id, d)

    def archived_changes(self) -> list[Change]:
        """Archived changes that specflow managed, oldest archive first."""
        from specflow.workspace.worktrees import Layout

        found: dict[str, Change] = {}
        archives = [self.changes_dir / ARCHIVE_DIR]
        worktrees = Layout(self.root, "-", self.config.worktrees_dir).worktrees_root.parent
        if worktrees.is_dir():  # archived on its branch, not landed yet (a check after the archive failed)
            archives += [self.worktree_of(e.name) / OPENSPEC_DIR / "changes" / ARCHIVE_DIR for e in worktrees.iterdir()]
        for archive in archives:
            if not archive.is_dir():
                continue
            for p in sorted(archive.iterdir()):
                if p.is_dir() and (p / records.STATE_DIR).is_dir():
                    cid = re.sub(r"^\d{4}-\d{2}-\d{2}-", "", p.name)
                    if archive.parent.parent.parent == self.root or self.worktree_of(cid) in p.parents:
                        found[cid] = Change(self, cid, p)
        return sorted(found.values(), key=lambda c: c.dir.name)

    def stranded_changes(self) -> list[Change]:
        """Archived changes whose workflow did not finish (a check after the archive failed).

        They are listed with the open changes, so a failure after the folder moved is never lost.
        """
        stranded = []
        for change in self.archived_changes():
            try:
                record = change.record or {}
            except StateError:
                stranded.append(change)  # shown as broken, with its file and line
                continue
            if record.get("last_failure") or record.get("in_flight"):
                stranded.append(change)
        return stranded

    def changes(self) -> list[Change]:
        """Open changes, sorted by id: those in their own worktrees, then those on the hub's checkout.

        A change published to the hub's base branch is also in the checkout; its own worktree,
        which is ahead, wins.
        """
        on_branches = self.changes_on_branches()
        found = {cid: Change(self, cid, d) for cid, d in on_branches.items() if d is not None}
        if self.changes_dir.is_dir():
            for p in self.changes_dir.iterdir():
                if p.is_dir() and p.name != ARCHIVE_DIR and not p.name.startswith(".") and p.name not in on_branches:
                    found[p.name] = Change(self, p.name, p)
        return [found[k] for k in sorted(found)]

    def statuses(self, *, archived: bool = False) -> list[ChangeStatus]:
        """``status()`` of every open change, then of the archived ones (``archived``) or only of
        those whose checks failed after archiving; read through the hub's status index."""
        changes = self.changes() + (self.archived_changes() if archived else self.stranded_changes())
        return hub_statuses(self, changes, archived=archived, listing=self._listing())

    def _listing(self) -> list[str]:
        """The folders whose entries decide which changes there are, and each archived change's
        records (a failed check after archiving brings it back among the open ones)."""
        worktrees = self.worktree_of("-").parent.parent
        changes = [self.changes_dir]
        with contextlib.suppress(OSError), os.scandir(worktrees) as entries:
            changes += [self.worktree_of(e.name) / OPENSPEC_DIR / "changes" for e in entries]
        paths = [str(worktrees), *(str(p.parent) for p in changes[1:])]
        for folder in changes:
            archive = folder / ARCHIVE_DIR
            paths += [str(folder), str(archive)]
            with contextlib.suppress(OSError), os.scandir(archive) as entries:
                for e in entries:
                    paths += [
                        os.path.join(e.path, records.STATE_DIR),
                        os.path.join(e.path, records.STATE_DIR, records.STATE_FILE),
                    ]
        return paths

    def new_change(
        self,
        change_id: str,
        *,
        workflow: str | None = None,
        goal: str | None = None,
        repos: Sequence[str] = (),
    ) -> Change:
        """Create the change folder with ``.openspec.yaml`` and specflow state ``draft``."""
        from specflow.workspace.worktrees import BRANCH_PREFIX

        check_change_id(change_id)
        d = self.changes_dir / change_id
        if d.exists() or self.archived_dir(change_id) is not None or self._own_dir(change_id) is not None:
            raise ChangeExistsError(
                f"change '{change_id}' already exists", fix="pick another id, or advance the existing change"
            )
        pushed = self._pushed_branch(change_id)
        if pushed is not None:  # its worktree would start from the pushed commits, holding the change
            raise ChangeExistsError(
                f"change '{change_id}' exists on a remote: this clone has fetched its branch {pushed}",
                fix=f"continue it here with 'specflow pull {change_id}', or pick another id",
            )
        if self._has_branch(change_id):
            raise ChangeExistsError(
                f"branch {BRANCH_PREFIX}{change_id} already exists in the hub, with no change of that id on it",
                fix=f"pick another id, or delete the branch: git -C {self.root} branch -D {BRANCH_PREFIX}{change_id}",
            )
        wf = self.workflow(workflow)
        unknown = [r for r in repos if r not in self.config.repos]
        if unknown:
            known = ", ".join(self.config.repos) or "none configured"
            raise ConfigError(
                f"unknown repo(s) {', '.join(unknown)} (known: {known})",
                fix="list component repos under 'repos:' in specflow.yaml",
            )
        workspaces = for_change_workspaces(self, change_id, repos)
        with ChangeLock(self.root, change_id, command="new"):
            # under its lock, so a running audit of another change takes its new branch for an engine's
            return self._create(change_id, d, wf, goal, repos, workspaces)

    def _create(
        self, change_id: str, d: Path, wf: Workflow, goal: str | None, repos: Sequence[str], workspaces: Workspaces
    ) -> Change:
        """Make the change's folder (on its branch when the hub has commits) with ``draft`` records."""
        if self.on_branches:
            workspaces.ensure_hub()
            d = workspaces.root / OPENSPEC_DIR / "changes" / change_id
        d.mkdir(parents=True)
        try:
            meta = ["schema: spec-driven", f"created: {date.today().isoformat()}"]
            if goal:
                meta.append(f"goal: {json.dumps(goal, ensure_ascii=False)}")
            (d / ".openspec.yaml").write_text("\n".join(meta) + "\n", encoding="utf-8")
            event = records.HistoryEvent(trigger="new", outcome="created", workflow=wf.name)
            event["from"], event["to"] = None, wf.initial
            records.create(d, workflow=wf.name, state=wf.initial, repos=list(repos), event=event)
        except BaseException:
            shutil.rmtree(d, ignore_errors=True)
            raise
        if self.on_branches:
            workspaces.commit(f"specflow: new change {change_id}\n\nSpecflow-Change: {change_id}\n")
        return Change(self, change_id, d)

    def adopt(self, change_id: str, *, workflow: str | None = None) -> Adopted:
        """Put an existing OpenSpec change under ``workflow``, in the state its files show."""
        from specflow.openspec.adopt import plan_adoption  # OpenSpec's rules load when adopting, not on every start

        wf = self.workflow(workflow)
        plan = plan_adoption(self.root, change_id, wf.name, states=list(wf.states), initial=wf.initial)
        event = records.HistoryEvent(trigger="adopt", outcome="adopted", reason=plan.reason, workflow=wf.name)
        event["from"], event["to"] = None, plan.state
        records.create(self.changes_dir / change_id, workflow=wf.name, state=plan.state, repos=[], event=event)
        return plan

    # -- what a dashboard shows ---------------------------------------------------------------

    def board(self) -> Board:
        """Every open and recently archived change as a card, with a "needs you" lane."""
        from specflow.engine.board import build_board  # only dashboards need it: status starts without

        return build_board(self)
