"""Per-phase Claude Code settings generated from the gate policy."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from specflow.agents.claude.settings import (
    PERMISSION_MODE,
    WRITING_TOOLS,
    add_dirs,
    build_phase_settings,
    edit_rules,
    gate_note,
    guard_command,
)
from specflow.bootstrap import boot_code
from specflow.workspace.gates import GatePolicy


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    (root / "openspec" / "changes" / "add-x").mkdir(parents=True)
    return root


def test_writing_phase_allows_exactly_the_gate(hub: Path) -> None:
    gate = GatePolicy(hub=hub, write_globs=("openspec/changes/add-x/**", "CLAUDE.md"), phase="propose")
    ps = build_phase_settings(gate, hub, hook_command="guard")
    perms = ps.settings["permissions"]
    assert perms["defaultMode"] == PERMISSION_MODE == "dontAsk"
    assert perms["allow"] == [
        f"Edit(/{hub}/openspec/changes/add-x/**)",
        f"Edit(/{hub}/CLAUDE.md)",
        "Bash",
    ]
    assert all(rule.startswith("Edit(//") for rule in perms["allow"][:2])  # '//' = absolute
    assert perms["disableBypassPermissionsMode"] == "disable"
    assert not any(rule.startswith("Write(") for rule in perms["allow"])
    assert ps.args == ["--permission-mode", "dontAsk"]  # cwd is the hub: no --add-dir needed
    assert not ps.read_only


def test_worktree_gate_adds_the_worktrees_and_the_hub_as_directories(hub: Path, tmp_path: Path) -> None:
    wt_app = tmp_path / "worktrees" / "app"
    wt_lib = tmp_path / "worktrees" / "lib"
    for wt in (wt_app, wt_lib):
        wt.mkdir(parents=True)
    gate = GatePolicy(hub=hub, worktrees=(wt_app, wt_lib), write_globs=("openspec/changes/add-x/tasks.md",))
    ps = build_phase_settings(gate, wt_app, hook_command=None)
    assert ps.settings["permissions"]["allow"] == [
        f"Edit(/{wt_app}/**)",
        f"Edit(/{wt_lib}/**)",
        f"Edit(/{hub}/openspec/changes/add-x/tasks.md)",
        "Bash",
    ]
    assert ps.add_dirs == (hub, wt_lib)
    assert ps.args == ["--permission-mode", "dontAsk", "--add-dir", str(hub), "--add-dir", str(wt_lib)]
    assert "hooks" not in ps.settings


def test_add_dirs_collapse_nested_roots(hub: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    gate = GatePolicy(hub=hub, write_globs=("shared/**", "shared/docs/*.md", "openspec/specs/**"))
    assert add_dirs(gate, elsewhere) == [hub]
    assert add_dirs(gate, hub) == []
    assert add_dirs(gate, hub / "openspec") == [hub]


def test_read_only_phase_removes_writing_tools_and_allows_nothing(hub: Path) -> None:
    gate = GatePolicy(hub=hub, read_only=True, phase="explore")
    ps = build_phase_settings(gate, hub, hook_command="guard", extra_disallowed=("WebSearch", "Write"))
    assert ps.read_only
    assert ps.settings["permissions"]["allow"] == []  # Bash: only what Claude Code deems read-only
    assert ps.args == [
        "--permission-mode",
        "dontAsk",
        "--disallowedTools",
        "Write,Edit,MultiEdit,NotebookEdit,WebSearch",
    ]
    assert WRITING_TOOLS == ("Write", "Edit", "MultiEdit", "NotebookEdit")
    assert ps.settings["hooks"]["PreToolUse"][0]["matcher"] == "Write|Edit|MultiEdit|NotebookEdit"


def test_options_narrow_bash_and_add_rules_but_never_write_rules(hub: Path) -> None:
    gate = GatePolicy(hub=hub, write_globs=("openspec/changes/add-x/**",))
    ps = build_phase_settings(
        gate,
        hub,
        hook_command=None,
        allow_bash=False,
        extra_allow=["Bash(npm test:*)", "Write(//**)"],
        extra_deny=["WebFetch"],
    )
    perms = ps.settings["permissions"]
    assert perms["allow"] == [f"Edit(/{hub}/openspec/changes/add-x/**)", "Bash(npm test:*)"]
    assert perms["deny"][-1] == "WebFetch"
    # specflow's records and git's data are denied whatever the allow rules say
    assert f"Edit(/{hub}/openspec/changes/**/.specflow/**)" in perms["deny"]
    assert f"Edit(/{hub}/.specflow/locks/**)" in perms["deny"]
    assert f"Edit(/{hub}/.git/**)" in perms["deny"]
    assert not any(rule.startswith(f"Edit(/{hub}/.specflow/worktrees") for rule in perms["deny"])


def test_the_hook_runs_specflow_guard_isolated(tmp_path: Path) -> None:
    gate_file = tmp_path / "dir with space" / "gate.json"
    command = guard_command(sys.executable, gate_file)
    argv = shlex.split(command)
    assert argv == [
        sys.executable,
        "-I",
        "-S",
        "-c",
        boot_code("specflow.agents.claude.hook"),
        "--gate",
        str(gate_file),
        "||",
        "exit",
        "2",
    ]
    # a specflow/ folder the agent planted in the working directory is not the guard that runs
    fake = tmp_path / "specflow" / "agents" / "claude"
    fake.mkdir(parents=True)
    for folder in (fake, fake.parent, fake.parent.parent):
        (folder / "__init__.py").write_text("", encoding="utf-8")
    (fake / "hook.py").write_text("def main():\n    print('FAKE')\n    return 0\n", encoding="utf-8")
    call = json.dumps({"tool_name": "Write", "tool_input": {"file_path": str(tmp_path / "x")}})
    ran = subprocess.run(["sh", "-c", command], cwd=tmp_path, input=call, capture_output=True, text=True, check=False)
    assert "FAKE" not in ran.stdout
    assert ran.returncode == 2 and "specflow gate: refused" in ran.stderr, ran
    hub = tmp_path / "hub"
    ps = build_phase_settings(GatePolicy(hub=hub, read_only=True), hub, hook_command=command)
    (entry,) = ps.settings["hooks"]["PreToolUse"]
    assert entry["hooks"] == [{"type": "command", "command": command, "timeout": 30}]
    json.dumps(ps.settings)  # serialisable as the --settings file


def test_edit_rules_for_read_only_and_leading_slashes(hub: Path) -> None:
    assert edit_rules(GatePolicy(hub=hub, read_only=True)) == []
    assert edit_rules(GatePolicy(hub=hub, write_globs=("/docs/**", "./notes.md"))) == [
        f"Edit(/{hub}/docs/**)",
        f"Edit(/{hub}/notes.md)",
    ]


def test_gate_note_states_the_gate(hub: Path) -> None:
    note = gate_note(
        GatePolicy(hub=hub, write_globs=("openspec/changes/add-x/**",), phase="propose", change_id="add-x")
    )
    assert "the propose phase of the change add-x" in note
    assert "openspec/changes/add-x/**" in note
    assert "refused" in note
    assert "Read-only" in gate_note(GatePolicy(hub=hub, read_only=True))


def test_extra_allow_rules_never_widen_a_read_only_phase(hub: Path) -> None:
    ps = build_phase_settings(
        GatePolicy(hub=hub, read_only=True),
        hub,
        hook_command=None,
        extra_allow=["Bash", "Bash(rm:*)", "Edit(//**)", "WebFetch"],
    )
    assert ps.settings["permissions"]["allow"] == ["WebFetch"]
