"""Phases that need no terminal: run a trigger in a detached process, and cancel a running phase.

``start(change, ...)`` launches ``specflow advance`` (or another trigger) in a process of its own
session (``start_new_session``), with its output going to a log file beside the change's event
log, and returns at once: closing the terminal, the page or the server does not stop it.  Its
progress reaches watchers through the event log, as every phase's does.  ``cancel(change)`` sends
SIGTERM to whichever process runs the change's phase (started here, in a terminal or anywhere on
this machine); the engine stops the agent and audits on SIGTERM as on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from specflow.changestate.lock import ChangeLock, Holder, pid_alive
from specflow.changestate.machine_id import host_name
from specflow.changestate.recordfiles import atomic_write
from specflow.changestate.records import now_iso
from specflow.engine.events import MAX_BYTES, events_dir
from specflow.engine.phasechange import PhaseChange
from specflow.errors import LockedError, StateError, TransitionError
from specflow.structs import Struct

#: Commands that hold a change's lock without running a phase: nothing to cancel there.
_QUICK_COMMANDS = ("approve", "revert", "merge")


class BackgroundRun(Struct, frozen=True):
    """A phase started in the background: which process, and where its output goes."""

    change_id: str
    trigger: str
    pid: int
    log: Path
    argv: list[str]
    started: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change_id,
            "trigger": self.trigger,
            "pid": self.pid,
            "log": str(self.log),
            "argv": list(self.argv),
            "started": self.started,
        }


def run_log_path(hub_root: Path, change_id: str) -> Path:
    """Where a background run's own output (what a terminal would have shown) is written."""
    return events_dir(hub_root) / f"{change_id}.run.log"


def _record_path(hub_root: Path, change_id: str) -> Path:
    return events_dir(hub_root) / f"{change_id}.run.json"


def _live_holder(change: PhaseChange) -> Holder | None:
    holder = ChangeLock(change.hub.root, change.id).holder()
    if holder is None or holder.host != host_name() or not pid_alive(holder.pid):
        return None
    return holder


def check_trigger(change: PhaseChange, trigger: str) -> None:
    """Refuse now, not in a detached process nobody watches, a trigger the change's state has no way out for."""
    record = change.require_record()
    state = str(record["state"])
    workflow = change.hub.workflow(record.get("workflow"))
    if state in workflow.states and not workflow.scenarios_from(state, trigger):
        ways = workflow.triggers_from(state)
        raise TransitionError(
            f"no {trigger!r} from state {state!r} of '{change.id}' in workflow {workflow.name!r}",
            fix=("triggers from here: " + ", ".join(ways)) if ways else "this state has no way out",
        )


def start(
    change: PhaseChange,
    trigger: str = "advance",
    *,
    to: str | None = None,
    agent: str | None = None,
    fresh: bool = False,
    take_over: bool = False,
) -> BackgroundRun:
    """Start ``specflow advance`` (or ``trigger``) for ``change`` in its own session; return at once."""
    check_trigger(change, trigger)
    holder = _live_holder(change)
    if holder is not None:
        raise LockedError(
            f"change '{change.id}' is locked by {holder.describe()}",
            fix="wait for it to finish, or cancel it first",
        )
    hub_root = change.hub.root
    argv = [sys.executable, "-m", "specflow", "-C", str(hub_root)]
    argv += ["advance", change.id] if trigger == "advance" else ["trigger", change.id, trigger]
    if to:
        argv += ["--to", to]
    if agent:
        argv += ["--agent", agent]
    if fresh:
        argv.append("--fresh")
    if take_over:
        argv.append("--take-over")
    log = run_log_path(hub_root, change.id)
    log.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if log.stat().st_size > MAX_BYTES:  # bounded like the event log: one older generation kept
            os.replace(log, log.with_name(log.name + ".1"))
    env = {**os.environ, "NO_COLOR": "1"}
    with log.open("ab") as out:
        out.write(f"--- {now_iso()} {' '.join(argv[3:])}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            argv,
            cwd=hub_root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    # reap it when it ends, so a long-lived host (the dashboard) never keeps a zombie that looks alive
    threading.Thread(target=proc.wait, name=f"specflow-bg-{proc.pid}", daemon=True).start()
    run = BackgroundRun(change.id, trigger, proc.pid, log, argv, now_iso())
    atomic_write(_record_path(hub_root, change.id), json.dumps(run.to_dict(), indent=2) + "\n")
    return run


def last_run(change: PhaseChange) -> BackgroundRun | None:
    """The change's last background run on this machine, if one was recorded."""
    try:
        data = json.loads(_record_path(change.hub.root, change.id).read_text(encoding="utf-8"))
        return BackgroundRun(
            str(data["change"]),
            str(data["trigger"]),
            int(data["pid"]),
            Path(str(data["log"])),
            [str(a) for a in data["argv"]],
            str(data["started"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cancel(change: PhaseChange) -> int:
    """Stop the change's running phase with SIGTERM; return the pid signalled."""
    holder = _live_holder(change)
    if holder is None or (holder.command in _QUICK_COMMANDS and not _in_flight(change)):
        raise StateError(
            f"no phase of '{change.id}' is running on this machine",
            fix=f"'specflow status {change.id}' shows where it stands",
        )
    try:
        os.kill(holder.pid, signal.SIGTERM)
    except ProcessLookupError:
        raise StateError(
            f"the phase of '{change.id}' ended before it could be cancelled",
            fix=f"'specflow status {change.id}' shows where it stands",
        ) from None
    return int(holder.pid)


def _in_flight(change: PhaseChange) -> bool:
    return bool((change.record or {}).get("in_flight"))


__all__ = ["BackgroundRun", "cancel", "check_trigger", "last_run", "run_log_path", "start"]
