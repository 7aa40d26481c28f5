"""A hub and its changes as read: which changes it has, their records and status.

``status`` and ``list`` read a hub through ``HubView`` and ``ChangeView`` and load none
of the machinery that runs a phase or works on worktrees (``Hub`` and ``Change``, which extend
them with every operation): they start in a fraction of the time (benchmarks/startup_bench.py,
status_cpu_bench.py).  Where the hub is comes first, from ``specflow.engine.hublocation``.
"""

from __future__ import annotations

import contextlib
import os
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from specflow.changestate import recordtypes, totals
from specflow.changestate.history import read_history
from specflow.changestate.records import read_state
from specflow.changestate.recordtypes import HistoryEvent, StateRecord
from specflow.definitions.config import HubConfig, load_config
from specflow.engine.hublocation import OPENSPEC_DIR, locate_hub
from specflow.errors import ChangeNotFoundError, HubNotFoundError, StateError
from specflow.ids import check_change_id
from specflow.openspec.discovery import spec_ids
from specflow.workspace.git import GitRepo, find_git_dirs
from specflow.workspace.layout import BRANCH_PREFIX, Layout
from specflow.workspace.worktrees import pushed_branch

if TYPE_CHECKING:
    from specflow.engine.status import ChangeLike, ChangeStatus

ARCHIVE_DIR = "archive"
#: Discarded changes go to ``archive/discarded/<id>``: out of ``openspec list`` and ``validate --all``.
DISCARDED_DIR = "discarded"


class ChangeView:
    """One change of a hub as read: its folder, records, state, history and status."""

    def __init__(self, hub: BaseHub[Any], change_id: str, directory: Path) -> None:
        self.hub = hub
        self.id = change_id
        self.dir = directory

    def __repr__(self) -> str:
        return f"Change({self.id!r}, state={self.state!r})"

    @property
    def archived(self) -> bool:
        return self.dir.parent.name == ARCHIVE_DIR

    @property
    def root(self) -> Path:
        """The hub as this change sees it: its own worktree of the hub, where its folder lives
        (for a change still on the hub's checkout, of the previous layout: the hub itself)."""
        own = self.hub.worktree_of(self.id)
        return own if self.dir.is_relative_to(own) else self.hub.root

    @property
    def on_branch(self) -> bool:
        """True when the change lives in its own worktree, on ``specflow/<id>``."""
        return self.root != self.hub.root

    def follow_archive(self) -> None:
        """After the archive action moved the change's folder, follow it."""
        if self.dir.is_dir():
            return
        archive = self.root / "openspec" / "changes" / ARCHIVE_DIR
        hits = sorted(archive.glob(f"*-{self.id}")) if archive.is_dir() else []
        archived = hits[-1] if hits else self.hub.archived_dir(self.id)
        if archived is not None:
            self.dir = archived

    @property
    def record(self) -> StateRecord | None:
        """The raw state record, or None if specflow does not manage this change."""
        return read_state(self.dir)

    def require_record(self) -> StateRecord:
        record = self.record
        if record is None:
            raise StateError(
                f"change '{self.id}' is not managed by specflow (no .specflow/state.json)",
                fix=f"put it under a workflow with 'specflow adopt {self.id}'",
            )
        return record

    @property
    def managed(self) -> bool:
        return self.record is not None

    @property
    def state(self) -> str | None:
        record = self.record
        return None if record is None else str(record["state"])

    @property
    def workflow_name(self) -> str | None:
        record = self.record
        return None if record is None else str(record.get("workflow") or self.hub.config.default_workflow)

    @property
    def repos(self) -> list[str]:
        record = self.record or {}
        return list(record.get("repos") or [])

    def history(self) -> list[HistoryEvent]:
        return read_history(self.dir)

    def costs(self) -> totals.CostSummary:
        """What the change's agents spent: per phase and in total (dollars, tokens, attempts)."""
        return totals.summarize_costs(self.history())

    def status(self) -> ChangeStatus:
        """A summary for tables and ``--json``: state, phase progress, tasks, cost, last activity."""
        from specflow.engine.status import change_status  # the status layer: a phase run shows none

        return change_status(self)


C = TypeVar("C", bound=ChangeView)


def stranded(change: ChangeLike) -> bool:
    """True for an archived change whose workflow did not finish (or whose records are broken)."""
    try:
        record = change.record or {}
    except StateError:
        return True  # shown as broken, with its file and line
    return bool(record.get("last_failure") or record.get("in_flight"))


class BaseHub(Generic[C]):
    """A hub: the repo holding ``openspec/`` and ``specflow.yaml``, and the changes it hands out (``C``)."""

    def __init__(self, root: Path, *, here_change: str | None = None) -> None:
        self.root = Path(os.path.abspath(root))
        self.here_change = here_change
        """The change whose worktree the hub was found from, if it was."""

    def __repr__(self) -> str:
        here = f", here_change={self.here_change!r}" if self.here_change else ""
        return f"Hub({str(self.root)!r}{here})"

    @classmethod
    def open(cls, path: Path | str | None = None) -> Self:
        """Open the hub at ``path``, or the one of the current directory (see ``locate_hub``)."""
        if path is not None:
            p = Path(path)
            if not p.exists():
                raise HubNotFoundError(f"{p} does not exist", fix="pass the hub's path with -C")
            if (p / OPENSPEC_DIR).is_dir() and not (p / OPENSPEC_DIR).is_symlink():
                return cls(p)
        found = locate_hub(Path(path) if path is not None else None)
        return cls(found.root, here_change=found.change_id)

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

    # -- changes --------------------------------------------------------------------------

    @property
    def on_branches(self) -> bool:
        """True when changes live on branches: the hub is a git repository with a commit.

        In a hub with no commit yet a new change's folder is made in place; its first ``advance``
        moves it onto its branch.
        """

        dirs = find_git_dirs(self.root)
        return dirs is not None and GitRepo(self.root, *dirs).resolve("HEAD") is not None

    def change(self, change_id: str) -> C:
        """The open or archived change ``change_id``."""
        check_change_id(change_id)
        own = self._own_dir(change_id)
        if own is not None:
            return self._change(change_id, own)
        d = self.changes_dir / change_id
        if d.is_dir():
            return self._change(change_id, d)
        archived = self.archived_dir(change_id)
        if archived is not None:
            return self._change(change_id, archived)
        if self.discarded_dir(change_id).is_dir():
            raise ChangeNotFoundError(
                f"change '{change_id}' was discarded (its folder is {self.discarded_dir(change_id)})",
                fix=f"restore it with 'specflow discard --restore {change_id}'",
            )
        if self._open_on_branch(change_id):
            # its branch is here but its worktree is not (removed, or the branch was pulled): make it
            own = self._own_dir(change_id) if self._reopen(change_id) else None
            if own is not None:
                return self._change(change_id, own)
        raise ChangeNotFoundError(
            f"no change '{change_id}' in {self.changes_dir}{self._did_you_mean(change_id)}",
            fix=f"create it with 'specflow new {change_id}', or list changes with 'specflow status'",
        )

    def _did_you_mean(self, name: str) -> str:
        """`` (did you mean ...?)`` over open and archived changes and the specs, for a mistyped id."""
        import difflib  # only for a name that is no change

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

        dirs = find_git_dirs(self.root)
        return dirs is not None and GitRepo(self.root, *dirs).branch_exists(BRANCH_PREFIX + change_id)

    def _pushed_branch(self, change_id: str) -> str | None:
        """``<remote>/specflow/<id>`` when this clone has fetched the change's branch from a remote."""

        dirs = find_git_dirs(self.root)
        return None if dirs is None else pushed_branch(GitRepo(self.root, *dirs), BRANCH_PREFIX + change_id)

    def _open_on_branch(self, change_id: str) -> bool:
        """True when the hub's branch of the change holds it open (its folder, not yet archived)."""

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

    def discarded(self, change_id: str) -> C:
        """The discarded change ``change_id`` (to restore it)."""
        d = self.discarded_dir(change_id)
        if not d.is_dir():
            raise ChangeNotFoundError(
                f"no discarded change '{change_id}' in {d.parent}",
                fix="'specflow status' lists the open changes; 'specflow discard ID' discards one",
            )
        return self._change(change_id, d)

    def archived_changes(self) -> list[C]:
        """Archived changes that specflow managed, oldest archive first."""

        found: dict[str, C] = {}
        archives = [self.changes_dir / ARCHIVE_DIR]
        worktrees = Layout(self.root, "-", self.config.worktrees_dir).worktrees_root.parent
        if worktrees.is_dir():  # archived on its branch, not landed yet (a check after the archive failed)
            archives += [self.worktree_of(e.name) / OPENSPEC_DIR / "changes" / ARCHIVE_DIR for e in worktrees.iterdir()]
        for archive in archives:
            if not archive.is_dir():
                continue
            for p in sorted(archive.iterdir()):
                if p.is_dir() and (p / recordtypes.STATE_DIR).is_dir():
                    cid = re.sub(r"^\d{4}-\d{2}-\d{2}-", "", p.name)
                    if archive.parent.parent.parent == self.root or self.worktree_of(cid) in p.parents:
                        found[cid] = self._change(cid, p)
        return sorted(found.values(), key=lambda c: c.dir.name)

    def stranded_changes(self) -> list[C]:
        """Archived changes whose workflow did not finish (a check after the archive failed).

        They are listed with the open changes, so a failure after the folder moved is never lost.
        """
        return [change for change in self.archived_changes() if stranded(change)]

    def changes(self) -> list[C]:
        """Open changes, sorted by id: those in their own worktrees, then those on the hub's checkout.

        A change published to the hub's base branch is also in the checkout; its own worktree,
        which is ahead, wins.
        """
        on_branches = self.changes_on_branches()
        found = {cid: self._change(cid, d) for cid, d in on_branches.items() if d is not None}
        if self.changes_dir.is_dir():
            for p in self.changes_dir.iterdir():
                if p.is_dir() and p.name != ARCHIVE_DIR and not p.name.startswith(".") and p.name not in on_branches:
                    found[p.name] = self._change(p.name, p)
        return [found[k] for k in sorted(found)]

    def statuses(self, *, archived: bool = False) -> list[ChangeStatus]:
        """``status()`` of every open change, then of the archived ones (``archived``) or only of
        those whose checks failed after archiving; read through the hub's status index."""
        from specflow.engine.status import hub_statuses  # the status layer, as in ``ChangeView.status``

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
                        os.path.join(e.path, recordtypes.STATE_DIR),
                        os.path.join(e.path, recordtypes.STATE_DIR, recordtypes.STATE_FILE),
                    ]
        return paths

    def _change(self, change_id: str, folder: Path) -> C:
        """The change object this hub hands out for ``change_id`` in ``folder``."""
        raise NotImplementedError

    def _reopen(self, change_id: str) -> bool:
        """Make the missing worktree of a change open on its branch; False when this hub only reads."""
        return False


class HubView(BaseHub[ChangeView]):
    """A hub read, never written: its changes are ``ChangeView``s."""

    def _change(self, change_id: str, folder: Path) -> ChangeView:
        return ChangeView(self, change_id, folder)
