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
from collections.abc import Callable
from pathlib import Path

from tests.conftest import HubFixture

# The agent reports progress, then holds its turn until the test has seen the live line on the
# terminal (the test writes the file named by $AGENT_GO): the line is shown while it works, surely.
SLOW_AGENT = """\
import os, pathlib, sys, time
sys.stdin.read()
print("Reading the specs", file=sys.stderr, flush=True)
go = pathlib.Path(os.environ["AGENT_GO"])
deadline = time.monotonic() + 30
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("the test never saw the live progress line within 30 s")
    time.sleep(0.02)
print("notes: nothing to add")
"""


def run_in_terminal(
    hub: Path,
    *args: str,
    no_color: bool = False,
    limit_s: float = 60,
    env_extra: dict[str, str] | None = None,
    on_output: Callable[[str], None] | None = None,
) -> tuple[int, str]:
    """Run ``specflow -C hub ARGS`` with a pseudo-terminal as stdin, stdout and stderr.

    ``on_output`` sees everything shown so far after each read, as it happens.
    """
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", **(env_extra or {})})
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
                if on_output is not None:
                    on_output(out.decode("utf-8", errors="replace"))
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


def test_advance_shows_live_progress_on_a_terminal(hub: HubFixture, tmp_path: Path) -> None:
    hub.agent("scripted", SLOW_AGENT)
    subprocess.run([sys.executable, "-m", "specflow", "-C", str(hub.root), "new", "add-login"], check=True)
    go = tmp_path / "go"

    def release_once_the_live_line_shows(shown: str) -> None:
        if "turn " in shown and "Reading the specs" in shown:
            go.touch()

    code, out = run_in_terminal(
        hub.root, "advance", "add-login", env_extra={"AGENT_GO": str(go)}, on_output=release_once_the_live_line_shows
    )
    assert code == 0, out
    assert go.exists(), "the agent finished before the live line showed"
    assert "\x1b[" in out  # coloured
    assert "▸ " in out  # phase lines, marked
    assert "turn " in out  # the live line: elapsed time, turns, current activity
    assert "Reading the specs" in out  # the agent's progress, as it happened
    assert "add-login is now in state think" in out
