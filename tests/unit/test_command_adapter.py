"""The command adapter runs a real process: prompt on stdin, env, stdout, stderr, exit, timeout."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from specflow.agents import get_adapter
from specflow.agents.base import AgentEvent, AgentRequest
from specflow.errors import AgentError
from specflow.workspace.gates import GatePolicy


def request(tmp_path: Path, code: str, timeout: float | None = 10, prompt: str = "hello prompt") -> AgentRequest:
    script = tmp_path / "agent.py"
    script.write_text(code)
    return AgentRequest(
        prompt=prompt,
        cwd=tmp_path,
        gate=GatePolicy(hub=tmp_path, write_globs=("a/**",)),
        hub=tmp_path,
        change_id="add-x",
        phase="propose",
        transcript_dir=tmp_path / "transcripts",
        timeout=timeout,
        options={"command": [sys.executable, str(script)]},
    )


def test_prompt_env_stdout_and_stderr(tmp_path: Path) -> None:
    code = (
        "import os, sys, json\n"
        "data = sys.stdin.read()\n"
        "print('progress one', file=sys.stderr, flush=True)\n"
        "gate = json.loads(os.environ['SPECFLOW_GATE'])\n"
        "print(json.dumps({'prompt': data, 'change': os.environ['SPECFLOW_CHANGE'],"
        " 'phase': os.environ['SPECFLOW_PHASE'], 'hub': os.environ['SPECFLOW_HUB'],"
        " 'cwd': os.getcwd(), 'write': gate['write']}))\n"
    )
    events: list[AgentEvent] = []
    result = get_adapter("command").run(request(tmp_path, code), events.append)
    assert result.ok, result.error
    out = json.loads(result.final_text)
    assert out == {
        "prompt": "hello prompt",
        "change": "add-x",
        "phase": "propose",
        "hub": str(tmp_path),
        "cwd": str(tmp_path),
        "write": ["a/**"],
    }
    assert any(e.kind == "output" and e.message == "progress one" for e in events)
    assert result.transcript_path is not None
    assert "progress one" in result.transcript_path.read_text()


def test_non_zero_exit_is_a_crash_with_the_stderr_tail(tmp_path: Path) -> None:
    code = "import sys\nprint('boom: no credentials', file=sys.stderr)\nsys.exit(3)\n"
    result = get_adapter("command").run(request(tmp_path, code))
    assert result.status == "crashed"
    assert result.exit_code == 3
    assert result.error == "the agent exited with code 3: boom: no credentials"


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(60)\n"
    )
    start = time.monotonic()
    result = get_adapter("command").run(request(tmp_path, code, timeout=1.5))
    assert time.monotonic() - start < 20
    assert result.status == "timeout"
    assert result.error == "the agent did not finish within 1.5 s and was killed"
    child = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the agent's child process survived the timeout")


def test_missing_program_is_a_crash(tmp_path: Path) -> None:
    req = request(tmp_path, "")
    req = AgentRequest(**{**req.__dict__, "options": {"command": ["/nonexistent/agent-binary"]}})
    result = get_adapter("command").run(req)
    assert result.status == "crashed"
    assert "cannot start '/nonexistent/agent-binary'" in (result.error or "")


def test_missing_command_setting_is_an_agent_error(tmp_path: Path) -> None:
    req = request(tmp_path, "")
    req = AgentRequest(**{**req.__dict__, "options": {}})
    with pytest.raises(AgentError, match="needs 'command'"):
        get_adapter("command").run(req)


def test_unknown_adapter_lists_the_known_ones() -> None:
    with pytest.raises(AgentError) as info:
        get_adapter("nope")
    assert "unknown adapter 'nope' (known: command, claude-code" in info.value.message
