"""The Python API: a ``Hub`` holds ``openspec/`` and ``specflow.yaml``; a ``Change`` runs through a workflow.

from specflow import Hub

hub = Hub.open(".")
change = hub.new_change("add-login", workflow="openspec")
change.advance(on_event=print)        # draft -> explore
change.approve(by="ana")
await change.advance_async()          # from an async host
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.engine.records import append_event, now_iso, read_history, read_state, write_state
from specflow.errors import (
    ChangeExistsError,
    ChangeNotFoundError,
    HubNotFoundError,
    StateError,
)
from specflow.ids import check_change_id

if TYPE_CHECKING:
    from specflow.agents.base import EventCallback
    from specflow.definitions.config import HubConfig
    from specflow.definitions.workflow import Workflow
    from specflow.engine.background import BackgroundRun
    from specflow.engine.events import EventReader
    from specflow.engine.results import AdvanceResult
    from specflow.steps.registry import StepRegistry
    from specflow.ui.board import Board
    from specflow.ui.timeline import Timeline

OPENSPEC_DIR = "openspec"
ARCHIVE_DIR = "archive"


def find_hub(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` that holds ``openspec/``."""
    here = Path(os.path.abspath(start or Path.cwd()))
    for candidate in (here, *here.parents):
        if (candidate / OPENSPEC_DIR).is_dir():
            return candidate
        if (candidate / ".git").exists():
            break
    raise HubNotFoundError(
        f"no hub found at or above {here}: no folder there has openspec/",
        fix="run 'specflow init' in your hub repo, or pass -C PATH",
    )


class Hub:
    """A hub: the repo holding ``openspec/`` and ``specflow.yaml``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.abspath(root))

    @classmethod
    def open(cls, path: Path | str | None = None) -> Hub:
        """Open the hub at ``path``, or the one enclosing the current directory."""
        if path is not None:
            p = Path(path)
            if not p.exists():
                raise HubNotFoundError(f"{p} does not exist", fix="pass the hub's path with -C")
            if not (p / OPENSPEC_DIR).is_dir():
                return cls(find_hub(p))
            return cls(p)
        return cls(find_hub())

    @classmethod
    def init(cls, path: Path | str = ".") -> tuple[Hub, list[Path]]:
        """Create ``openspec/`` (as ``openspec init --tools none`` does) and ``specflow.yaml``."""
        from specflow.definitions.scaffold import init_hub

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
        from specflow.definitions.config import load_config

        return load_config(self.root)

    @cached_property
    def steps(self) -> StepRegistry:
        from specflow.steps.registry import build_registry

        return build_registry(self.root, self.config.steps)

    def workflow(self, name: str | None = None) -> Workflow:
        """Load workflow ``name`` (default: the hub's default) with every check."""
        from specflow.definitions.workflow import load_workflow_by_name

        cache: dict[str, Workflow] = self.__dict__.setdefault("_workflows", {})
        key = name or self.config.default_workflow
        if key not in cache:
            cache[key] = load_workflow_by_name(key, self.root, registry=self.steps)
        return cache[key]

    # -- changes --------------------------------------------------------------------------

    def change(self, change_id: str) -> Change:
        """The open or archived change ``change_id``."""
        check_change_id(change_id)
        d = self.changes_dir / change_id
        if d.is_dir():
            return Change(self, change_id, d)
        archived = self.archived_dir(change_id)
        if archived is not None:
            return Change(self, change_id, archived)
        known = [c.id for c in self.changes()]
        import difflib

        close = difflib.get_close_matches(change_id, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ChangeNotFoundError(
            f"no change '{change_id}' in {self.changes_dir}{hint}",
            fix=f"create it with 'specflow new {change_id}', or list changes with 'specflow status'",
        )

    def archived_dir(self, change_id: str) -> Path | None:
        """The archive folder of ``change_id`` (``archive/YYYY-MM-DD-<id>``), if archived."""
        archive = self.changes_dir / ARCHIVE_DIR
        if not archive.is_dir():
            return None
        pattern = re.compile(r"^\d{4}-\d{2}-\d{2}-" + re.escape(change_id) + r"$")
        hits = sorted(p for p in archive.iterdir() if p.is_dir() and (pattern.match(p.name) or p.name == change_id))
        return hits[-1] if hits else None

    def changes(self) -> list[Change]:
        """Open changes, sorted by id."""
        if not self.changes_dir.is_dir():
            return []
        return [
            Change(self, p.name, p)
            for p in sorted(self.changes_dir.iterdir())
            if p.is_dir() and p.name != ARCHIVE_DIR and not p.name.startswith(".")
        ]

    def new_change(
        self,
        change_id: str,
        *,
        workflow: str | None = None,
        goal: str | None = None,
        repos: Sequence[str] = (),
    ) -> Change:
        """Create the change folder with ``.openspec.yaml`` and specflow state ``draft``."""
        check_change_id(change_id)
        d = self.changes_dir / change_id
        if d.exists() or self.archived_dir(change_id) is not None:
            raise ChangeExistsError(
                f"change '{change_id}' already exists", fix="pick another id, or advance the existing change"
            )
        wf = self.workflow(workflow)
        unknown = [r for r in repos if r not in self.config.repos]
        if unknown:
            from specflow.errors import ConfigError

            known = ", ".join(self.config.repos) or "none configured"
            raise ConfigError(
                f"unknown repo(s) {', '.join(unknown)} (known: {known})",
                fix="list component repos under 'repos:' in specflow.yaml",
            )
        d.mkdir(parents=True)
        try:
            meta = ["schema: spec-driven", f"created: {date.today().isoformat()}"]
            if goal:
                meta.append(f"goal: {json.dumps(goal, ensure_ascii=False)}")
            (d / ".openspec.yaml").write_text("\n".join(meta) + "\n", encoding="utf-8")
            record: dict[str, Any] = {
                "workflow": wf.name,
                "state": wf.initial,
                "created": now_iso(),
                "repos": list(repos),
                "approvals": [],
                "in_flight": None,
                "last_failure": None,
            }
            write_state(d, record)
            append_event(
                d, {"trigger": "new", "from": None, "to": wf.initial, "outcome": "created", "workflow": wf.name}
            )
        except BaseException:
            import shutil

            shutil.rmtree(d, ignore_errors=True)
            raise
        return Change(self, change_id, d)

    # -- what a dashboard shows (specflow.ui) ----------------------------------------------

    def board(self) -> Board:
        """Every open and recently archived change as a card, with a "needs you" lane."""
        from specflow.ui.board import build_board

        return build_board(self)


class Change:
    """One change of a hub.  State and history live in its folder's ``.specflow/``."""

    def __init__(self, hub: Hub, change_id: str, directory: Path) -> None:
        self.hub = hub
        self.id = change_id
        self.dir = directory

    def __repr__(self) -> str:
        return f"Change({self.id!r}, state={self.state!r})"

    @property
    def archived(self) -> bool:
        return self.dir.parent.name == ARCHIVE_DIR

    @property
    def record(self) -> dict[str, Any] | None:
        """The raw state record, or None if specflow does not manage this change."""
        return read_state(self.dir)

    def require_record(self) -> dict[str, Any]:
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

    def history(self) -> list[dict[str, Any]]:
        return read_history(self.dir)

    def costs(self) -> dict[str, Any]:
        from specflow.engine.records import summarize_costs

        return summarize_costs(self.history())

    def advance(
        self,
        *,
        to: str | None = None,
        agent: str | None = None,
        on_event: EventCallback | None = None,
        dry_run: bool = False,
        fresh: bool = False,
    ) -> list[AdvanceResult]:
        """Run the ``advance`` transition (repeatedly up to state ``to``).

        Returns one result per transition taken.  Raises ``GuardFailed`` when a ``given`` step
        does not hold and ``PhaseFailed`` when the phase ran but failed; both carry ``results``.
        """
        return self.trigger("advance", to=to, agent=agent, on_event=on_event, dry_run=dry_run, fresh=fresh)

    def trigger(
        self,
        name: str,
        *,
        to: str | None = None,
        agent: str | None = None,
        on_event: EventCallback | None = None,
        dry_run: bool = False,
        fresh: bool = False,
    ) -> list[AdvanceResult]:
        """Fire the workflow trigger ``name`` (e.g. ``reject``)."""
        from specflow.engine.engine import Engine

        return Engine(self).run(name, to=to, agent=agent, on_event=on_event, dry_run=dry_run, fresh=fresh)

    async def advance_async(self, **kwargs: Any) -> list[AdvanceResult]:
        """``advance`` in a worker thread, for async hosts (bots, servers)."""
        import asyncio

        return await asyncio.to_thread(self.advance, **kwargs)

    async def trigger_async(self, name: str, **kwargs: Any) -> list[AdvanceResult]:
        """``trigger`` in a worker thread, for async hosts."""
        import asyncio

        return await asyncio.to_thread(self.trigger, name, **kwargs)

    def approve(self, *, by: str | None = None, note: str | None = None) -> dict[str, Any]:
        """Record a person's approval of the change as it is now."""
        from specflow.engine.approvals import make_approval, who_am_i
        from specflow.engine.lock import ChangeLock

        with ChangeLock(self.hub.root, self.id, command="approve"):
            record = self.require_record()
            approval = make_approval(self.dir, record["state"], by or who_am_i(self.hub.root), note)
            record.setdefault("approvals", []).append(approval)
            write_state(self.dir, record)
            append_event(
                self.dir,
                {
                    "trigger": "approve",
                    "from": record["state"],
                    "to": record["state"],
                    "outcome": "approved",
                    "approval": approval,
                },
            )
        return approval

    def prompt(self, state: str | None = None) -> str:
        """The prompt the next transition (or the phase ``state``) would send, rendered."""
        from specflow.engine.engine import Engine

        return Engine(self).render_prompt(state)

    def prompt_info(self, state: str | None = None) -> dict[str, Any]:
        """``prompt`` with the phase it renders, its template (name and file) and gate, for tools."""
        from specflow.engine.engine import Engine

        return Engine(self).prompt_info(state)

    def status(self) -> dict[str, Any]:
        """A summary for tables and ``--json``: state, phase progress, tasks, cost, last activity."""
        from specflow.engine.status import change_status

        return change_status(self)

    # -- what a dashboard shows, and runs that need no terminal ----------------------------

    def timeline(self) -> Timeline:
        """The history as typed entries: attempts with steps, reasons, refused writes, cost, session."""
        from specflow.ui.timeline import build_timeline

        return build_timeline(self)

    def events(self, *, from_start: bool = True) -> EventReader:
        """A reader of the change's event log (every phase's live progress), from its start or from now."""
        from specflow.engine.events import EventReader

        if from_start:
            return EventReader(self.hub.root, self.id)
        return EventReader.at_end(self.hub.root, self.id)

    def advance_in_background(
        self, *, to: str | None = None, agent: str | None = None, fresh: bool = False, trigger: str = "advance"
    ) -> BackgroundRun:
        """Start ``advance`` (or ``trigger``) in a detached process of its own and return at once."""
        from specflow.engine.background import start

        return start(self, trigger, to=to, agent=agent, fresh=fresh)

    def cancel(self) -> int:
        """Stop the change's running phase (SIGTERM: the agent is stopped, the attempt audited)."""
        from specflow.engine.background import cancel

        return cancel(self)
