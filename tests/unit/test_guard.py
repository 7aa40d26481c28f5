"""``specflow guard``: the PreToolUse hook that refuses writes outside the gate."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from specflow.agents.claude.hook import GATE_ENV, GUARD_PREFIX, decide, run_hook
from specflow.bootstrap import boot_code
from specflow.workspace.gates import GatePolicy


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    (root / "openspec" / "changes" / "add-x").mkdir(parents=True)
    return root


@pytest.fixture
def gate(hub: Path) -> GatePolicy:
    return GatePolicy(hub=hub, write_globs=("openspec/changes/add-x/**",), phase="propose", change_id="add-x")


def call(tool: str, cwd: Path, **tool_input: Any) -> dict[str, Any]:
    return {
        "session_id": "s",
        "hook_event_name": "PreToolUse",
        "cwd": str(cwd),
        "tool_name": tool,
        "tool_input": tool_input,
        "tool_use_id": "toolu_1",
    }


def test_writes_inside_the_gate_pass_silently(gate: GatePolicy, hub: Path) -> None:
    assert decide(call("Write", hub, file_path="openspec/changes/add-x/proposal.md"), gate) is None
    assert decide(call("Edit", hub, file_path=str(hub / "openspec/changes/add-x/tasks.md")), gate) is None
    assert decide(call("MultiEdit", hub / "openspec", file_path="changes/add-x/d/spec.md"), gate) is None


def test_writes_outside_are_refused_saying_what_may_be_written(gate: GatePolicy, hub: Path) -> None:
    decision = decide(call("Write", hub, file_path="README.md"), gate)
    assert decision is not None
    assert decision.reason.startswith(f"{GUARD_PREFIX} Write of README.md refused")
    assert "the propose phase of change add-x" in decision.reason
    assert "openspec/changes/add-x/**" in decision.reason
    out = decision.to_hook_output()["hookSpecificOutput"]
    assert out == {
        "hookEventName": "PreToolUse",
        "permissionDecision": "deny",
        "permissionDecisionReason": decision.reason,
    }


@pytest.mark.parametrize(
    ("tool", "field", "path"),
    [
        ("Write", "file_path", "../escape.md"),
        ("Edit", "file_path", "/etc/passwd"),
        ("MultiEdit", "file_path", "openspec/changes/other/proposal.md"),
        ("NotebookEdit", "notebook_path", "nb.ipynb"),
        ("Write", "file_path", "openspec/changes/add-x/../../../CLAUDE.md"),
    ],
)
def test_each_writing_tool_is_checked(gate: GatePolicy, hub: Path, tool: str, field: str, path: str) -> None:
    assert decide(call(tool, hub, **{field: path}), gate) is not None


def test_paths_resolve_against_the_hook_cwd_and_through_symlinks(gate: GatePolicy, hub: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (hub / "openspec/changes/add-x/link").symlink_to(outside)
    assert decide(call("Write", hub, file_path="openspec/changes/add-x/link/evil.md"), gate) is not None
    # relative to the cwd Claude Code reports, not the hook process's own cwd
    assert decide(call("Write", hub / "openspec/changes/add-x", file_path="ok.md"), gate) is None
    assert decide(call("Write", tmp_path, file_path="ok.md"), gate) is not None


def test_other_tools_and_a_missing_path(gate: GatePolicy, hub: Path) -> None:
    assert decide(call("Bash", hub, command="rm -rf /"), gate) is None  # the audit's job
    assert decide(call("Read", hub, file_path="/etc/passwd"), gate) is None
    missing = decide(call("Write", hub, content="x"), gate)
    assert missing is not None and "without a 'file_path'" in missing.reason


def test_read_only_gate_refuses_every_write(hub: Path) -> None:
    gate = GatePolicy(hub=hub, read_only=True, phase="explore")
    decision = decide(call("Write", hub, file_path="openspec/changes/add-x/notes.md"), gate)
    assert decision is not None and "Read-only" in decision.reason


def test_worktree_gate(hub: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt" / "app"
    wt.mkdir(parents=True)
    gate = GatePolicy(hub=hub, worktrees=(wt,), write_globs=("openspec/changes/add-x/tasks.md",))
    assert decide(call("Write", wt, file_path="src/main.py"), gate) is None
    assert decide(call("Edit", wt, file_path=str(hub / "openspec/changes/add-x/tasks.md")), gate) is None
    assert decide(call("Edit", wt, file_path=str(hub / "openspec/changes/add-x/proposal.md")), gate) is not None


def hook(stdin: str, **kw: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_hook(io.StringIO(stdin), out, err, **kw)
    return code, out.getvalue(), err.getvalue()


def test_run_hook_reads_the_gate_from_the_environment_or_a_file(gate: GatePolicy, hub: Path, tmp_path: Path) -> None:
    refused = json.dumps(call("Write", hub, file_path="README.md"))
    code, out, err = hook(refused, environ={GATE_ENV: gate.to_json()})
    assert code == 0 and err == ""
    assert json.loads(out)["hookSpecificOutput"]["permissionDecision"] == "deny"
    gate_file = tmp_path / "gate.json"
    gate_file.write_text(gate.to_json(), encoding="utf-8")
    allowed = json.dumps(call("Write", hub, file_path="openspec/changes/add-x/p.md"))
    assert hook(allowed, gate_file=str(gate_file), environ={}) == (0, "", "")
    # the file wins over the environment
    wide = GatePolicy(hub=hub, write_globs=("**",)).to_json()
    code, out, _ = hook(refused, gate_file=str(gate_file), environ={GATE_ENV: wide})
    assert code == 0 and "deny" in out


@pytest.mark.parametrize(
    ("stdin", "kw", "message"),
    [
        ("{}", {"environ": {}}, "no gate"),
        ("{}", {"gate_file": "/nonexistent/gate.json", "environ": {}}, "cannot read the gate file"),
        ("{}", {"environ": {GATE_ENV: "{not json"}}, "is not a valid gate"),
        ("not json", {"environ": {GATE_ENV: '{"hub": "/"}'}}, "is not JSON"),
        ("[1]", {"environ": {GATE_ENV: '{"hub": "/"}'}}, "not a JSON object"),
    ],
)
def test_the_hook_fails_closed(stdin: str, kw: dict[str, Any], message: str) -> None:
    code, out, err = hook(stdin, **kw)
    assert code == 2 and out == ""
    assert err.startswith(f"{GUARD_PREFIX} refused") and message in err


def test_python_m_specflow_guard_and_the_cli_subcommand(gate: GatePolicy, hub: Path, tmp_path: Path) -> None:
    gate_file = tmp_path / "gate.json"
    gate_file.write_text(gate.to_json(), encoding="utf-8")
    payload = json.dumps(call("Write", hub, file_path="README.md"))
    env = {k: v for k, v in os.environ.items() if k != GATE_ENV}
    # -I as the adapter runs it: the working directory stays off sys.path
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "specflow.agents.claude.hook", "--gate", str(gate_file)],
        input=payload,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    proc = subprocess.run(
        [sys.executable, "-m", "specflow", "guard"],
        input=payload,
        capture_output=True,
        text=True,
        env={**env, GATE_ENV: gate.to_json()},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "permissionDecisionReason" in proc.stdout


def test_cli_guard_in_process(
    gate: GatePolicy, hub: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from specflow.cli.main import main

    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(call("Edit", hub, file_path="x.md"))))
    monkeypatch.setenv(GATE_ENV, gate.to_json())
    assert main(["guard"]) == 0
    assert "deny" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO("{}"))
    monkeypatch.delenv(GATE_ENV)
    assert main(["guard"]) == 2
    assert "no gate" in capsys.readouterr().err


def test_a_guard_that_fails_inside_refuses_the_call(tmp_path: Path) -> None:
    """Any surprise while judging (here a NUL byte in the path) blocks the call: exit 2."""
    import io
    import json as _json

    from specflow.agents.claude.hook import run_hook
    from specflow.workspace.gates import GatePolicy

    gate = GatePolicy(hub=tmp_path, write_globs=("a/**",))
    hook_input = {
        "tool_name": "Write",
        "tool_input": {"file_path": str(tmp_path / "a" / "x\x00y")},
        "cwd": str(tmp_path),
    }
    err = io.StringIO()
    code = run_hook(io.StringIO(_json.dumps(hook_input)), io.StringIO(), err, environ={"SPECFLOW_GATE": gate.to_json()})
    assert code == 2
    assert "refused" in err.getvalue()


def test_the_guard_starts_without_typing_or_dataclasses(tmp_path: Path) -> None:
    # Claude Code starts it once per writing tool call: typing and dataclasses (with inspect)
    # would nearly double its start
    gate = tmp_path / "gate.json"
    gate.write_text(GatePolicy(hub=tmp_path, write_globs=("a/**",)).to_json(), encoding="utf-8")
    boot = boot_code("specflow.agents.claude.hook")
    argv = [sys.executable, "-I", "-S", "-X", "importtime", "-c", boot, "--gate", str(gate)]
    call = {"tool_name": "Write", "tool_input": {"file_path": str(tmp_path / "b.txt")}, "cwd": str(tmp_path)}
    proc = subprocess.run(argv, input=json.dumps(call), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and '"permissionDecision": "deny"' in proc.stdout  # it judged the call
    loaded = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "specflow.workspace.gates" in loaded
    assert sorted({"typing", "dataclasses", "inspect"} & loaded) == []
