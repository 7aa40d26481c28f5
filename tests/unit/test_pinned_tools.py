"""Under CI=true an absent pinned tool (or npm, for .ci/run) fails the run; locally tests skip, saying why.

Each case runs pytest for real, in a copy of the suite's root conftest laid out as a repository
without ``.tools/``, so the tools are truly absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

NEEDS_TOOLS = """\
import pytest

from tests.pinned_tools import CLAUDE, OPENSPEC


@pytest.fixture
def claude_binary():
    return CLAUDE.require()


@pytest.mark.openspec_cli
def test_needs_openspec():
    OPENSPEC.require()


def test_needs_claude(claude_binary):
    assert claude_binary.exists()


def test_needs_nothing():
    assert True
"""

INI = """\
[pytest]
addopts = -p no:cacheprovider --import-mode=importlib -rs
pythonpath = .
markers =
    openspec_cli: needs the real openspec CLI
    claude_cli: needs the real Claude Code binary
"""


def run_suite(tmp_path: Path, *, ci: str | None) -> subprocess.CompletedProcess[str]:
    """Run pytest in a repository holding the suite's root conftest, a test file and no ``.tools``."""
    root = tmp_path / "repo"
    (root / "tests").mkdir(parents=True)
    for name in ("conftest.py", "pinned_tools.py"):
        shutil.copy(REPO / "tests" / name, root / "tests" / name)
    (root / "tests" / "test_needs_tools.py").write_text(NEEDS_TOOLS)
    (root / "pytest.ini").write_text(INI)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "SPECFLOW_OPENSPEC", "SPECFLOW_CLAUDE")}
    if ci is not None:
        env["CI"] = ci
    # its own temporary root: in the shared one, a pytest starting clears all but the three latest
    # runs' folders, which took a minute when an earlier whole run of the suite was among them
    basetemp = tmp_path / "basetemp"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", f"--basetemp={basetemp}", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_in_ci_an_absent_tool_fails_the_run_naming_it_and_its_install(tmp_path: Path) -> None:
    proc = run_suite(tmp_path, ci="true")
    output = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "CI=true, and tests of this run need programs that are absent:" in output
    assert "\n  - the OpenSpec CLI is not installed" in output and "@fission-ai/openspec@1.13.2" in output
    assert "\n  - Claude Code is not installed" in output and "@anthropic-ai/claude-code@2.1.330" in output
    assert "run: bash .ci/run" in output
    assert "passed" not in output and "Traceback" not in output


def test_outside_ci_the_tests_that_need_an_absent_tool_skip_saying_why(tmp_path: Path) -> None:
    proc = run_suite(tmp_path, ci=None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 2 skipped" in proc.stdout
    skipped = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED [1] ")]
    assert len(skipped) == 2, proc.stdout
    assert any(": the OpenSpec CLI is not installed: neither $SPECFLOW_OPENSPEC nor " in line for line in skipped)
    assert any(": Claude Code is not installed: neither $SPECFLOW_CLAUDE nor " in line for line in skipped)
    assert all("(run: bash .ci/run, which installs " in line for line in skipped), skipped


def test_ci_run_refuses_to_start_without_npm_under_ci(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with what the script needs before its check, and no npm
    bin_dir.mkdir()
    dirname = shutil.which("dirname")
    assert dirname is not None
    (bin_dir / "dirname").symlink_to(dirname)
    bash = shutil.which("bash")
    assert bash is not None
    env = {"PATH": str(bin_dir), "CI": "true", "HOME": str(tmp_path)}
    proc = subprocess.run([bash, str(REPO / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: npm not found, and CI=true needs the pinned OpenSpec CLI and Claude Code")
    assert "fix: install Node 20+ with npm" in proc.stderr
    assert proc.stdout == ""
