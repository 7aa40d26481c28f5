"""Fixtures for driving the REAL Claude Code binary against a scripted Messages API on 127.0.0.1.

- ``claude_binary``: the pinned binary (``<repo>/.tools/node_modules/.bin/claude``, installed by
  ``.ci/run``, or ``$SPECFLOW_CLAUDE``); tests that need it skip, saying why, only when it is absent.
- ``api``: the scripted server (``scripted_api.py``), stopped at teardown; ``api.requests`` logs
  every request.
- ``trap``: a second server set as HTTP(S)_PROXY for the CLI, so any connection other than the one
  to the API would show up in ``trap.requests``.
- ``claude_env``: the quiet environment from ``shared/facts/claude-code.md`` with a private HOME,
  plus a marker variable that every process the run starts inherits (see ``processes_with``).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from scripted_api import ScriptedAPI, quiet_env, script  # noqa: E402

from specflow.agents.base import AgentEvent, AgentRequest, AgentResult  # noqa: E402
from specflow.gates import GatePolicy  # noqa: E402

# Read at import: the suite's autouse fixture clears SPECFLOW_CLAUDE for every test.
_CONFIGURED = os.environ.get("SPECFLOW_CLAUDE")
PINNED = REPO / ".tools" / "node_modules" / ".bin" / "claude"
MARKER_ENV = "SPECFLOW_TEST_RUN"

__all__ = ["ClaudeRun", "ScriptedAPI", "processes_with", "script"]


def find_test_binary() -> Path | None:
    """``$SPECFLOW_CLAUDE`` if set, else the copy ``.ci/run`` installs; None when absent."""
    for candidate in (_CONFIGURED, str(PINNED)):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def claude_binary() -> Path:
    found = find_test_binary()
    if found is None:
        pytest.skip(
            f"the Claude Code binary is absent: neither $SPECFLOW_CLAUDE nor {PINNED} exists"
            " (run .ci/run, which installs @anthropic-ai/claude-code@2.1.330 there)"
        )
    return found


@pytest.fixture
def api() -> Iterator[ScriptedAPI]:
    server = ScriptedAPI().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def trap() -> Iterator[ScriptedAPI]:
    server = ScriptedAPI().start()
    try:
        yield server
    finally:
        server.stop()


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


def processes_with(marker: str) -> list[int]:
    """Live processes (of this user) whose environment holds the run's marker."""
    needle = f"{MARKER_ENV}={marker}".encode()
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


@dataclass
class ClaudeRun:
    """Builds and runs adapter requests on one hub folder with the quiet environment."""

    hub: Path
    binary: Path
    env: dict[str, str]
    transcripts: Path
    events: list[AgentEvent] = field(default_factory=list)

    def gate(self, *write: str, read_only: bool = False, phase: str = "propose") -> GatePolicy:
        return GatePolicy(hub=self.hub, write_globs=tuple(write), read_only=read_only, phase=phase, change_id="add-x")

    def request(self, prompt: str, gate: GatePolicy, **kw: Any) -> AgentRequest:
        options = {"binary": str(self.binary), **kw.pop("options", {})}
        return AgentRequest(
            prompt=prompt,
            cwd=kw.pop("cwd", self.hub),
            gate=gate,
            hub=self.hub,
            change_id="add-x",
            phase=gate.phase,
            transcript_dir=self.transcripts,
            env=self.env,
            timeout=kw.pop("timeout", 60),
            options=options,
            **kw,
        )

    def run(self, prompt: str, gate: GatePolicy, **kw: Any) -> AgentResult:
        from specflow.agents.claude_code import ClaudeCodeAdapter

        self.events.clear()
        return ClaudeCodeAdapter().run(self.request(prompt, gate, **kw), self.events.append)


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
