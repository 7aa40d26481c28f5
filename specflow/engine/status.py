"""A change's status for tables and ``--json``: stdlib only, so ``status`` starts fast."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specflow.engine.lock import ChangeLock, pid_alive
from specflow.engine.records import summarize_costs
from specflow.openspec.tasks import parse_tasks

if TYPE_CHECKING:
    from specflow.engine.change import Change


def change_status(change: Change) -> dict[str, Any]:
    """Status of one change for tables and JSON (stdlib only: ``status`` must start fast)."""

    record = change.record
    history = change.history()

    costs = summarize_costs(history)
    tasks = {"total": 0, "done": 0}
    tasks_path = change.dir / "tasks.md"
    if tasks_path.is_file():
        tl = parse_tasks(tasks_path.read_text(encoding="utf-8", errors="replace"))
        tasks = {"total": tl.total, "done": tl.done}
    last = history[-1] if history else None
    status = "unmanaged"
    if record is not None:
        status = "ok"
        if record.get("in_flight"):
            holder = ChangeLock(change.hub.root, change.id).holder()
            status = "running" if holder is not None and pid_alive(holder.pid) else "interrupted"
        elif record.get("last_failure"):
            status = "failed"
    return {
        "id": change.id,
        "path": str(change.dir),
        "archived": change.archived,
        "workflow": record.get("workflow") if record else None,
        "state": record.get("state") if record else None,
        "status": status,
        "in_flight": record.get("in_flight") if record else None,
        "last_failure": record.get("last_failure") if record else None,
        "repos": list((record or {}).get("repos") or []),
        "approvals": list((record or {}).get("approvals") or []),
        "tasks": tasks,
        "cost": costs,
        "last_activity": last.get("time") if last else None,
        "last_event": {k: last.get(k) for k in ("trigger", "from", "to", "outcome")} if last else None,
    }
