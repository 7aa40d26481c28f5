"""The command adapter runs a real process: prompt on stdin, env, stdout, stderr, exit, timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specflow import Hub
from specflow.agents import get_adapter
from specflow.agents.base import AgentEvent, AgentRequest, StartsAhead
from specflow.errors import AgentError, PhaseFailed
from specflow.workspace.gates import GatePolicy
from tests.claude.claude_support import processes_with
from tests.conftest import HubFixture


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


REPORTING = r"""
import json, os, sys
def event(kind, **fields):
    print(json.dumps({"specflow": 1, "event": kind, **fields}), file=sys.stderr, flush=True)
event("session", id=os.environ.get("SPECFLOW_RESUME") or "run-1")
print("plain progress", file=sys.stderr, flush=True)
event("tool", name="Write", input={"file_path": os.path.join(os.getcwd(), "a", "notes.md"), "content": "..."})
event("tool", name="Bash", input={"command": "pytest -q"})
print('{"specflow": 1, "event": "cost", "usd": 0.1', file=sys.stderr, flush=True)
event("teleport", to="mars")
event("tokens", input=1000, output=250)
event("cost", usd=0.0625)
print("the answer")
"""


def test_a_command_agent_reports_through_event_lines(tmp_path: Path) -> None:
    events: list[AgentEvent] = []
    result = get_adapter("command").run(request(tmp_path, REPORTING), events.append)
    assert result.ok, result.error
    assert result.final_text == "the answer\n"
    assert result.session_id == "run-1"
    assert result.cost_usd == 0.0625
    assert result.tokens == {"input_tokens": 1000, "output_tokens": 250}
    assert [(c["tool"], c["target"]) for c in result.tool_calls] == [("Write", "a/notes.md"), ("Bash", "pytest -q")]
    record = result.to_dict()
    assert (record["cost_usd"], record["tool_calls"], record["session_id"]) == (0.0625, 2, "run-1")
    seen = [(e.kind, e.message) for e in events]
    assert ("tool", "Write a/notes.md") in seen
    assert ("output", "plain progress") in seen
    assert ("output", '{"specflow": 1, "event": "cost", "usd": 0.1') in seen  # malformed: plain text
    assert (
        "warning",
        'event line 6: unknown event "teleport" ignored (known: cost, session, text, tokens, tool)',
    ) in seen
    assert seen[-1] == ("result", f"finished in {result.duration_s:.1f} s, 2 tool calls, $0.0625, 1250 tokens")
    assert result.transcript_path is not None
    assert '"event": "teleport"' in result.transcript_path.read_text()  # the transcript keeps every line


def test_a_resumed_command_agent_gets_its_session_back(tmp_path: Path) -> None:
    req = AgentRequest(**{**request(tmp_path, REPORTING).__dict__, "resume_session": "run-1"})
    assert get_adapter("command").run(req).session_id == "run-1"


def test_the_example_reporting_agent(tmp_path: Path) -> None:
    change = tmp_path / "openspec" / "changes" / "add-x"
    change.mkdir(parents=True)
    (change / "proposal.md").write_text("# Add x\n\n## Why\nUsers need x.\n")
    (change / "tasks.md").write_text("## 1. Build\n- [ ] 1.1 x\n")
    example = Path(__file__).resolve().parents[2] / "examples" / "agents" / "reporting_agent.py"
    req = AgentRequest(**{**request(tmp_path, "").__dict__, "options": {"command": [sys.executable, str(example)]}})
    result = get_adapter("command").run(req)
    assert result.ok, result.error
    assert result.final_text.startswith("# Notes on add-x\n")
    assert "- proposal.md: Why" in result.final_text and "- tasks.md: 1. Build" in result.final_text
    assert [c["target"] for c in result.tool_calls] == [
        "openspec/changes/add-x/proposal.md",
        "openspec/changes/add-x/tasks.md",
    ]
    assert (result.session_id or "").startswith("reporter-")
    tokens_in, tokens_out = result.tokens["input_tokens"], result.tokens["output_tokens"]
    assert tokens_in > 10 and tokens_out > 10
    assert result.cost_usd == round(tokens_in * 3e-6 + tokens_out * 15e-6, 6)


@pytest.mark.parametrize("size", [10, 16384, 16385, 300_000])
def test_a_prompt_of_any_size_reaches_the_agent_whole(tmp_path: Path, size: int) -> None:
    # up to what a pipe holds it is written at once; a longer one from a thread, while the agent
    # may be writing before it reads
    code = "import sys\nprint('x' * 200_000, file=sys.stderr)\ndata = sys.stdin.read()\nprint(len(data), data[-3:])\n"
    prompt = "p" * (size - 3) + "end"
    result = get_adapter("command").run(request(tmp_path, code, prompt=prompt))
    assert result.ok, result.error
    assert result.final_text.split() == [str(size), "end"]


# writes at once, before it reads its prompt: it must not run before the phase's checkpoint
EAGER = "import os, pathlib, sys\npathlib.Path('written').write_text('x')\nprint(sys.stdin.read())\n"


def test_started_ahead_the_program_runs_only_once_finished(tmp_path: Path) -> None:
    adapter = get_adapter("command")
    assert isinstance(adapter, StartsAhead)
    events: list[AgentEvent] = []
    started = adapter.start(request(tmp_path, EAGER, prompt=""), events.append)  # the prompt comes with finish
    time.sleep(0.5)  # time enough for the helper to start, and for the program had it been let go
    assert not (tmp_path / "written").exists()
    assert [e.kind for e in events] == ["sandbox"]  # the helper holding it is known, for recovery
    result = started.finish("hello prompt")
    assert result.ok, result.error
    assert (tmp_path / "written").exists() and result.final_text == "hello prompt\n"
    assert [e.kind for e in events][:2] == ["sandbox", "start"]


def test_started_ahead_then_cancelled_the_program_never_runs(tmp_path: Path) -> None:
    adapter = get_adapter("command")
    assert isinstance(adapter, StartsAhead)
    events: list[AgentEvent] = []
    started = adapter.start(request(tmp_path, EAGER, prompt=""), events.append)  # the prompt comes with finish
    time.sleep(0.5)  # as above: a program let go would have written by now
    started.cancel()
    pid = events[0].data["pid"]
    assert not (tmp_path / "written").exists()
    with pytest.raises(ProcessLookupError):  # the helper is gone, and reaped
        os.kill(pid, 0)


def test_when_the_checkpoint_fails_the_agent_started_ahead_is_stopped_and_never_runs(hub: HubFixture) -> None:
    # the helper holding the agent is started before the checkpoint; a checkpoint that fails
    # (a file where the change's checkpoint refs go) must leave no agent behind, and no write
    hub.agent("scripted", EAGER.replace("'written'", "os.path.join(os.environ['SPECFLOW_HUB'], 'written')"))
    hub.commit("eager agent")
    change = Hub.open(hub.root).new_change("add-login")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hub.root, capture_output=True, text=True, check=True)
    blocker = hub.root / ".git" / "refs" / "specflow" / "checkpoints" / "add-login"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text(head.stdout, encoding="utf-8")
    with pytest.raises(PhaseFailed) as failed:
        change.advance()
    (result,) = failed.value.results
    assert any("checkpoint" in reason for reason in result.reasons), result.reasons
    worktree = hub.worktree("add-login")
    assert not (worktree / "written").exists()
    assert Hub.open(hub.root).change("add-login").state == "draft"
    # the helper started ahead was stopped: no process of the run is left
    assert processes_with(str(worktree), "SPECFLOW_HUB") == []
