"""What lives in a folder of /tmp of its own stays in sight where bubblewrap hides the host's /tmp.

A virtual environment made under /tmp (a CI job's, a throwaway one) holds ``bin/python`` as a link
to an interpreter elsewhere: the link itself, and the environment's packages, must be seen inside
the sandbox, or Claude Code's guard hook (``<specflow's interpreter> -m ...``) cannot start and
every write the agent asks for is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from specflow.sandbox.launch import spawn
from specflow.sandbox.settings import SandboxSettings
from tests.sandbox.sandbox_support import SandboxHub, require_layer


@pytest.fixture
def tmp_venv() -> Iterator[Path]:
    """A folder directly below /tmp, apart from the test's hub, holding ``bin/python`` as a link."""
    top = Path(tempfile.mkdtemp(prefix="specflow-venv-", dir="/tmp"))
    try:
        (top / "bin").mkdir()
        (top / "bin" / "python").symlink_to(os.path.realpath(sys.executable))
        yield top
    finally:
        shutil.rmtree(top, ignore_errors=True)


def run_sandboxed(sandbox_hub: SandboxHub, argv: list[str]) -> tuple[int, str]:
    launched = spawn(
        argv,
        cwd=sandbox_hub.root,
        env=dict(os.environ),
        gate=sandbox_hub.gate("openspec/changes/add-x/**"),
        settings=SandboxSettings(mode="bubblewrap"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        out, _ = launched.proc.communicate(timeout=60)
    finally:
        launched.close()
    return launched.proc.returncode, out.decode("utf-8", "replace")


def test_a_program_reached_through_a_link_under_tmp_runs_in_bubblewrap(sandbox_hub: SandboxHub, tmp_venv: Path) -> None:
    require_layer("bubblewrap")
    assert tmp_venv.parts[2] != sandbox_hub.root.parts[2]  # not seen through the hub's folder
    code, out = run_sandboxed(sandbox_hub, [str(tmp_venv / "bin" / "python"), "-c", "print('ran')"])
    assert (code, out.strip()) == (0, "ran")


def test_specflows_interpreter_in_a_venv_under_tmp_can_be_started_by_the_agent(
    sandbox_hub: SandboxHub, tmp_venv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Claude Code starts the guard hook: a program inside the sandbox runs specflow's interpreter."""
    require_layer("bubblewrap")
    python = tmp_venv / "bin" / "python"
    (tmp_venv / "lib").mkdir()
    (tmp_venv / "lib" / "marker.txt").write_text("packages", encoding="utf-8")
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setattr(sys, "prefix", str(tmp_venv))
    hook = f"{python} -c \"print(open('{tmp_venv / 'lib' / 'marker.txt'}').read())\""
    code, out = run_sandboxed(sandbox_hub, ["sh", "-c", hook])
    assert (code, out.strip()) == (0, "packages")
