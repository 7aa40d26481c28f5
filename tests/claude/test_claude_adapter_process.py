"""The claude-code adapter's process handling, with a stand-in executable (no real binary needed).

The stand-in replays transcripts recorded from the real binary, or misbehaves on purpose: it
crashes, prints garbage, lingers after its result, leaves a command holding its output open, or
ignores SIGTERM while a command it started in a session of its own keeps running.  It also
records the argv, stdin, cwd and settings it got.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from specflow.agents.base import AgentEvent, AgentRequest, AgentResult
from specflow.agents.claude import binary as claude_binary
from specflow.agents.claude import session as claude_session
from specflow.agents.claude.adapter import ClaudeCodeAdapter
from specflow.agents.claude.binary import find_binary
from specflow.agents.claude.options import ClaudeOptions
from specflow.bootstrap import boot_code
from specflow.errors import AgentError
from specflow.workspace.gates import GatePolicy
from tests.claude.claude_support import MARKER_ENV, processes_with
from tests.conftest import python_script

TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"

FAKE = r"""
import json, os, signal, subprocess, sys, time
mode = os.environ.get("FAKE_MODE", "replay")
log = os.environ.get("FAKE_LOG")
if log:
    args = sys.argv[1:]
    settings = args[args.index("--settings") + 1] if "--settings" in args else None
    content = open(settings).read() if settings and os.path.exists(settings) else None
    gate = None
    if content:
        hooks = json.loads(content).get("hooks", {}).get("PreToolUse", [{}])[0].get("hooks", [{}])
        command = hooks[0].get("command", "")
        import shlex
        words = shlex.split(command)
        gate_file = words[words.index("--gate") + 1]
        gate = open(gate_file).read() if os.path.exists(gate_file) else None
    record = {"argv": args, "stdin": sys.stdin.read(), "cwd": os.getcwd(), "settings": content, "gate": gate,
              "env": {k: os.environ.get(k) for k in ("SPECFLOW_GATE", "SPECFLOW_PHASE", "SPECFLOW_CHANGE",
                      "SPECFLOW_HUB", "CLAUDE_CODE_SIMPLE", "CLAUDECODE", "FROM_REQUEST")}}
    open(log, "w").write(json.dumps(record))
def replay():
    for line in open(os.environ["FAKE_TRANSCRIPT"]):
        sys.stdout.write(line)
        sys.stdout.flush()
if mode == "replay":
    replay()
    sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
if mode == "crash":
    sys.stderr.write("boom: the runtime fell over\n")
    sys.exit(3)
if mode == "garbage":
    print("Warning: something printed to stdout", flush=True)
    replay()
if mode == "linger":
    replay()
    sys.stdout.close()
    os.close(1)
    time.sleep(60)
if mode == "leave":
    replay()
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
if mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(open(os.environ["FAKE_TRANSCRIPT"]).readline(), end="", flush=True)
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    time.sleep(300)
"""


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "claude"
    path.parent.mkdir()
    path.write_text(python_script(FAKE), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    (root / "openspec" / "changes" / "add-x").mkdir(parents=True)
    return root


def request(hub: Path, fake: Path, tmp_path: Path, env: dict[str, str], **kw: Any) -> AgentRequest:
    gate = kw.pop(
        "gate", GatePolicy(hub=hub, write_globs=("openspec/changes/add-x/**",), phase="propose", change_id="add-x")
    )
    return AgentRequest(
        prompt=kw.pop("prompt", "Do the thing.\nSCRIPT: answer ok"),
        cwd=hub,
        gate=gate,
        hub=hub,
        change_id="add-x",
        phase=gate.phase,
        transcript_dir=tmp_path / "transcripts",
        env=env,
        timeout=kw.pop("timeout", 30),
        options={"binary": str(fake), **kw.pop("options", {})},
        **kw,
    )


def run(req: AgentRequest) -> tuple[AgentResult, list[AgentEvent]]:
    events: list[AgentEvent] = []
    return ClaudeCodeAdapter().run(req, events.append), events


def replaying(name: str, **extra: str) -> dict[str, str]:
    return {"FAKE_MODE": "replay", "FAKE_TRANSCRIPT": str(TRANSCRIPTS / f"{name}.jsonl"), **extra}


def test_the_command_line_settings_and_environment(
    hub: Path, fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CODE_SIMPLE", "1")  # bare mode would skip the hook: must be dropped
    monkeypatch.setenv("CLAUDECODE", "1")
    log = tmp_path / "fake.json"
    env = replaying("propose_guarded", FAKE_LOG=str(log), FROM_REQUEST="yes")
    req = request(
        hub, fake, tmp_path, env, model="claude-sonnet-4-5", max_turns=4, budget_usd=0.5, resume_session="abc-123"
    )
    result, events = run(req)
    assert result.ok, result.error
    rec = json.loads(log.read_text())
    argv: list[str] = rec["argv"]
    assert argv[:4] == ["-p", "--output-format", "stream-json", "--verbose"]
    assert argv[argv.index("--setting-sources") + 1] == ""
    assert argv[argv.index("--permission-mode") + 1] == "dontAsk"
    assert argv[argv.index("--model") + 1] == "claude-sonnet-4-5"
    assert argv[argv.index("--max-turns") + 1] == "4"
    assert argv[argv.index("--max-budget-usd") + 1] == "0.5"
    assert argv[argv.index("--resume") + 1] == "abc-123"
    assert "--strict-mcp-config" in argv
    assert "openspec/changes/add-x/**" in argv[argv.index("--append-system-prompt") + 1]
    for forbidden in ("--bare", "--dangerously-skip-permissions", "bypassPermissions", "acceptEdits"):
        assert forbidden not in argv
    assert rec["stdin"] == req.prompt  # the prompt goes to stdin, never argv
    assert req.prompt not in argv
    assert os.path.realpath(rec["cwd"]) == os.path.realpath(hub)
    settings = json.loads(rec["settings"])
    assert settings["permissions"]["allow"] == [f"Edit(/{hub.resolve()}/openspec/changes/add-x/**)", "Bash"]
    command = settings["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    assert shlex.split(command)[:5] == [sys.executable, "-I", "-S", "-c", boot_code("specflow.agents.claude.hook")]
    assert command.endswith(" || exit 2")
    assert GatePolicy.from_json(rec["gate"]) == req.gate
    assert rec["env"] == {
        "SPECFLOW_GATE": req.gate.to_json(),
        "SPECFLOW_PHASE": "propose",
        "SPECFLOW_CHANGE": "add-x",
        "SPECFLOW_HUB": str(hub),
        "CLAUDE_CODE_SIMPLE": None,
        "CLAUDECODE": None,
        "FROM_REQUEST": "yes",
    }
    # the generated settings and gate live only as long as the run
    assert not Path(command.rsplit(" ", 1)[-1]).exists()
    assert any(e.kind == "warning" and "CLAUDE_CODE_SIMPLE" in e.message for e in events)


def test_a_replayed_run_fills_the_result(hub: Path, fake: Path, tmp_path: Path) -> None:
    result, _events = run(request(hub, fake, tmp_path, replaying("propose_guarded")))
    assert result.status == "success" and result.final_text == "Proposal written."
    assert result.num_turns == 5 and result.exit_code == 0
    assert [r["target"] for r in result.refused_calls] == ["README.md"]
    assert result.transcript_path is not None
    assert result.transcript_path.read_bytes() == (TRANSCRIPTS / "propose_guarded.jsonl").read_bytes()
    assert not list(result.transcript_path.parent.glob("*.stderr.log"))  # empty stderr: no file
    assert result.to_dict()["tool_calls"] == 4


def test_a_crash_without_result_is_crashed_with_stderr(hub: Path, fake: Path, tmp_path: Path) -> None:
    result, _ = run(request(hub, fake, tmp_path, {"FAKE_MODE": "crash"}))
    assert result.status == "crashed" and result.exit_code == 3
    assert result.error == "Claude Code exited with code 3 without giving a result: boom: the runtime fell over"
    logs = list((tmp_path / "transcripts").glob("*.stderr.log"))
    assert len(logs) == 1 and "boom" in logs[0].read_text()


def test_an_error_result_or_a_bad_exit_fails_the_attempt(hub: Path, fake: Path, tmp_path: Path) -> None:
    bad_exit, _ = run(request(hub, fake, tmp_path, replaying("propose_guarded", FAKE_EXIT="2")))
    assert bad_exit.status == "error"
    assert bad_exit.error == "Claude Code reported success but exited with code 2"
    budget, _ = run(request(hub, fake, tmp_path, replaying("budget", FAKE_EXIT="1"), budget_usd=0.002))
    assert budget.status == "error" and budget.error is not None
    assert budget.error.startswith("Claude Code stopped at the budget limit of $0.002 after spending $0.00")
    failed, _ = run(request(hub, fake, tmp_path, replaying("resume_missing", FAKE_EXIT="1")))
    assert failed.status == "error" and failed.error is not None and "No conversation found" in failed.error


def test_malformed_output_is_reported_not_fatal(hub: Path, fake: Path, tmp_path: Path) -> None:
    env = replaying("propose_guarded", FAKE_MODE="garbage")
    result, events = run(request(hub, fake, tmp_path, env))
    assert result.ok
    warnings = [e.message for e in events if e.kind == "warning"]
    assert warnings == ["line 1 is not JSON (Expecting value): Warning: something printed to stdout"]


def test_a_run_that_lingers_after_its_result_is_stopped_and_judged_by_the_result(
    hub: Path, fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claude_session, "EXIT_GRACE_S", 0.5)
    started = time.monotonic()
    result, _ = run(request(hub, fake, tmp_path, replaying("propose_guarded", FAKE_MODE="linger")))
    assert time.monotonic() - started < 10
    assert result.status == "success"


@pytest.mark.parametrize("code", [0, 2])
def test_a_run_whose_command_keeps_its_output_open_ends_when_claude_exits(
    hub: Path, fake: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    # a command Claude Code started holds its stdout open after it exits: the run ends with Claude
    # Code's exit code (never the command's, though it holds the stream too), well before the
    # grace after the result, and the command is stopped
    monkeypatch.setattr(claude_session, "EXIT_GRACE_S", 20.0)
    marker = uuid.uuid4().hex
    env = replaying("propose_guarded", FAKE_MODE="leave", FAKE_EXIT=str(code), **{MARKER_ENV: marker})
    session = ClaudeCodeAdapter().start(request(hub, fake, tmp_path, env, timeout=60))
    result = session.finish("Do the thing.")
    assert (result.status, result.exit_code) == (("success", 0) if code == 0 else ("error", 2))
    assert result.final_text == "Proposal written."
    assert not session.first.run.lingered
    assert result.transcript_path is not None
    assert result.transcript_path.read_bytes() == (TRANSCRIPTS / "propose_guarded.jsonl").read_bytes()
    assert processes_with(marker) == []


def test_a_timeout_kills_a_process_that_ignores_sigterm_and_its_detached_children(
    hub: Path, fake: Path, tmp_path: Path
) -> None:
    marker = uuid.uuid4().hex
    env = replaying("propose_guarded", FAKE_MODE="stubborn", **{MARKER_ENV: marker})
    started = time.monotonic()
    result, events = run(request(hub, fake, tmp_path, env, timeout=1.5))
    assert result.status == "timeout"
    assert 1.5 <= time.monotonic() - started < 8
    assert result.session_id  # the init line arrived before the hang
    assert [e.kind for e in events if e.kind != "sandbox"] == ["start"]
    deadline = time.monotonic() + 2
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []


def make_exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_binary_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    configured = make_exe(tmp_path / "configured" / "claude")
    from_env = make_exe(tmp_path / "env" / "claude")
    on_path = make_exe(tmp_path / "path" / "claude")
    sdk = tmp_path / "site"
    bundled = make_exe(sdk / "claude_agent_sdk" / "_bundled" / "claude")
    (sdk / "claude_agent_sdk" / "__init__.py").write_text("raise RuntimeError('must not be imported')\n")
    monkeypatch.syspath_prepend(str(sdk))
    env = {"PATH": str(on_path.parent), "SPECFLOW_CLAUDE": str(from_env)}
    assert find_binary(str(configured), env) == configured
    assert find_binary(None, env) == from_env
    assert find_binary(None, {"PATH": str(on_path.parent)}) == on_path
    assert find_binary(None, {"PATH": str(tmp_path / "empty")}) == bundled
    assert find_binary("claude", {"PATH": str(on_path.parent)}) == on_path  # a bare name: PATH


def test_binary_missing_errors_say_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(claude_binary, "bundled_binary", lambda: None)
    with pytest.raises(AgentError) as nothing:
        find_binary(None, {"PATH": str(tmp_path)})
    assert "Claude Code is not installed" in nothing.value.message
    assert nothing.value.fix is not None and "pip install claude-agent-sdk" in nothing.value.fix
    with pytest.raises(AgentError) as bad_env:
        find_binary(None, {"SPECFLOW_CLAUDE": str(tmp_path / "nope")})
    assert (
        bad_env.value.message == f"the Claude Code binary {tmp_path / 'nope'} named in $SPECFLOW_CLAUDE does not exist"
    )
    not_exec = tmp_path / "claude"
    not_exec.write_text("x")
    with pytest.raises(AgentError, match="is not executable"):
        find_binary(str(not_exec), {})
    with pytest.raises(AgentError, match="is not on PATH"):
        find_binary("claude-nowhere", {"PATH": str(tmp_path)})


def test_options_are_checked(hub: Path, fake: Path, tmp_path: Path) -> None:
    with pytest.raises(AgentError, match="may not contain '--dangerously-skip-permissions'"):
        ClaudeOptions.from_mapping({"extra_args": ["--dangerously-skip-permissions"]})
    with pytest.raises(AgentError, match="may not contain '--permission-mode'"):
        ClaudeOptions.from_mapping({"extra_args": ["--permission-mode=bypassPermissions"]})
    with pytest.raises(AgentError, match="'hook' must be true or false"):
        ClaudeOptions.from_mapping({"hook": "no"})
    with pytest.raises(AgentError, match="'allowed_tools' must be a list of strings"):
        ClaudeOptions.from_mapping({"allowed_tools": [1]})
    assert ClaudeOptions.from_mapping({"command": ["x"], "hok": False}).unknown == ("hok",)
    _, events = run(request(hub, fake, tmp_path, replaying("propose_guarded"), options={"hok": False}))
    assert events[0] == AgentEvent("warning", "unknown claude-code options ignored: hok", {"unknown": ["hok"]})


def test_a_missing_working_directory_is_an_agent_error(hub: Path, fake: Path, tmp_path: Path) -> None:
    req = request(hub, fake, tmp_path, replaying("propose_guarded"))
    gone = AgentRequest(**{**req.__dict__, "cwd": tmp_path / "gone"})
    with pytest.raises(AgentError, match=r"the phase's working directory .*/gone does not exist"):
        ClaudeCodeAdapter().run(gone)
