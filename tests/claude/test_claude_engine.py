"""End to end: ``specflow advance`` and the Python API running phases with the REAL Claude Code.

The hub is the suite's ``mini`` workflow (think: read-only, its answer recorded as notes.md;
write: ``openspec/changes/<id>/**``), its prompt templates replaced per test by scripts for the
scripted Messages API.  Claude Code is configured in ``specflow.yaml`` as a user would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from specflow.errors import GuardFailed, PhaseFailed
from tests.claude.claude_support import processes_with
from tests.claude.scripted_api import ScriptedAPI

pytestmark = pytest.mark.claude_cli

CID = "add-login"
TEMPLATE = """\
Phase {{ phase.name }} of {{ change.id }}.
{{ gate.description }}
{% if last_failure %}LAST FAILURE:
{% for r in last_failure.reasons %}- {{ r }}
{% endfor %}{% endif %}
"""


class ClaudeHub:
    """The suite's hub with Claude Code agents configured and scripted phases."""

    def __init__(self, hub: Any, binary: Path, env: dict[str, str]) -> None:
        self.fixture = hub
        self.root: Path = hub.root
        base = {"adapter": "claude-code", "binary": str(binary), "timeout": 60, "env": env}
        config = {
            "default_workflow": "mini",
            "default_agent": "claude",
            "sandbox": "off",  # these tests hold the audit and the hook to account; test_claude_sandbox the sandbox
            "agents": {
                "claude": base,
                "claude-nohook": {**base, "options": {"hook": False}},
                "claude-short": {**base, "max_turns": 2},
                "claude-quick": {**base, "timeout": 3},
            },
        }
        # JSON is YAML: specflow.yaml written the way a user could write it
        (self.root / "specflow.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
        hub.commit("claude agents")

    def script(self, phase: str, *lines: str) -> None:
        """Make ``phase``'s prompt carry these directives for the scripted API."""
        body = TEMPLATE + "".join(f"SCRIPT: {line}\n" for line in lines)
        template = {"think": "think.md.j2", "write": "write.md.j2"}[phase]
        self.fixture.write(f"openspec/templates/{template}", body)
        self.fixture.commit(f"script {phase}")

    def change(self) -> Any:
        from specflow.engine.hub import Hub

        return Hub.open(self.root).change(CID)

    def new(self) -> Any:
        from specflow.engine.hub import Hub

        return Hub.open(self.root).new_change(CID)

    def think(self) -> None:
        """Advance the new change through the read-only phase."""
        self.new()
        self.script("think", "answer Notes: start with the login form.")
        self.change().advance()
        assert self.change().state == "think"

    @property
    def change_dir(self) -> Path:
        from specflow.engine.hub import Hub

        return Hub(self.root).change(CID).dir

    @property
    def worktree(self) -> Path:
        """The change's own worktree of the hub, where its agents work."""
        from specflow.engine.hub import Hub

        return Hub(self.root).worktree_of(CID)


@pytest.fixture
def chub(hub: Any, claude_binary: Path, claude_env: dict[str, str]) -> ClaudeHub:
    return ClaudeHub(hub, claude_binary, claude_env)


def assert_only_loopback(api: ScriptedAPI, trap: ScriptedAPI) -> None:
    assert api.requests
    assert {r.host for r in api.requests} == {f"127.0.0.1:{api.port}"}
    assert trap.requests == []


def agent_events(chub: ClaudeHub) -> list[dict[str, Any]]:
    return [ev for ev in chub.change().history() if isinstance(ev.get("agent"), dict)]


def git_status(root: Path) -> str:
    import subprocess

    return subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True).stdout


def test_specflow_advance_runs_explore_then_propose_inside_their_gates(
    chub: ClaudeHub,
    cli: Callable[..., tuple[int, str, str]],
    api: ScriptedAPI,
    trap: ScriptedAPI,
) -> None:
    code, _, err = cli("-C", chub.root, "new", CID)
    assert code == 0, err
    # explore (think): read-only, writes nothing; the engine records the answer
    chub.script("think", "bash cat CLAUDE.md", "bash touch scratch.txt", "answer Notes: keep it small.")
    code, out, err = cli("-C", chub.root, "advance", CID)
    assert code == 0, out + err
    assert "Bash cat CLAUDE.md" in out + err  # live progress from the stream
    assert chub.change().state == "think"
    assert (chub.change_dir / "notes.md").read_text() == "Notes: keep it small.\n"
    assert not (chub.worktree / "scratch.txt").exists()
    # the person's checkout is untouched; the change's worktree holds nothing uncommitted
    assert git_status(chub.root) == ""
    assert git_status(chub.worktree) == ""
    # propose (write): the proposal is written inside the gate, the README write is refused
    chub.script(
        "write",
        f"write openspec/changes/{CID}/proposal.md ## Why\\nUsers must log in.",
        "write README.md replaced",
        "answer Proposal written.",
    )
    code, out, err = cli("-C", chub.root, "advance", CID)
    assert code == 0, out + err
    assert chub.change().state == "write"
    assert (chub.change_dir / "proposal.md").read_text() == "## Why\nUsers must log in."
    assert not (chub.worktree / "README.md").exists()
    think, write = agent_events(chub)
    assert think["to"] == "think" and write["to"] == "write"
    for ev in (think, write):
        agent = ev["agent"]
        assert agent["adapter"] == "claude-code" and agent["status"] == "success"
        assert len(agent["session_id"]) == 36
        assert agent["cost_usd"] > 0 and agent["tokens"]["input_tokens"] > 0
        assert Path(agent["transcript"]).is_file()
    assert think["agent"]["session_id"] != write["agent"]["session_id"]  # a new phase, a new session
    assert [(r["tool"], r["target"]) for r in think["agent"]["refused_calls"]] == [("Bash", "touch scratch.txt")]
    assert [(r["tool"], r["target"], r["source"]) for r in write["agent"]["refused_calls"]] == [
        ("Write", "README.md", "hook")
    ]
    assert write["gate_violations"] == []
    # cost and tokens per phase and per change
    code, out, _ = cli("-C", chub.root, "status", CID, "--json")
    status = json.loads(out)
    cost = status["cost"]
    total = think["agent"]["cost_usd"] + write["agent"]["cost_usd"]
    assert cost["total"]["cost_usd"] == pytest.approx(total, abs=1e-6)
    assert set(cost["phases"]) == {"think", "write"}
    assert cost["total"]["tokens"]["output_tokens"] > 0
    assert_only_loopback(api, trap)


def test_with_the_hook_off_the_permission_rules_refuse(chub: ClaudeHub, api: ScriptedAPI) -> None:
    chub.think()
    chub.script("write", "write CLAUDE.md widened", f"write openspec/changes/{CID}/proposal.md ## Why\\nx", "answer ok")
    (result,) = chub.change().advance(agent="claude-nohook")
    assert result.ok, result.reasons
    assert (chub.worktree / "CLAUDE.md").read_text() == "# Hub rules\nBe careful.\n"
    (refused,) = agent_events(chub)[-1]["agent"]["refused_calls"]
    assert refused["target"] == "CLAUDE.md" and refused["source"] != "hook"
    assert "specflow gate:" not in "\n".join(r.text() for r in api.requests)


def test_a_bash_write_outside_the_gate_is_caught_and_reverted_by_the_audit(chub: ClaudeHub) -> None:
    chub.think()
    chub.script(
        "write",
        f"write openspec/changes/{CID}/proposal.md ## Why\\nx",
        "bash echo tampered >> CLAUDE.md",
        "answer ok",
    )
    with pytest.raises(PhaseFailed) as failed:
        chub.change().advance()
    assert chub.change().state == "think"
    assert (chub.worktree / "CLAUDE.md").read_text() == "# Hub rules\nBe careful.\n"
    (result,) = failed.value.results
    assert result.agent is not None and result.agent.ok  # Claude Code let Bash run it...
    assert any("wrote outside its gate" in r for r in result.reasons)  # ...the audit caught it
    event = agent_events(chub)[-1]
    assert event["outcome"] == "failed"
    assert [v["path"] for v in event["gate_violations"]] == ["CLAUDE.md"]


def test_project_settings_allowing_everything_do_not_widen_the_gate(chub: ClaudeHub, claude_home: Path) -> None:
    chub.fixture.write(
        ".claude/settings.json",
        json.dumps(
            {
                "permissions": {"allow": ["Edit", "Write", "Bash", "Edit(//**)"], "defaultMode": "bypassPermissions"},
                "disableAllHooks": True,
            }
        ),
    )
    chub.fixture.commit("project settings")
    (claude_home / ".claude.json").write_text(
        json.dumps({"projects": {str(chub.worktree): {"hasTrustDialogAccepted": True}}})
    )
    chub.think()
    chub.script("write", "write CLAUDE.md widened", f"write openspec/changes/{CID}/proposal.md ## Why\\nx", "answer ok")
    (with_hook,) = chub.change().advance()
    assert with_hook.ok, with_hook.reasons
    chub.change().trigger("reject")  # back to think, then the same phase with the hook off
    (without_hook,) = chub.change().advance(agent="claude-nohook")
    assert without_hook.ok, without_hook.reasons
    assert (chub.worktree / "CLAUDE.md").read_text() == "# Hub rules\nBe careful.\n"
    refused = [ev["agent"]["refused_calls"] for ev in agent_events(chub) if ev["to"] == "write"]
    assert [[(r["target"], r["source"] == "hook") for r in calls] for calls in refused] == [
        [("CLAUDE.md", True)],
        [("CLAUDE.md", False)],
    ]


def test_a_retry_resumes_the_failed_session_and_fresh_starts_a_new_one(chub: ClaudeHub, api: ScriptedAPI) -> None:
    chub.think()
    chub.script("write", "bash echo marker-of-attempt-one", "loop")
    with pytest.raises(PhaseFailed) as first:
        chub.change().advance(agent="claude-short")
    assert chub.change().state == "think"  # max turns: a failed attempt, state unchanged
    assert any("turn limit (2)" in r for r in first.value.results[-1].reasons)
    failed_session = agent_events(chub)[-1]["agent"]["session_id"]
    # a retry without --fresh resumes: the server sees the first attempt's conversation
    chub.script("write", "bash echo marker-of-attempt-two", "loop")
    api.clear()
    with pytest.raises(PhaseFailed):
        chub.change().advance(agent="claude-short")
    assert agent_events(chub)[-1]["agent"]["session_id"] == failed_session
    assert "marker-of-attempt-one" in "\n".join(r.text() for r in api.requests)
    # --fresh: a new session that knows nothing of the earlier attempts
    chub.script("write", f"write openspec/changes/{CID}/proposal.md ## Why\\nfresh", "answer ok")
    api.clear()
    (result,) = chub.change().advance(agent="claude-short", fresh=True)
    assert result.ok, result.reasons
    assert agent_events(chub)[-1]["agent"]["session_id"] != failed_session
    assert "marker-of-attempt" not in "\n".join(r.text() for r in api.requests)
    assert chub.change().state == "write"


def test_a_hang_is_killed_at_the_time_limit_and_the_state_is_unchanged(chub: ClaudeHub, run_marker: str) -> None:
    chub.new()
    chub.script("think", "hang")
    started = time.monotonic()
    with pytest.raises(PhaseFailed) as failed:
        chub.change().advance(agent="claude-quick")
    assert time.monotonic() - started < 15
    assert chub.change().state == "draft"
    reasons = failed.value.results[-1].reasons
    assert reasons == [
        "agent claude-quick: Claude Code did not finish within the time limit of 3 s; it and every process"
        " it started were killed"
    ]
    assert agent_events(chub)[-1]["agent"]["status"] == "timeout"
    assert processes_with(run_marker) == []


@pytest.fixture
def budget_hub(chub: ClaudeHub) -> ClaudeHub:
    mini = (chub.root / "openspec" / "workflows" / "mini.yaml").read_text(encoding="utf-8")
    budgeted = mini.replace("workflow: mini", "workflow: budgeted").replace(
        'given: [the file "notes.md" exists]',
        'given: [the file "notes.md" exists, the change has cost less than $0.000001]',
    )
    assert budgeted != mini
    chub.fixture.write("openspec/workflows/budgeted.yaml", budgeted)
    chub.fixture.commit("budgeted workflow")
    return chub


def test_a_spent_budget_blocks_the_next_phase(budget_hub: ClaudeHub) -> None:
    from specflow.engine.hub import Hub

    Hub.open(budget_hub.root).new_change(CID, workflow="budgeted")
    budget_hub.script("think", "answer Notes.")
    budget_hub.change().advance()
    spent = agent_events(budget_hub)[-1]["agent"]["cost_usd"]
    with pytest.raises(GuardFailed) as blocked:
        budget_hub.change().advance()
    assert budget_hub.change().state == "think"
    message = str(blocked.value)
    assert (
        f"the change has cost ${spent:.4f} (think ${spent:.4f}), which is not less than its budget of $1e-06" in message
    )


def test_per_phase_settings_in_the_workflow_beat_the_agents(chub: ClaudeHub, api: ScriptedAPI) -> None:
    from specflow.engine.hub import Hub

    mini = (chub.root / "openspec" / "workflows" / "mini.yaml").read_text(encoding="utf-8")
    tuned = mini.replace(
        "    record: notes.md\n",
        "    record: notes.md\n    agent: claude-short\n    model: claude-phase-model\n    max_turns: 1\n",
    )
    assert tuned != mini
    chub.fixture.write("openspec/workflows/mini.yaml", tuned)
    chub.fixture.commit("per-phase agent settings")
    Hub.open(chub.root).new_change(CID)
    # claude-short allows 2 turns; the phase allows 1, so the second tool call is one turn too many
    chub.script("think", "bash true", "bash true", "answer Notes.")
    with pytest.raises(PhaseFailed) as failed:
        chub.change().advance()
    assert chub.change().state == "draft"
    event = agent_events(chub)[-1]
    assert event["agent"]["name"] == "claude-short"
    assert event["agent"]["status"] == "error" and event["agent"]["num_turns"] >= 1
    assert "agent claude-short: Claude Code reached the turn limit (1) before finishing" in str(failed.value)
    models = {str((r.body or {}).get("model")) for r in api.requests if r.path.startswith("/v1/messages") and r.body}
    assert "claude-phase-model" in models, models


def test_the_final_answer_is_in_history_even_when_the_phase_fails(chub: ClaudeHub) -> None:
    chub.think()
    chub.script("write", "answer I could not decide what to propose.")
    with pytest.raises(PhaseFailed):
        chub.change().advance()
    events = agent_events(chub)
    assert events[0]["agent"]["final_text"] == "Notes: start with the login form."
    assert events[-1]["outcome"] == "failed"
    assert events[-1]["agent"]["final_text"] == "I could not decide what to propose."


def test_claude_code_starts_before_the_checkpoint_and_gets_its_prompt_only_after_it(
    chub: ClaudeHub, api: ScriptedAPI
) -> None:
    # its runtime loads while the checkpoint is taken; with no prompt it asks nothing, writes nothing
    chub.think()
    chub.script("write", f"write openspec/changes/{CID}/proposal.md ## Why\\nx", "answer ok")
    asked_before = len(api.requests)
    at_checkpoint: dict[str, Any] = {}

    def on_event(ev: Any) -> None:
        if ev.kind == "phase" and ev.message.startswith("checkpoint #"):
            at_checkpoint["running"] = processes_with(CID, "SPECFLOW_CHANGE")
            at_checkpoint["asked"] = len(api.requests)

    (result,) = chub.change().advance(on_event=on_event)
    assert result.ok, result.reasons
    assert at_checkpoint["running"], "Claude Code was not started ahead of the checkpoint"
    assert at_checkpoint["asked"] == asked_before, "Claude Code had its prompt before the checkpoint"
    assert len(api.requests) > asked_before
    # the checkpoint is the workspace before the agent: the audit finds the proposal new and inside
    event = agent_events(chub)[-1]
    assert event["gate_violations"] == [] and event["checkpoint"]["number"] >= 1
    assert (chub.change_dir / "proposal.md").read_text() == "## Why\nx"
