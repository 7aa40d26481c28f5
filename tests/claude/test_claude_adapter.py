"""The claude-code adapter driving the REAL Claude Code binary against the scripted Messages API.

Each run takes about a second; the two time-limit cases take a few.  Every request the binary
makes must reach the fixture's address (the ``trap`` proxy must see nothing).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from specflow.agents.claude.adapter import ClaudeCodeAdapter
from specflow.agents.claude.hook import GUARD_PREFIX
from tests.claude.claude_support import ClaudeRun, processes_with
from tests.claude.scripted_api import ScriptedAPI, path_word, script

pytestmark = pytest.mark.claude_cli

Tree = Callable[[Path], list[str]]


def assert_only_loopback(api: ScriptedAPI, trap: ScriptedAPI) -> None:
    assert api.requests, "the binary never reached the scripted API"
    assert {r.host for r in api.requests} == {f"127.0.0.1:{api.port}"}
    assert trap.requests == [], [f"{r.method} {r.path}" for r in trap.requests]


def test_propose_writes_inside_the_gate_with_session_cost_tokens_and_transcript(
    claude_run: ClaudeRun, api: ScriptedAPI, trap: ScriptedAPI, tree: Tree
) -> None:
    gate = claude_run.gate("openspec/changes/add-x/**")
    result = claude_run.run(
        script("write openspec/changes/add-x/proposal.md # Why\\nBecause.", "answer Proposal written."), gate
    )
    assert result.ok, result.error
    assert (claude_run.hub / "openspec/changes/add-x/proposal.md").read_text() == "# Why\nBecause."
    assert tree(claude_run.hub) == ["README.md", "openspec/changes/add-x/proposal.md"]
    assert result.final_text == "Proposal written."
    assert result.session_id and len(result.session_id) == 36
    assert result.cost_usd is not None and result.cost_usd > 0
    assert result.tokens["input_tokens"] > 0 and result.tokens["output_tokens"] > 0
    assert result.num_turns == 2 and result.exit_code == 0
    assert [c["tool"] for c in result.tool_calls] == ["Write"]
    assert result.refused_calls == []
    # the raw stream is the transcript, starting with the init line of this session
    assert result.transcript_path is not None and result.transcript_path.parent == claude_run.transcripts
    assert result.transcript_path.name.startswith("propose-")
    first = json.loads(result.transcript_path.read_text().splitlines()[0])
    assert first["subtype"] == "init" and first["session_id"] == result.session_id
    assert first["permissionMode"] == "dontAsk"
    kinds = [e.kind for e in claude_run.events if e.kind != "sandbox"]
    assert kinds[0] == "start" and "tool" in kinds and "result" in kinds
    assert any(e.message == "Write openspec/changes/add-x/proposal.md" for e in claude_run.events)
    history = result.to_dict()
    assert history["session_id"] == result.session_id and history["cost_usd"] == result.cost_usd
    assert_only_loopback(api, trap)
    # the gate reached the model: the appended system prompt states it
    system = json.dumps(api.requests[0].body["system"])  # type: ignore[index]
    assert "openspec/changes/add-x/**" in system


def test_a_write_outside_the_gate_is_refused_by_the_hook_and_nothing_changes(
    claude_run: ClaudeRun, api: ScriptedAPI, tree: Tree
) -> None:
    outside = claude_run.hub.parent / "outside.txt"
    gate = claude_run.gate("openspec/changes/add-x/**")
    result = claude_run.run(
        script(
            "write README.md changed",
            f"write {path_word(outside)} escaped",
            "edit README.md # Hub => # Mine",
            "answer ok",
        ),
        gate,
    )
    assert result.ok, result.error
    assert (claude_run.hub / "README.md").read_text() == "# Hub\n"
    assert not outside.exists()
    assert tree(claude_run.hub) == ["README.md"]
    assert [(r["tool"], r["source"]) for r in result.refused_calls] == [
        ("Write", "hook"),
        ("Write", "hook"),
        ("Edit", "hook"),
    ]
    assert all(r["reason"].startswith(GUARD_PREFIX) for r in result.refused_calls)
    # the model was told what it may write instead
    told = "\n".join(r.text() for r in api.requests)
    assert "refused: it is outside what the propose phase of change add-x may write" in told
    assert "openspec/changes/add-x/** (relative to the hub" in told
    assert [e.kind for e in claude_run.events].count("refused") == 3


def test_with_the_hook_switched_off_the_permission_rules_refuse(
    claude_run: ClaudeRun, api: ScriptedAPI, tree: Tree
) -> None:
    gate = claude_run.gate("openspec/changes/add-x/**")
    result = claude_run.run(
        script("write README.md changed", "write openspec/changes/add-x/tasks.md - [ ] one", "answer ok"),
        gate,
        options={"hook": False},
    )
    assert result.ok, result.error
    assert tree(claude_run.hub) == ["README.md", "openspec/changes/add-x/tasks.md"]
    assert (claude_run.hub / "README.md").read_text() == "# Hub\n"
    ((refused),) = result.refused_calls
    assert refused["tool"] == "Write" and refused["target"] == "README.md"
    assert refused["source"] != "hook" and not refused["reason"].startswith(GUARD_PREFIX)
    assert GUARD_PREFIX not in "\n".join(r.text() for r in api.requests)


def test_explore_is_read_only_no_write_tools_and_bash_only_reads(
    claude_run: ClaudeRun, api: ScriptedAPI, tree: Tree
) -> None:
    gate = claude_run.gate(read_only=True, phase="explore")
    result = claude_run.run(
        script("bash cat README.md", "bash touch scratch.txt", "write notes.md n", "answer Thoughts only."), gate
    )
    assert result.ok, result.error
    assert result.final_text == "Thoughts only."
    assert tree(claude_run.hub) == ["README.md"]
    offered = {t["name"] for t in api.requests[0].body["tools"]}  # type: ignore[index]
    assert {"Write", "Edit", "MultiEdit", "NotebookEdit"}.isdisjoint(offered)
    assert "Bash" in offered and "Read" in offered
    assert {(r["tool"], r["target"]) for r in result.refused_calls} == {
        ("Bash", "touch scratch.txt"),
        ("Write", "notes.md"),
    }
    assert "# Hub" in "\n".join(r.text() for r in api.requests)  # the read-only command ran


def test_project_settings_allowing_everything_do_not_widen_the_gate(
    claude_run: ClaudeRun, claude_binary: Path, claude_env: dict[str, str], claude_home: Path, tree: Tree
) -> None:
    hub = claude_run.hub
    (hub / ".claude").mkdir()
    (hub / ".claude" / "settings.json").write_text(
        json.dumps(
            {
                "permissions": {"allow": ["Edit", "Write", "Bash", "Edit(//**)"], "defaultMode": "bypassPermissions"},
                "hooks": {},
                "disableAllHooks": True,
            }
        )
    )
    # trusted, as the user's own project would be, so Claude Code would apply those settings
    (claude_home / ".claude.json").write_text(json.dumps({"projects": {str(hub): {"hasTrustDialogAccepted": True}}}))
    prompt = script("write README.md widened", "answer ok")
    result = claude_run.run(prompt, claude_run.gate("openspec/changes/add-x/**"), options={"hook": False})
    assert result.ok, result.error
    assert (hub / "README.md").read_text() == "# Hub\n"
    assert [r["target"] for r in result.refused_calls] == ["README.md"]
    # control: the same binary without --setting-sources "" honours the project file and writes
    env = {**os.environ, **claude_env}
    subprocess.run(
        [str(claude_binary), "-p", "--output-format", "stream-json", "--verbose"],
        input=prompt,
        cwd=hub,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (hub / "README.md").read_text() == "widened"


def test_resume_on_retry_continues_the_conversation(claude_run: ClaudeRun, api: ScriptedAPI) -> None:
    gate = claude_run.gate("openspec/changes/add-x/**")
    first = claude_run.run(script("bash echo marker-of-attempt-one", "loop"), gate, max_turns=2)
    assert first.status == "error" and "turn limit (2)" in (first.error or "")
    api.clear()
    second = claude_run.run(script("answer Second attempt done."), gate, resume_session=first.session_id)
    assert second.ok, second.error
    assert second.session_id == first.session_id
    assert second.final_text == "Second attempt done."
    conversation = "\n".join(r.text() for r in api.requests)
    assert "marker-of-attempt-one" in conversation  # the server saw the earlier conversation
    assert second.cost_usd is not None and first.cost_usd is not None
    assert second.cost_usd < first.cost_usd + second.cost_usd  # this attempt's cost, not the session's


def test_a_session_that_cannot_be_resumed_starts_afresh_or_fails_when_told(claude_run: ClaudeRun) -> None:
    gate = claude_run.gate("openspec/changes/add-x/**")
    gone = "00000000-0000-4000-8000-000000000000"
    result = claude_run.run(script("answer fresh"), gate, resume_session=gone)
    assert result.ok, result.error
    assert result.session_id != gone and result.final_text == "fresh"
    assert any(e.kind == "warning" and "cannot be resumed" in e.message for e in claude_run.events)
    strict = claude_run.run(script("answer fresh"), gate, resume_session=gone, options={"resume_fallback": False})
    assert strict.status == "error"
    assert strict.error == f"Claude Code failed during execution: No conversation found with session ID: {gone}"


def test_max_turns_and_budget_are_failed_attempts_with_reasons(claude_run: ClaudeRun) -> None:
    gate = claude_run.gate("openspec/changes/add-x/**")
    turns = claude_run.run(script("loop"), gate, max_turns=3)
    assert turns.status == "error" and turns.exit_code == 1
    assert turns.error == (
        "Claude Code reached the turn limit (3) before finishing; raise max_turns for this phase or narrow the task"
    )
    assert turns.session_id and turns.cost_usd
    budget = claude_run.run(script("loop"), gate, budget_usd=0.003)
    assert budget.status == "error"
    assert budget.error is not None and budget.error.startswith("Claude Code stopped at the budget limit of $0.003")
    assert budget.cost_usd is not None and budget.cost_usd >= 0.003


def test_a_hang_is_killed_at_the_time_limit(claude_run: ClaudeRun, run_marker: str) -> None:
    gate = claude_run.gate("openspec/changes/add-x/**")
    started = time.monotonic()
    # 6 s: room for Claude Code to start and print its init line on a loaded machine (at 3 s it
    # sometimes had not, and the session id the retry resumes was never seen)
    result = claude_run.run(script("hang"), gate, timeout=6)
    elapsed = time.monotonic() - started
    assert result.status == "timeout"
    assert result.error == (
        "Claude Code did not finish within the time limit of 6 s; it and every process it started were killed"
    )
    assert 6 <= elapsed < 15
    assert result.session_id  # from the init line, so the retry can resume it
    assert processes_with(run_marker) == []


def test_a_timeout_also_kills_the_commands_claude_started(claude_run: ClaudeRun, run_marker: str) -> None:
    """Claude Code runs Bash commands in sessions of their own: killing its group is not enough."""
    gate = claude_run.gate("openspec/changes/add-x/**")
    sleeper = "python3 -c 'import time; time.sleep(300)'"
    result = claude_run.run(script(f"bash {sleeper}"), gate, timeout=4)
    events_seen = [e.message for e in claude_run.events if e.kind == "tool"]
    assert result.status == "timeout"
    assert events_seen == [f"Bash {sleeper}"]
    assert processes_with(run_marker) == []


def test_nothing_is_left_running_after_a_normal_run(claude_run: ClaudeRun, run_marker: str) -> None:
    gate = claude_run.gate("openspec/changes/add-x/**")
    result = claude_run.run(script("bash echo hi", "answer ok"), gate)
    assert result.ok
    assert processes_with(run_marker) == []


def test_the_run_ends_as_claude_code_begins_to_exit_not_once_its_memory_is_freed(
    claude_run: ClaudeRun, run_marker: str
) -> None:
    # Claude Code's exit takes ~30 ms of the kernel freeing its memory before its output ends:
    # the stream ends, and what is left is stopped, as soon as every thread of it has begun to exit.
    # The reader sees that only if it looks in those ~30 ms; on a loaded machine it may be given the
    # CPU too late, and the stream then ends at its EOF, as it does where the watch cannot tell
    # (seen once in CI): each run must be whole either way, and one of three must end early.
    gate = claude_run.gate("openspec/changes/add-x/**")
    for _ in range(3):
        request = claude_run.request(script("write openspec/changes/add-x/a.md A", "answer ok"), gate)
        session = ClaudeCodeAdapter().start(request, claude_run.events.append)
        result = session.finish(request.prompt)
        assert result.ok, result.error
        run = session.first.run
        assert result.exit_code == 0 and not run.lingered
        assert result.transcript_path is not None
        last = json.loads(result.transcript_path.read_text().splitlines()[-1])
        assert last["type"] == "result" and last["result"] == "ok"
        assert processes_with(run_marker) == []
        if run.exit_begun:
            assert run.watch is not None and run.watch.status == 0
            break
    else:
        pytest.fail("in 3 runs the stream never ended as Claude Code began to exit: each waited for its EOF")


def test_the_settings_folder_goes_with_the_run_and_the_transcript_is_named_by_time(
    claude_run: ClaudeRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_tmp = tmp_path / "own-tmp"
    own_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(own_tmp))  # where the adapter puts the settings and the hook's gate
    started = time.gmtime()
    result = claude_run.run(script("answer ok"), claude_run.gate("openspec/changes/add-x/**"))
    assert result.ok, result.error
    assert list(own_tmp.iterdir()) == []
    assert result.transcript_path is not None
    name = result.transcript_path.name
    assert re.fullmatch(r"propose-\d{8}T\d{6}\.\d{6}Z\.jsonl", name), name
    assert name[len("propose-") : len("propose-") + 8] == time.strftime("%Y%m%d", started)


def test_a_missing_binary_says_how_to_install(claude_run: ClaudeRun, tmp_path: Path) -> None:
    from specflow.errors import AgentError

    request = claude_run.request("hi", claude_run.gate(), options={"binary": str(tmp_path / "no-claude")})
    with pytest.raises(AgentError) as err:
        ClaudeCodeAdapter().run(request)
    assert "does not exist" in err.value.message
    assert err.value.fix is not None and "npm install -g @anthropic-ai/claude-code" in err.value.fix


@pytest.mark.parametrize("hook", [True, False])
def test_apply_in_a_worktree_writes_the_worktree_and_tasks_and_reads_the_hub(
    claude_run: ClaudeRun, tmp_path: Path, tree: Tree, hook: bool
) -> None:
    hub = claude_run.hub
    worktree = tmp_path / "worktrees" / "add-x" / "app"
    worktree.mkdir(parents=True)
    (hub / "openspec/changes/add-x/tasks.md").write_text("- [ ] 1.1 build it\n")
    from specflow.workspace.gates import GatePolicy

    gate = GatePolicy(
        hub=hub,
        worktrees=(worktree,),
        write_globs=("openspec/changes/add-x/tasks.md",),
        phase="apply",
        change_id="add-x",
    )
    tasks = hub / "openspec/changes/add-x/tasks.md"
    result = claude_run.run(
        script(
            f"read {path_word(hub / 'README.md')}",
            "write src/app.py print('hi')",
            f"edit {path_word(tasks)} - [ ] => - [x]",
            f"write {path_word(hub / 'README.md')} replaced",
            "answer Applied.",
        ),
        gate,
        cwd=worktree,
        options={"hook": hook},
    )
    assert result.ok, result.error
    assert tree(worktree) == ["src/app.py"]
    assert tasks.read_text() == "- [x] 1.1 build it\n"
    assert (hub / "README.md").read_text() == "# Hub\n"
    assert [(r["tool"], r["target"]) for r in result.refused_calls] == [("Write", f"{hub}/README.md")]
    assert [c["tool"] for c in result.tool_calls] == ["Read", "Write", "Edit", "Write"]
