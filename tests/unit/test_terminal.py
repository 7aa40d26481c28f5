"""Terminal output: coloured, with a live progress line, on a terminal; plain when NO_COLOR is set.

The CLI runs in a real pseudo-terminal (``pty``), as a user's shell runs it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shlex
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from specflow.workspace import branches
from tests.conftest import HubFixture, commit_all
from tests.unit.test_workspaces import CHANGE, make_single_hub

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
    columns: int = 120,
    env_extra: dict[str, str] | None = None,
    on_output: Callable[[str], None] | None = None,
) -> tuple[int, str]:
    """Run ``specflow -C hub ARGS`` with a pseudo-terminal as stdin, stdout and stderr.

    ``on_output`` sees everything shown so far after each read, as it happens.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "GIT_PAGER", "PAGER", "LESS", "LV")}
    env.update({"TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": "40"})
    env.update(env_extra or {})
    if no_color:
        env["NO_COLOR"] = "1"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
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


# -- diff: coloured and paged as git does it ------------------------------------------------

MARKING_PAGER = """\
import os, sys
text = sys.stdin.read()
print(f"[pager {sys.argv[1]}: LESS={os.environ.get('LESS')} LV={os.environ.get('LV')}]")
sys.stdout.write(text)
"""


def diff_hub(tmp_path: Path) -> Path:
    """A one-repo project whose change 'add-login' edited src/app.py in its worktree."""
    root, ws = make_single_hub(tmp_path)
    wt = ws.ensure_worktrees()["proj"]
    branches.land(ws)  # the approved proposal is published, as at approval: the diff is the work since
    (wt / "src" / "app.py").write_text("print('login')\n")
    commit_all(wt, "login work")
    return root


def pager(tmp_path: Path, name: str) -> str:
    script = tmp_path / "pager.py"
    script.write_text(MARKING_PAGER)
    return shlex.join([sys.executable, str(script), name])  # git runs a pager through the shell


def test_diff_is_coloured_and_paged_on_a_terminal(tmp_path: Path) -> None:
    root = diff_hub(tmp_path)
    code, out = run_in_terminal(root, "diff", CHANGE, env_extra={"PAGER": pager(tmp_path, "PAGER")})
    assert code == 0, out
    assert "[pager PAGER: LESS=FRX LV=-c]" in out  # git's defaults for less, set for the pager
    assert "\x1b[32m+print('login')\x1b[m" in out and "\x1b[31m-print('app')\x1b[m" in out
    assert "\x1b[36m@@ -1 +1 @@\x1b[m" in out and "\x1b[1mdiff --git a/src/app.py b/src/app.py\x1b[m" in out


def test_diff_prefers_git_pager_and_keeps_the_users_less_options(tmp_path: Path) -> None:
    root = diff_hub(tmp_path)
    env = {"GIT_PAGER": pager(tmp_path, "GIT_PAGER"), "PAGER": pager(tmp_path, "PAGER"), "LESS": "R"}
    code, out = run_in_terminal(root, "diff", CHANGE, env_extra=env)
    assert code == 0, out
    assert "[pager GIT_PAGER: LESS=R LV=-c]" in out and "[pager PAGER" not in out


def test_diff_no_pager_and_a_cat_pager_write_straight_to_the_terminal(tmp_path: Path) -> None:
    root = diff_hub(tmp_path)
    code, out = run_in_terminal(root, "diff", CHANGE, "--no-pager", env_extra={"PAGER": pager(tmp_path, "PAGER")})
    assert code == 0, out
    assert "[pager" not in out and "\x1b[32m+print('login')\x1b[m" in out
    code, out = run_in_terminal(root, "diff", CHANGE, env_extra={"GIT_PAGER": "cat", "PAGER": pager(tmp_path, "P")})
    assert code == 0, out
    assert "[pager" not in out and "+print('login')" in out


@pytest.mark.skipif(shutil.which("less") is None, reason="less is not installed")
def test_diff_through_less_shows_a_short_patch_and_quits(tmp_path: Path) -> None:
    root = diff_hub(tmp_path)
    code, out = run_in_terminal(root, "diff", CHANGE, limit_s=30)
    assert code == 0, out  # LESS=FRX: one screen of patch, so less prints it and quits by itself
    assert "+print('login')" in out and "\x1b[32m" in out


def test_diff_is_plain_and_unpaged_when_piped(tmp_path: Path) -> None:
    root = diff_hub(tmp_path)
    env = {**os.environ, "PAGER": pager(tmp_path, "PAGER")}
    env.pop("NO_COLOR", None)
    out = subprocess.run(
        [sys.executable, "-m", "specflow", "-C", str(root), "diff", CHANGE],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "[pager" not in out.stdout and "\x1b[" not in out.stdout
    assert "+print('login')\n" in out.stdout


# -- status at 80 columns; the live clock -----------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LONG_IDS = ("api-email-verification-flow", "add-login-with-single-sign-on", "fix-typo")


def test_status_fits_80_columns_without_cutting_change_ids(hub: HubFixture) -> None:
    for cid in LONG_IDS:
        subprocess.run([sys.executable, "-m", "specflow", "-C", str(hub.root), "new", cid], check=True)
    code, out = run_in_terminal(hub.root, "status", columns=80)
    assert code == 0, out
    lines = [ANSI.sub("", line) for line in out.replace("\r", "").splitlines()]
    assert max(len(line) for line in lines) <= 80, "\n".join(lines)
    for cid in LONG_IDS:
        assert any(line.startswith(f" {cid} ") for line in lines), "\n".join(lines)
    assert "…" not in out
    # the next action stays: the time of the last activity gives way before it
    assert "(left out to fit the terminal: workflow, cost, tokens, last activity (UTC), ran on; " in "".join(lines)
    assert any(line.rstrip().endswith("│ advance") for line in lines), "\n".join(lines)
    # a wide terminal shows every column
    code, out = run_in_terminal(hub.root, "status", columns=160)
    assert code == 0 and "tokens" in out and "ran on" in out and "last activity (UTC)" in out and "left out" not in out
    assert "next" in ANSI.sub("", out)


SILENT_AGENT = """\
import sys, time
sys.stdin.read()
print("Thinking quietly", file=sys.stderr, flush=True)
time.sleep(2.5)
print("notes: done")
"""


def test_the_live_clock_runs_while_the_agent_is_silent(hub: HubFixture) -> None:
    hub.agent("scripted", SILENT_AGENT)
    subprocess.run([sys.executable, "-m", "specflow", "-C", str(hub.root), "new", "add-login"], check=True)
    code, out = run_in_terminal(hub.root, "advance", "add-login")
    assert code == 0, out
    silent = ANSI.sub("", out.split("Thinking quietly", 1)[1])
    clock = {float(s) for s in re.findall(r"(\d+\.\d)s turn \d+ ·", silent)}
    # 2.5 silent seconds on the live line: it was redrawn with a later time again and again
    assert len(clock) >= 10, sorted(clock)
    assert max(clock) - min(clock) >= 1.5, sorted(clock)
