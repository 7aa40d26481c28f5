"""Helpers shared by the sandbox tests: the layers that run here, a real hub, a hostile command agent.

A module of its own (not ``conftest``) so test modules can import it by a unique name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from specflow.agents import get_adapter
from specflow.agents.base import AgentEvent, AgentRequest, AgentResult
from specflow.localdir import records_dir
from specflow.sandbox.layers import problem
from specflow.sandbox.settings import Layer, Network, SandboxSettings
from specflow.workspace.gates import GatePolicy

LINUX_LAYERS: tuple[Layer, ...] = ("bubblewrap", "landlock")
MARK = "SANDBOX_TEST_MARK"

#: A hostile agent: tries to write every path named in $TARGETS (JSON) and prints, per path,
#: "written" or the errno name it got.  Anything after "spawn" in argv runs detached first.
HOSTILE = """\
import errno, json, os, sys
results = {}
for path in json.loads(os.environ["TARGETS"]):
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("hostile\\n")
        results[path] = "written"
    except OSError as exc:
        results[path] = errno.errorcode.get(exc.errno, str(exc.errno))
print(json.dumps(results))
"""


def require_layer(layer: Layer) -> None:
    """Skip (or fail under CI) when ``layer`` cannot run here."""
    why = problem(layer)
    if why is None:
        return
    if os.environ.get("CI") == "true" and layer in LINUX_LAYERS and sys.platform.startswith("linux"):
        pytest.fail(f"the {layer} layer must run in CI but cannot: {why}")
    pytest.skip(f"the {layer} layer cannot run here: {why}")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@dataclass
class SandboxHub:
    """A real git hub with one change folder, and a way to run command agents against it."""

    root: Path
    outside: Path
    mark: str = field(default_factory=lambda: uuid.uuid4().hex)
    events: list[AgentEvent] = field(default_factory=list)

    @property
    def change(self) -> Path:
        return self.root / "openspec" / "changes" / "add-x"

    def gate(self, *write: str, read_only: bool = False, worktrees: tuple[Path, ...] = ()) -> GatePolicy:
        return GatePolicy(
            hub=self.root, write_globs=write, read_only=read_only, worktrees=worktrees, phase="p", change_id="add-x"
        )

    def script(self, name: str, code: str) -> Path:
        path = self.root / "agents" / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code, encoding="utf-8")
        return path

    def run(
        self,
        code: str,
        gate: GatePolicy,
        layer: Layer,
        *,
        env: dict[str, str] | None = None,
        network: Network = "any",
        cwd: Path | None = None,
        timeout: float = 30,
    ) -> AgentResult:
        script = self.script("agent", code)
        request = AgentRequest(
            prompt="go",
            cwd=cwd or self.root,
            gate=gate,
            hub=self.root,
            change_id="add-x",
            phase="p",
            transcript_dir=records_dir(self.root) / "transcripts",
            timeout=timeout,
            env={MARK: self.mark, **(env or {})},
            options={"command": [sys.executable, str(script)]},
            sandbox=SandboxSettings(mode=layer, network=network),
        )
        self.events.clear()
        return get_adapter("command").run(request, self.events.append)

    def hostile(self, gate: GatePolicy, layer: Layer, targets: list[Path], **kw: Any) -> dict[str, str]:
        result = self.run(HOSTILE, gate, layer, env={"TARGETS": json.dumps([str(t) for t in targets])}, **kw)
        assert result.ok, result.error
        answer: dict[str, str] = json.loads(result.final_text)
        return answer
