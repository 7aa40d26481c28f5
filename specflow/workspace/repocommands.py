"""A repo's setup and test commands, run in its worktree: logged, streamed as events, killed on timeout.

The setup command (``repos.<name>.setup``) runs once in a new worktree, marked done in the change's
records so it runs again only after a failure; the test command runs through ``run_logged`` too,
from the workspace steps.  Each gets ``SPECFLOW_*`` variables naming the change and its worktree.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from specflow.agents.base import AgentEvent, EventCallback, ignore_event
from specflow.errors import WorkspaceError
from specflow.structs import Struct
from specflow.workspace.layout import Layout, RepoTarget


class CommandResult(Struct, frozen=True):
    """A finished shell command: exit code (None after a timeout), log file and output tail."""

    command: str
    exit_code: int | None
    log: Path
    duration_s: float
    tail: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def run_logged(
    command: str,
    cwd: Path,
    log: Path,
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    on_event: EventCallback = ignore_event,
    label: str = "",
    tail_lines: int = 20,
) -> CommandResult:
    """Run a shell command, its output going to ``log`` and streamed as ``output`` events.

    After ``timeout`` seconds its whole process group is killed.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
    with log.open("w", encoding="utf-8", errors="replace") as fh:
        fh.write(f"$ {command}\n# in {cwd}\n")
        fh.flush()
        proc = subprocess.Popen(
            command,
            shell=True,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = threading.Event()
        timer = threading.Timer(timeout, _kill_group, (proc, timed_out))
        timer.daemon = True
        timer.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                fh.write(line + "\n")
                fh.flush()
                tail.append(line)
                on_event(AgentEvent("output", line, {"label": label, "log": str(log)}))
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                _kill_group(proc, timed_out)
                proc.wait()
        if timed_out.is_set():
            fh.write(f"# killed after {timeout:g}s\n")
    killed = timed_out.is_set()
    return CommandResult(command, None if killed else code, log, time.monotonic() - start, "\n".join(tail), killed)


def _kill_group(proc: subprocess.Popen[bytes], timed_out: threading.Event) -> None:
    """Kill the command's whole process group (it runs in a session of its own)."""
    timed_out.set()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def setup_marker(layout: Layout, target: RepoTarget) -> Path:
    return layout.state_dir / f"setup-{target.name}.ok"


def run_setup(
    target: RepoTarget,
    layout: Layout,
    *,
    timeout: float,
    on_event: EventCallback = ignore_event,
) -> CommandResult | None:
    """Run the repo's setup command in its worktree once (again after a failure)."""
    if not target.setup:
        return None
    marker = setup_marker(layout, target)
    if marker.exists():
        return None
    log = layout.logs_dir / f"setup-{target.name}.log"
    on_event(AgentEvent("output", f"setting up {target.name}: {target.setup}", {"repo": target.name, "stage": "setup"}))
    result = run_logged(
        target.setup,
        target.worktree,
        log,
        timeout=timeout,
        env=command_env(layout, target),
        on_event=on_event,
        label=f"setup {target.name}",
    )
    if not result.ok:
        what = f"timed out after {timeout:g}s" if result.timed_out else f"failed with exit code {result.exit_code}"
        raise WorkspaceError(
            f"setup of repo '{target.name}' ({target.setup}) {what}; log: {result.log}"
            + (f"\n{_indent(result.tail)}" if result.tail else ""),
            fix=f"read the log, fix the setup command (repos.{target.name}.setup in specflow.yaml)"
            " or the worktree, then run again; setup runs again until it succeeds",
        )
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{target.setup}\n", encoding="utf-8")
    return result


def command_env(layout: Layout, target: RepoTarget) -> dict[str, str]:
    return {
        "SPECFLOW_CHANGE": layout.change_id,
        "SPECFLOW_HUB": str(layout.hub),
        "SPECFLOW_REPO": target.name,
        "SPECFLOW_WORKTREE": str(target.worktree),
    }


def _indent(text: str, prefix: str = "    ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())
