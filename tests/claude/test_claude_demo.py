"""``specflow demo --agent claude-code``: the whole demo on the REAL Claude Code binary.

The model is the scripted Messages API on 127.0.0.1.  The demo's prompts are the built-in
templates, so the server follows a playbook keyed on each prompt's heading: the explore phase
answers with the notes the scripted demo agent would write (Claude Code may write nothing
there), and every writing phase has Claude Code run the scripted demo agent through its Bash
tool, with the phase's prompt on stdin.  So the real binary runs each phase inside its gate,
its session and cost are recorded, and the apply phase's first attempt writes a living spec
outside the gate, which the audit puts back before the retry succeeds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from specflow.demo.agent_explore import explore
from specflow.demo.agent_tools import Run
from specflow.demo.run import CHANGE_ID
from tests.claude.scripted_api import ScriptedAPI

pytestmark = pytest.mark.claude_cli

DemoRun = tuple[subprocess.CompletedProcess[str], Path, list[str]]
HEADING = re.compile(r"^# (Explore|Propose|Apply|Archive): (\S+)\s*$", re.MULTILINE)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def demo_playbook(hub: Path, prompts: Path) -> Callable[[str], list[str] | None]:
    """The directives for each phase prompt of the demo; None for any other text."""

    def playbook(text: str) -> list[str] | None:
        found = HEADING.search(text)
        if found is None or found.group(2) != CHANGE_ID:
            return None
        phase = found.group(1).lower()
        if phase == "explore":
            run = Run(phase=phase, change_id=CHANGE_ID, hub=hub, cwd=hub, gate={}, prompt=text)
            return ["answer " + explore(run).replace("\n", "\\n")]
        prompt = prompts / f"{phase}-{hashlib.sha256(text.encode()).hexdigest()[:16]}.md"
        prompt.write_text(text, encoding="utf-8")
        command = f"{shlex.quote(sys.executable)} -m specflow.demo.agent < {shlex.quote(str(prompt))}"
        return [f"bash {command}", f"answer The {phase} phase is done."]

    return playbook


@pytest.fixture(scope="module")
def claude_demo(tmp_path_factory: pytest.TempPathFactory, claude_binary: Path) -> DemoRun:
    from tests.claude.scripted_api import quiet_env

    base = tmp_path_factory.mktemp("claude-demo")
    root = base / "specflow-demo"
    prompts = base / "prompts"
    prompts.mkdir()
    home = base / "home"
    for sub in ("tmp", "run"):
        (home / sub).mkdir(parents=True)
    with ScriptedAPI() as api, ScriptedAPI() as trap:
        api.use_playbook(demo_playbook(root / "hub", prompts))
        env = {
            **os.environ,
            **quiet_env(api.url, str(home), proxy=trap.url),
            "SPECFLOW_CLAUDE": str(claude_binary),
            "XDG_DATA_HOME": str(base / "xdg"),
            "NO_COLOR": "1",
        }
        proc = subprocess.run(
            [sys.executable, "-m", "specflow", "demo", "--dir", str(root), "--agent", "claude-code"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        hosts = [r.host for r in api.requests] + [f"trap:{r.method} {r.host}{r.path}" for r in trap.requests]
    return proc, root, hosts


def _events(root: Path) -> list[dict[str, object]]:
    archived = root / "hub" / "openspec" / "changes" / "archive" / f"{date.today().isoformat()}-{CHANGE_ID}"
    lines = (archived / ".specflow" / "history.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_the_demo_runs_to_the_end_on_claude_code(claude_demo: DemoRun) -> None:
    proc, _, hosts = claude_demo
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Done in" in proc.stdout
    assert "claude-code" in proc.stdout
    # the agent's long answer is one progress line; the whole of it is saved as exploration.md
    assert f"text: # Exploration: {CHANGE_ID} (+" in proc.stdout
    assert "## Open questions" not in proc.stdout
    assert "refused:" in proc.stdout
    assert "Traceback" not in proc.stderr
    # every request the binary made went to the scripted server, none through the trap proxy
    assert hosts and all(h.startswith("127.0.0.1:") for h in hosts), hosts


def test_every_phase_ran_in_a_claude_code_session(
    claude_demo: DemoRun,
) -> None:
    proc, root, _ = claude_demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    attempts = [e for e in _events(root) if e.get("agent")]
    phases = [(e["to"], e["outcome"]) for e in attempts]
    assert phases == [
        ("explore", "succeeded"),
        ("propose", "succeeded"),
        ("apply", "failed"),
        ("apply", "succeeded"),
        ("archive", "succeeded"),
    ], phases
    for event in attempts:
        agent = event["agent"]
        assert isinstance(agent, dict)
        assert agent["adapter"] == "claude-code", agent
        assert agent["status"] == "success" and agent["session_id"] and agent["num_turns"] >= 1
        assert agent["cost_usd"] is not None and sum(agent["tokens"].values()) > 0, agent
        assert agent["tool_calls"] >= (0 if event["to"] == "explore" else 1), agent


def test_the_out_of_gate_spec_edit_was_put_back_and_the_change_archived(
    claude_demo: DemoRun,
) -> None:
    proc, root, _ = claude_demo
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hub = root / "hub"
    failed = next(e for e in _events(root) if e.get("to") == "apply" and e.get("outcome") == "failed")
    violations = failed.get("gate_violations")
    assert isinstance(violations, list)
    assert any(str(v["path"]).endswith("openspec/specs/greetings/spec.md") for v in violations), violations
    # the spec changed only once, at archive: its history is the initial commit and the archive
    log = git(hub, "log", "--format=%s", "--", "openspec/specs/greetings/spec.md").splitlines()
    assert log == [f"specflow({CHANGE_ID}): archive, attempt 1", "hub: initial commit"], log
    spec = (hub / "openspec" / "specs" / "greetings" / "spec.md").read_text(encoding="utf-8")
    assert "### Requirement: Greeting endpoint" in spec
    notes = (
        hub / "openspec" / "changes" / "archive" / f"{date.today().isoformat()}-{CHANGE_ID}" / "exploration.md"
    ).read_text(encoding="utf-8")
    assert notes.startswith(f"# Exploration: {CHANGE_ID}")
    for repo in ("api", "bot"):
        assert CHANGE_ID in git(root / repo, "log", "--merges", "--format=%s", "main")
        assert not git(root / repo, "status", "--porcelain").strip()
