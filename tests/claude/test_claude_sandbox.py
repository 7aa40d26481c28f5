"""The REAL Claude Code binary inside each sandbox layer: its Bash tool writing outside the gate is
refused at the system call (the guard hook is left out, so only the sandbox stands in the way),
while its in-gate work and its own session files are written."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from specflow.sandbox.layers import problem
from specflow.sandbox.settings import Layer, SandboxSettings
from tests.claude.claude_support import ClaudeRun
from tests.claude.scripted_api import script

pytestmark = pytest.mark.claude_cli

# lower-cased: bash says "Permission denied", zsh (Claude Code's shell when SHELL is unset and zsh is
# installed) says "permission denied"
REFUSAL = {"landlock": "permission denied", "bubblewrap": "read-only file system"}


@pytest.mark.parametrize("layer", ["bubblewrap", "landlock"])
def test_a_bash_write_outside_the_gate_is_refused_by_the_sandbox(
    claude_run: ClaudeRun, tmp_path: Path, layer: Layer
) -> None:
    why = problem(layer)
    if why is not None:
        if sys.platform.startswith("linux") and __import__("os").environ.get("CI") == "true":
            pytest.fail(f"the {layer} layer must run in CI but cannot: {why}")
        pytest.skip(f"the {layer} layer cannot run here: {why}")
    outside = tmp_path / "outside.txt"
    inside = claude_run.hub / "openspec" / "changes" / "add-x" / "in.txt"
    gate = claude_run.gate("openspec/changes/add-x/**")
    prompt = script(
        f"bash echo tampered > {shlex.quote(str(outside))}",
        "bash echo kept > openspec/changes/add-x/in.txt",
        "answer done",
    )
    request = claude_run.request(prompt, gate, options={"hook": False}, sandbox=SandboxSettings(mode=layer))
    from specflow.agents.claude.adapter import ClaudeCodeAdapter

    claude_run.events.clear()
    result = ClaudeCodeAdapter().run(request, claude_run.events.append)
    assert result.ok, result.error
    assert not outside.exists()
    assert inside.read_text(encoding="utf-8") == "kept\n"
    assert result.transcript_path is not None
    transcript = result.transcript_path.read_text(encoding="utf-8")
    assert REFUSAL[layer] in transcript.lower()
    (announced,) = [e for e in claude_run.events if e.kind == "sandbox"]
    assert announced.data["layer"] == layer
    # Claude Code kept its own session transcript in HOME/.claude (writable for it)
    home = Path(claude_run.env["HOME"])
    assert list((home / ".claude" / "projects").rglob("*.jsonl"))
