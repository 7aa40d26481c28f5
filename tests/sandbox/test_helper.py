"""The re-exec helper between specflow and the agent: exit codes, signals, and its refusals."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specflow.sandbox.launch import helper_argv

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the helper runs on Linux only")


def run(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, capture_output=True, timeout=30, check=False)


def test_the_agents_exit_code_and_killing_signal_come_through() -> None:
    assert run(helper_argv("off", [], ["sh", "-c", "exit 5"])).returncode == 5
    assert run(helper_argv("off", [], ["sh", "-c", "kill -9 $$"])).returncode == -9
    assert run(helper_argv("off", [], ["sh", "-c", "kill -TERM $$"])).returncode == -15


def test_stdin_and_stdout_are_the_agents() -> None:
    done = subprocess.run(helper_argv("off", [], ["cat"]), input=b"prompt\n", capture_output=True, timeout=30)
    assert done.stdout == b"prompt\n" and done.returncode == 0


def test_a_missing_program_is_exit_127_with_its_name() -> None:
    done = run(helper_argv("off", [], ["/nonexistent/agent"]))
    assert done.returncode == 127
    assert b"cannot start '/nonexistent/agent'" in done.stderr


def test_it_refuses_to_start_when_its_parent_is_already_gone() -> None:
    # the parent named on its command line is not the process that started it: as if specflow
    # had died before the helper could arm its death signal
    argv = helper_argv("off", [], ["true"])
    argv[5] = "1"
    assert run(argv).returncode == 126


def test_bad_arguments_are_a_usage_error() -> None:
    argv = helper_argv("off", [], ["true"])
    done = run([*argv[:5], "x"])
    assert done.returncode == 2 and b"usage" in done.stderr


def test_a_held_agent_starts_only_once_released(tmp_path: Path) -> None:
    # specflow starts the helper before it takes the checkpoint; the program must not run before
    marker = tmp_path / "ran"
    held, release = os.pipe()
    proc = subprocess.Popen(helper_argv("off", [], ["touch", str(marker)], hold=held), pass_fds=(held,))
    os.close(held)
    try:
        time.sleep(0.5)  # time enough for the helper's interpreter to start and the program to run
        assert proc.poll() is None and not marker.exists()
        os.write(release, b"g")
    finally:
        os.close(release)
    assert proc.wait(timeout=30) == 0 and marker.exists()


def test_a_held_agent_never_released_never_starts(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    held, release = os.pipe()
    proc = subprocess.Popen(helper_argv("off", [], ["touch", str(marker)], hold=held), pass_fds=(held,))
    os.close(held)
    os.close(release)  # specflow gave the run up (its checkpoint failed, or it died)
    assert proc.wait(timeout=30) == 125 and not marker.exists()
