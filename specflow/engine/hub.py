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
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from specflow.changestate import records, recordtypes
from specflow.changestate.lock import ChangeLock
from specflow.definitions.scaffold import init_hub
from specflow.definitions.workflow import Workflow
from specflow.engine.board import Board, build_board
from specflow.engine.change import Change
from specflow.engine.hublocation import OPENSPEC_DIR
from specflow.engine.runnable import RunnerHub
from specflow.errors import ChangeExistsError, ConfigError
from specflow.ids import check_change_id
from specflow.openspec.adopt import Adopted, plan_adoption
from specflow.trees import remove_tree
from specflow.workspace.layout import BRANCH_PREFIX
from specflow.workspace.workspaces import Workspaces


def for_change_workspaces(hub: Hub, change_id: str, repos: Sequence[str] = ()) -> Workspaces:
    """The workspaces of change ``change_id`` before a ``Change`` of it exists."""
    return Workspaces(hub.root, hub.config, change_id, list(repos))


class Hub(RunnerHub[Change]):
    """A hub: the repo holding ``openspec/`` and ``specflow.yaml``; its changes are ``Change``s,
    with every operation (``HubView`` reads a hub without loading them)."""

    @classmethod
    def init(cls, path: Path | str = ".") -> tuple[Hub, list[Path]]:
        """Create ``openspec/`` (as ``openspec init --tools none`` does) and ``specflow.yaml``."""
        root = Path(path)
        created = init_hub(root)
        return cls(root), created

    # -- changes --------------------------------------------------------------------------

    def _change(self, change_id: str, folder: Path) -> Change:
        return Change(self, change_id, folder)

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
        on_branches = self.on_branches  # one git process: the answer cannot change in between
        if on_branches:
            workspaces.ensure_hub()
            d = workspaces.root / OPENSPEC_DIR / "changes" / change_id
        d.mkdir(parents=True)
        try:
            meta = ["schema: spec-driven", f"created: {date.today().isoformat()}"]
            if goal:
                meta.append(f"goal: {json.dumps(goal, ensure_ascii=False)}")
            (d / ".openspec.yaml").write_text("\n".join(meta) + "\n", encoding="utf-8")
            event = recordtypes.HistoryEvent(trigger="new", outcome="created", workflow=wf.name)
            event["from"], event["to"] = None, wf.initial
            records.create(d, workflow=wf.name, state=wf.initial, repos=list(repos), event=event)
        except BaseException:
            remove_tree(d, ignore_errors=True)
            raise
        if on_branches:
            workspaces.commit(f"specflow: new change {change_id}\n\nSpecflow-Change: {change_id}\n")
        return Change(self, change_id, d)

    def adopt(self, change_id: str, *, workflow: str | None = None) -> Adopted:
        """Put an existing OpenSpec change under ``workflow``, in the state its files show."""
        wf = self.workflow(workflow)
        plan = plan_adoption(self.root, change_id, wf.name, states=list(wf.states), initial=wf.initial)
        event = recordtypes.HistoryEvent(trigger="adopt", outcome="adopted", reason=plan.reason, workflow=wf.name)
        event["from"], event["to"] = None, plan.state
        records.create(self.changes_dir / change_id, workflow=wf.name, state=plan.state, repos=[], event=event)
        return plan

    # -- what a dashboard shows ---------------------------------------------------------------

    def board(self) -> Board:
        """Every open and recently archived change as a card, with a "needs you" lane."""
        return build_board(self)
