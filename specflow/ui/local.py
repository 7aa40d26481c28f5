"""Where a running dashboard says it is, so ``advance --background`` can print its address.

The record holds the URL with its token: it is written readable by its owner only, under the
hub's local area beside the event logs.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from specflow.changestate.lock import pid_alive
from specflow.engine.events import events_dir


def _record(hub_root: Path) -> Path:
    return events_dir(hub_root) / "ui.json"


def announce(hub_root: Path, url: str) -> None:
    """Record that this process serves the dashboard at ``url``."""
    path = _record(hub_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"pid": os.getpid(), "url": url}, fh)


def withdraw(hub_root: Path) -> None:
    """Forget this process's record (the server stopped)."""
    path = _record(hub_root)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()


def running_url(hub_root: Path) -> str | None:
    """The URL of the hub's dashboard, if one is running on this machine."""
    try:
        data = json.loads(_record(hub_root).read_text(encoding="utf-8"))
        pid, url = int(data["pid"]), str(data["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if pid_alive(pid) else None
