"""The re-exec helper between specflow and the agent: exit codes, signals, and its refusals."""

from __future__ import annotations

import subprocess
import sys

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
