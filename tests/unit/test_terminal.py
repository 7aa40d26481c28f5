"""Terminal output: coloured, with a live progress line, on a terminal; plain when NO_COLOR is set.

The CLI runs in a real pseudo-terminal (``pty``), as a user's shell runs it.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import HubFixture

SLOW_AGENT = """\
import sys, time
sys.stdin.read()
print("Reading the specs", file=sys.stderr, flush=True)
time.sleep(1.5)
print("notes: nothing to add")
"""


def run_in_terminal(hub: Path, *args: str, no_color: bool = False, limit_s: float = 60) -> tuple[int, str]:
    """Run ``specflow -C hub ARGS`` with a pseudo-terminal as stdin, stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"})
    if no_color:
        env["NO_COLOR"] = "1"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(hub), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # the terminal closed: the process is gone
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
        code = proc.wait(timeout=10)
    return code, out.decode("utf-8", errors="replace")


def test_status_is_a_coloured_table_on_a_terminal_and_plain_with_no_color(hub: HubFixture) -> None:
    hub.agent("scripted", SLOW_AGENT)
    subprocess.run([sys.executable, "-m", "specflow", "-C", str(hub.root), "new", "add-login"], check=True)
    code, out = run_in_terminal(hub.root, "status")
    assert code == 0, out
    assert "\x1b[1m" in out and "change" in out and "add-login" in out  # bold headers
    assert "┃" in out or "│" in out  # a drawn table
    code, out = run_in_terminal(hub.root, "status", no_color=True)
    assert code == 0, out
    assert "\x1b[" not in out
    assert "add-login" in out


def test_advance_shows_live_progress_on_a_terminal(hub: HubFixture) -> None:
    hub.agent("scripted", SLOW_AGENT)
    subprocess.run([sys.executable, "-m", "specflow", "-C", str(hub.root), "new", "add-login"], check=True)
    code, out = run_in_terminal(hub.root, "advance", "add-login")
    assert code == 0, out
    assert "\x1b[" in out  # coloured
    assert "▸ " in out  # phase lines, marked
    assert "turn " in out  # the live line: elapsed time, turns, current activity
    assert "Reading the specs" in out  # the agent's progress, as it happened
    assert "add-login is now in state think" in out
