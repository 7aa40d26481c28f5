"""The built-in prompts carry what the design promises: CLAUDE.md layers (hub first, then each
affected repo), OpenSpec's project context and rules, the change's artifacts, the previous
phase's record and the gate -- rendered for the example hub the demo ships."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from specflow.demo.example_hub import copy_example
from specflow.engine.hub import Hub

CliRunner = Callable[..., tuple[int, str, str]]
CID = "add-greeting-endpoint"


@pytest.fixture
def example(tmp_path: Path, cli: CliRunner) -> Path:
    paths = copy_example(tmp_path / "demo")
    hub = paths["hub"]
    code, _, err = cli("-C", hub, "new", CID, "--repo", "api", "--repo", "bot", "--goal", "Serve greetings over HTTP")
    assert code == 0, err
    return hub


def test_the_explore_prompt_has_the_goal_the_claude_md_layers_and_the_openspec_context(
    example: Path, cli: CliRunner
) -> None:
    code, out, err = cli("-C", example, "prompt", CID)
    assert code == 0, err
    assert out.startswith(f"# Explore: {CID}\n")
    assert "Serve greetings over HTTP" in out
    hub_md = (example / "CLAUDE.md").read_text(encoding="utf-8").strip().splitlines()[0]
    api_md = (example.parent / "api" / "CLAUDE.md").read_text(encoding="utf-8").strip().splitlines()[0]
    bot_md = (example.parent / "bot" / "CLAUDE.md").read_text(encoding="utf-8").strip().splitlines()[0]
    assert hub_md in out and api_md in out and bot_md in out
    assert out.index(hub_md) < out.index(api_md) < out.index(bot_md)  # the hub's rules first
    assert "Greeter is a small product made of two repos beside this hub" in out  # openspec/config.yaml
    assert "read-only" in out.lower()  # the gate, in plain words


def test_the_propose_prompt_has_the_previous_record_and_the_rules(example: Path, cli: CliRunner) -> None:
    code, out, err = cli("-C", example, "advance", CID)  # the scripted demo agent explores
    assert code == 0, out + err
    notes = (Hub.open(example).change(CID).dir / "exploration.md").read_text(encoding="utf-8")
    recommendation = next(line for line in notes.splitlines() if line.startswith("Option 1."))
    code, out, err = cli("-C", example, "prompt", CID)
    assert code == 0, err
    assert out.startswith(f"# Propose: {CID}\n")
    assert recommendation in out  # the explore phase's record, handed to the next phase
    assert "Name the repos the change touches under Impact." in out  # rules.proposal
    assert "Group tasks by repo, and give every code task a test task." in out  # rules.tasks
    assert f"openspec/changes/{CID}/" in out  # the gate: the change's folder only


def test_the_apply_prompt_has_the_artifacts(example: Path, cli: CliRunner) -> None:
    change = Hub.open(example).change(CID).dir  # on its branch, in its own worktree of the hub
    (change / "proposal.md").write_text("## Why\nUNIQUE-WHY-91c: greetings.\n\n## What Changes\n- GET /greet\n")
    (change / "tasks.md").write_text("## 1. API\n- [ ] 1.1 UNIQUE-TASK-5d2 add the route\n")
    code, out, err = cli("-C", example, "prompt", CID, "--state", "apply")
    assert code == 0, err
    assert out.startswith(f"# Apply: {CID}\n")
    assert "UNIQUE-WHY-91c" in out and "UNIQUE-TASK-5d2" in out
