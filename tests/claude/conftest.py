"""Fixtures for driving the REAL Claude Code binary against a scripted Messages API on 127.0.0.1.

- ``claude_binary``: the pinned binary (``<repo>/.tools/node_modules/.bin/claude``, installed by
  ``.ci/run``, or ``$SPECFLOW_CLAUDE``); when it is absent the tests that need it skip, saying
  why, or under ``CI=true`` fail the run (``tests/pinned_tools.py``).
- ``api``: the scripted server (``scripted_api.py``), stopped at teardown; ``api.requests`` logs
  every request.
- ``trap``: a second server set as HTTP(S)_PROXY for the CLI, so any connection other than the one
  to the API would show up in ``trap.requests``.
- ``claude_env``: the quiet environment from ``shared/facts/claude-code.md`` with a private HOME,
  plus a marker variable that every process the run starts inherits
  (``claude_support.processes_with`` finds them).
- ``claude_run``: builds and runs adapter requests on a fresh hub folder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.claude.claude_support import MARKER_ENV, ClaudeRun
from tests.claude.scripted_api import ScriptedAPI, quiet_env
from tests.pinned_tools import CLAUDE


@pytest.fixture(scope="session")
def claude_binary() -> Path:
    return CLAUDE.require()


@pytest.fixture
def api() -> Iterator[ScriptedAPI]:
    with ScriptedAPI() as server:
        yield server


@pytest.fixture
def trap() -> Iterator[ScriptedAPI]:
    with ScriptedAPI() as server:
        yield server


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    home = tmp_path / "claude-home"
    for sub in ("tmp", "run"):
        (home / sub).mkdir(parents=True)
    return home


@pytest.fixture
def run_marker() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def claude_env(api: ScriptedAPI, trap: ScriptedAPI, claude_home: Path, run_marker: str) -> dict[str, str]:
    env = quiet_env(api.url, str(claude_home), proxy=trap.url)
    env[MARKER_ENV] = run_marker
    return env


@pytest.fixture
def claude_run(tmp_path: Path, claude_binary: Path, claude_env: dict[str, str]) -> ClaudeRun:
    hub = tmp_path / "hub"
    (hub / "openspec" / "changes" / "add-x").mkdir(parents=True)
    (hub / "README.md").write_text("# Hub\n", encoding="utf-8")
    return ClaudeRun(hub=hub, binary=claude_binary, env=claude_env, transcripts=tmp_path / "transcripts")


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[Path], list[str]]:
    """Every file under a folder, relative, sorted (to assert nothing else was written)."""

    def files(root: Path) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    return files
