"""A change's status for tables and ``--json``, with what to do next: light, so ``status`` starts fast.

The workflow is read as plain YAML here (states, and the ``given`` and ``actions`` the next step
depends on), not through the full loader, whose checks cost more than a whole ``status``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Literal, NotRequired, Protocol, TypedDict

from specflow.changestate.approvals import ApprovalView, approval_view
from specflow.changestate.history import history_totals
from specflow.changestate.lock import ChangeLock, pid_alive
from specflow.changestate.recordtypes import (
    HISTORY_FILE,
    STATE_DIR,
    STATE_FILE,
    Approval,
    Discarded,
    InFlight,
    LastFailure,
    StateRecord,
)
from specflow.changestate.totals import CostSummary, LastAttempt, summarize_costs
from specflow.definitions import cache as definition_cache
from specflow.definitions.config import CONFIG_FILE, HubConfig
from specflow.definitions.resources import search_path
from specflow.engine import statusindex
from specflow.errors import SpecflowError, StateError
from specflow.localdir import ensure
from specflow.openspec.tasks import parse_tasks
from specflow.structs import Struct
from specflow.workspace.layout import Layout, plan_targets
from specflow.workspace.worktrees import merge_state
from specflow.yamlio import parse_yaml

#: What a person does next with a change.
Action = Literal["approve", "fix and retry", "merge", "archive", "advance", "adopt", "restore", "repair", "nothing"]

APPROVED_STEP = "the proposal is approved"
MERGED_STEP = "the branches are merged"
ARCHIVE_ACTION = "openspec-archive"


class HubLike(Protocol):
    """What a status reads of a hub (``specflow.engine.view.BaseHub``): its folder and its config."""

    @property
    def root(self) -> Path: ...

    @property
    def config(self) -> HubConfig: ...


class ChangeLike(Protocol):
    """What a status reads of a change (``specflow.engine.view.ChangeView``)."""

    @property
    def id(self) -> str: ...

    @property
    def dir(self) -> Path: ...

    @property
    def hub(self) -> HubLike: ...

    @property
    def archived(self) -> bool: ...

    @property
    def repos(self) -> list[str]: ...

    @property
    def record(self) -> StateRecord | None: ...


class NextAction(TypedDict):
    """The next thing to do: the action, the command that does it (None: nothing to run), and why."""

    action: Action
    command: str | None
    why: str


class TaskCount(TypedDict):
    """Tasks in ``tasks.md``: how many, and how many are ticked."""

    total: int
    done: int


class ChangeStatus(TypedDict):
    """Where a change stands, for tables, ``--json`` and the API (``Change.status()``)."""

    id: str
    path: str
    archived: bool
    workflow: str | None
    state: str | None
    status: str
    """ok, running, interrupted, failed, discarded, unmanaged, or broken (its records unreadable)."""
    progress: str
    in_flight: InFlight | None
    last_failure: LastFailure | None
    discarded: Discarded | None
    repos: list[str]
    approvals: list[Approval]
    approval: ApprovalView | None
    tasks: TaskCount
    cost: CostSummary
    last_activity: str | None
    last_event: dict[str, Any] | None
    last_attempt: LastAttempt | None
    """Where the last phase attempt ran (its machine), when, and how it ended."""
    next: NextAction
    error: NotRequired[str]
    """Why a ``broken`` change's records cannot be read, with the file and line."""


class Outline(Struct, frozen=True):
    """What ``status`` needs of a workflow: its states in order, the final ones, the advance steps."""

    states: tuple[str, ...]
    final: frozenset[str]
    archiving: frozenset[str]
    # state -> [(to, given steps)] for the ``advance`` scenarios leaving it
    advances: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


@cache
def workflow_outline(name: str, hub_root: Path) -> Outline | None:
    """The outline of workflow ``name`` as the hub finds it, or None when it cannot be read."""
    for d in search_path("workflows", hub_root):
        for ext in (".yaml", ".yml"):
            p = d / f"{name}{ext}"
            if p.is_file():
                return _cached_outline(p, hub_root)
    return None


def _cached_outline(path: Path, hub_root: Path) -> Outline | None:
    """The outline of the workflow file, kept in the hub's cache: parsing YAML costs more than a status."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    key = definition_cache.make_key("outline", path, raw, [])
    kept = definition_cache.load(hub_root, "outline", path, key)
    if kept is not None:
        return Outline(
            tuple(kept["states"]),
            frozenset(kept["final"]),
            frozenset(kept["archiving"]),
            {src: tuple((to, tuple(given)) for to, given in ahead) for src, ahead in kept["advances"].items()},
        )
    outline = _outline(raw, path)
    if outline is not None:
        data = {
            "states": list(outline.states),
            "final": sorted(outline.final),
            "archiving": sorted(outline.archiving),
            "advances": {src: [[to, list(given)] for to, given in ahead] for src, ahead in outline.advances.items()},
        }
        definition_cache.store(hub_root, "outline", path, key, data)
    return outline


def _outline(raw: bytes, path: Path) -> Outline | None:
    try:
        data = parse_yaml(raw.decode("utf-8"), path).data
    except (UnicodeDecodeError, SpecflowError):
        return None
    states = data.get("states") if isinstance(data, dict) else None
    if not isinstance(states, dict):
        return None
    final = frozenset(s for s, d in states.items() if isinstance(d, dict) and d.get("final"))
    archiving = frozenset(
        s for s, d in states.items() if isinstance(d, dict) and ARCHIVE_ACTION in _strings(d.get("actions"))
    )
    advances: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for sc in data.get("scenarios") or []:
        if not isinstance(sc, dict) or sc.get("when", "advance") != "advance":
            continue
        sources = _strings(sc.get("from"))
        if "*" in sources:
            sources = tuple(s for s in states if s not in final)
        for src in sources:
            advances.setdefault(src, []).append((str(sc.get("to")), _strings(sc.get("given"))))
    return Outline(tuple(states), final, archiving, {k: tuple(v) for k, v in advances.items()})


def progress(outline: Outline | None, state: str | None) -> str:
    """``index/last`` of the state in its workflow: how far along the change is."""
    if outline is None or state is None:
        return "-"
    if state not in outline.states:
        return "?"
    return f"{outline.states.index(state)}/{len(outline.states) - 1}"


def change_status(change: ChangeLike) -> ChangeStatus:
    """Status of one change for tables and JSON, with ``next``: what to do, and the command.

    A change whose records cannot be read is shown as ``broken`` (with the file, line and fix),
    so one bad change never hides the others.
    """
    try:
        record = change.record
        totals = history_totals(change.dir)
    except StateError as exc:
        return _broken(change, exc)
    tasks = TaskCount(total=0, done=0)
    try:
        with open(os.path.join(change.dir, "tasks.md"), encoding="utf-8", errors="replace") as fh:
            tl = parse_tasks(fh.read())
        tasks = TaskCount(total=tl.total, done=tl.done)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        pass
    last = totals["last"]
    status = "unmanaged"
    outline: Outline | None = None
    if record is not None:
        status = "ok"
        if record.get("discarded"):
            status = "discarded"
        elif record.get("in_flight"):
            holder = ChangeLock(change.hub.root, change.id).holder()
            status = "running" if holder is not None and pid_alive(holder.pid) else "interrupted"
        elif record.get("last_failure"):
            status = "failed"
        outline = workflow_outline(str(record.get("workflow") or change.hub.config.default_workflow), change.hub.root)
    approval = approval_view(record, change.dir) if record is not None else None
    return {
        "id": change.id,
        "path": str(change.dir),
        "archived": change.archived,
        "workflow": record.get("workflow") if record else None,
        "state": record.get("state") if record else None,
        "status": status,
        "progress": progress(outline, record.get("state") if record else None),
        "in_flight": record.get("in_flight") if record else None,
        "last_failure": record.get("last_failure") if record else None,
        "discarded": record.get("discarded") if record else None,
        "repos": list((record or {}).get("repos") or []),
        "approvals": list((record or {}).get("approvals") or []),
        "approval": approval,
        "tasks": tasks,
        "cost": totals["cost"],
        "last_activity": last.get("time") if last else None,
        "last_event": {k: last.get(k) for k in ("trigger", "from", "to", "outcome")} if last else None,
        "last_attempt": totals["last_attempt"],
        "next": next_action(change, record, status, outline),
    }


#: The files a change's row is computed from (its folder's, as path parts), stamped in the status index.
_ROW_FILES = ((STATE_DIR, STATE_FILE), (STATE_DIR, HISTORY_FILE), ("tasks.md",))


def hub_statuses(
    hub: HubLike, changes: Sequence[ChangeLike], *, archived: bool, listing: Sequence[str]
) -> list[ChangeStatus]:
    """``change_status`` of each change, through the hub's status index (``statusindex``).

    A row kept for an unchanged change is reused; the others are computed, and the index is kept
    for the next ``status``.  ``listing``: the folders and files that decide which changes there
    are (stamped before they are read, so a change made meanwhile is seen next time).
    """
    inputs = [statusindex.stamp(p) for p in _hub_inputs(hub)]
    listed = [statusindex.stamp(p) for p in listing]
    kept = statusindex.reusable_rows(hub.root, archived, inputs)
    rows = []
    for change in changes:
        stamps = [statusindex.stamp(os.path.join(change.dir, *parts)) for parts in _ROW_FILES]
        row = kept.get(str(change.dir))
        if row is None or row["stamps"][:3] != stamps or not statusindex.current(row["stamps"][3:]):
            status = change_status(change)
            more = _lasting(change, status)
            row = {"stamps": None if more is None else stamps + more, "status": status}
        rows.append(row)
    with contextlib.suppress(OSError):  # a read-only hub: no index, the same rows
        ensure(hub.root)
        statusindex.store(hub.root, archived, inputs=inputs, listing=listed, rows=rows)
    return [row["status"] for row in rows]


def _hub_inputs(hub: HubLike) -> list[str]:
    """What every row depends on: the hub's configuration and every workflow file it could use."""
    paths = [str(hub.root / CONFIG_FILE)]
    for d in search_path("workflows", hub.root):
        paths.append(str(d))
        with contextlib.suppress(OSError), os.scandir(d) as entries:
            paths += sorted(e.path for e in entries if e.name.endswith((".yaml", ".yml")))
    return paths


def _lasting(change: ChangeLike, status: ChangeStatus) -> list[statusindex.Stamp] | None:
    """The stamps that keep the row true beyond its change's files ([] for none), or None when it
    must be computed every time: an attempt in flight (a lock and a process), an approval whose
    proof is the artifacts' digest, branches of other repos to ask git whether they are merged."""
    if status["in_flight"] is not None:
        return None
    approvals, state = status["approvals"], status["state"]
    if approvals and "voided" not in approvals[-1] and approvals[-1].get("state") == state:
        return None
    if status["status"] != "ok" or state is None:
        return []
    outline = workflow_outline(str(status["workflow"] or change.hub.config.default_workflow), change.hub.root)
    ahead = outline.advances.get(state, ()) if outline is not None else ()
    if not any(MERGED_STEP in given for _, given in ahead):
        return []
    try:
        targets = plan_targets(Path(os.path.realpath(change.hub.root)), change.hub.config, change.id, change.repos)
    except SpecflowError:
        return None
    if all(t.is_hub for t in targets):
        return []  # a single-repo change: the hub's own branch is not among those merged
    if any(t.exists for t in targets):
        return None
    return [statusindex.stamp(str(t.worktree)) for t in targets]  # until one is made, nothing to merge


def _broken(change: ChangeLike, exc: StateError) -> ChangeStatus:
    """The status of a change whose ``state.json`` or history is corrupted: what is wrong, and the fix."""
    why = exc.message + (f"; fix: {exc.fix}" if exc.fix else "")
    return {
        "id": change.id,
        "path": str(change.dir),
        "archived": change.archived,
        "workflow": None,
        "state": None,
        "status": "broken",
        "error": exc.message,
        "progress": "?",
        "in_flight": None,
        "last_failure": None,
        "discarded": None,
        "repos": [],
        "approvals": [],
        "approval": None,
        "tasks": {"total": 0, "done": 0},
        "cost": summarize_costs([]),
        "last_activity": None,
        "last_event": None,
        "last_attempt": None,
        "next": NextAction(action="repair", command=None, why=why),
    }


def next_action(change: ChangeLike, record: StateRecord | None, status: str, outline: Outline | None) -> NextAction:
    """What a person should do next with the change, and the command that does it."""
    cid = change.id
    advance = f"specflow advance {cid}"
    if record is None:
        return NextAction(action="adopt", command=f"specflow adopt {cid}", why="specflow does not manage it yet")
    if status == "discarded":
        return NextAction(
            action="restore", command=f"specflow discard --restore {cid}", why="discarded; restore it to go on"
        )
    if status == "running":
        return NextAction(action="nothing", command=None, why="an attempt is running; wait for it")
    if status == "interrupted":
        return NextAction(
            action="advance", command=advance, why="the last attempt was interrupted; advancing runs it again"
        )
    if status == "failed":
        failure = record.get("last_failure")
        reasons = (failure["reasons"] if failure else None) or ["see 'specflow history'"]
        why = f"{failure['phase'] if failure else 'the last attempt'} failed: {reasons[0]}"
        if change.archived:
            why = f"archived, but its checks failed: {reasons[0]}"
        return NextAction(action="fix and retry", command=advance, why=why)
    state = str(record.get("state"))
    if outline is None:
        return NextAction(action="advance", command=advance, why="its workflow could not be read here")
    if state in outline.final:
        return NextAction(action="nothing", command=None, why=f"done: {state!r} is the workflow's final state")
    ahead = outline.advances.get(state, ())
    if not ahead:
        return NextAction(action="nothing", command=None, why=f"the workflow has no advance from {state!r}")
    steps = {step for _, given in ahead for step in given}
    if APPROVED_STEP in steps:
        approval = approval_view(record, change.dir)
        if approval is None or not approval["holds"]:
            why = approval["text"] if approval and approval["voided"] else "the proposal waits for a person's review"
            return NextAction(action="approve", command=f"specflow approve {cid}", why=why)
    if MERGED_STEP in steps:
        pending = _unmerged(change)
        if pending:
            return NextAction(action="merge", command=f"specflow merge {cid}", why=pending[0])
    if any(to in outline.archiving for to, _ in ahead):
        return NextAction(action="archive", command=advance, why="ready to merge its deltas and file it away")
    return NextAction(action="advance", command=advance, why=f"next: {' or '.join(to for to, _ in ahead)}")


def _unmerged(change: ChangeLike) -> list[str]:
    """Why the change's branches are not merged yet (empty: they are, or there is nothing to merge).

    A change without a worktree has never been worked on in one: asking git (a process per repo)
    is skipped, which keeps ``status`` of hundreds of changes fast.
    """
    hub, config = Path(os.path.realpath(change.hub.root)), change.hub.config
    try:
        targets = plan_targets(hub, config, change.id, change.repos)
        if not any(target.exists for target in targets):
            return []
        layout = Layout(hub, change.id, config.worktrees_dir)
        return [why for why in merge_state(layout, targets).values() if why]
    except SpecflowError as exc:
        return [exc.message]
