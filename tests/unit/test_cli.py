"""The CLI as a user sees it: messages, exit codes, nothing written on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from specflow.cli.main import YOUNG_COLLECTED_AFTER
from specflow.engine.board import build_card
from specflow.engine.hub import Hub
from tests.conftest import HubFixture, git

CRASH = "import sys\nsys.stdin.read()\nprint('model overloaded', file=sys.stderr)\nsys.exit(2)\n"
HANG = "import sys, time\nsys.stdin.read()\ntime.sleep(60)\n"
NOTES = "import sys\nsys.stdin.read()\nprint('some notes')\n"


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` git would see (not .git, not the ignored .specflow/ caches)."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in (".git", ".specflow")
    }


def test_version_and_help(cli: Any) -> None:
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("specflow ")
    code, out, _ = cli("--help")
    assert code == 0 and "advance" in out and "workflows" in out


def test_unknown_command_is_a_usage_error(cli: Any) -> None:
    code, _, err = cli("advnce", "x")
    assert code == 2
    assert "unknown command 'advnce' (did you mean 'advance'?)" in err


def test_python_dash_m_works(hub: HubFixture) -> None:
    out = subprocess.run([sys.executable, "-m", "specflow", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("specflow ")


def test_no_hub_found(tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("status")
    assert code == 1
    assert "no hub found at or above" in err and "fix: run 'specflow init'" in err


def test_init_creates_openspec_like_openspec_init(tmp_path: Path, cli: Any) -> None:
    code, out, _ = cli("init", tmp_path / "h")
    assert code == 0
    for rel in (
        "openspec/specs/.gitkeep",
        "openspec/changes/archive/.gitkeep",
        "openspec/config.yaml",
        "specflow.yaml",
    ):
        assert (tmp_path / "h" / rel).is_file(), rel
    code, out, _ = cli("init", tmp_path / "h")
    assert "already a specflow hub" in out


@pytest.mark.parametrize(
    ("cid", "rule"),
    [
        ("../x", "Change name cannot contain path separators or '..'"),
        ("A", "Change name must be lowercase"),
        ("a--b", "Change name cannot contain consecutive hyphens"),
        ("a-", "Change name cannot end with a hyphen"),
        ("a_b", "Change name cannot contain underscores"),
    ],
)
def test_invalid_change_ids_are_refused_with_the_rule(hub: HubFixture, cli: Any, cid: str, rule: str) -> None:
    before = tree(hub.root)
    code, _, err = cli("-C", hub.root, "new", cid)
    assert code == 1
    assert f"error: invalid change id '{cid}': " in err and rule in err
    assert tree(hub.root) == before


def test_new_change_records_draft_state(hub: HubFixture, cli: Any) -> None:
    code, _out, err = cli("-C", hub.root, "new", "add-login", "--goal", "Let users log in")
    assert code == 0, err
    d = hub.change_dir("add-login")
    assert 'goal: "Let users log in"' in (d / ".openspec.yaml").read_text()
    state = json.loads((d / ".specflow" / "state.json").read_text())
    assert state["state"] == "draft" and state["workflow"] == "mini"
    code, _, err = cli("-C", hub.root, "new", "add-login")
    assert code == 1 and "change 'add-login' already exists" in err


def test_malformed_workflow_yaml(hub: HubFixture, cli: Any) -> None:
    (hub.root / "openspec" / "workflows" / "mini.yaml").write_text("workflow: mini\nstates: [\n  draft\n")
    before = tree(hub.root)
    code, _, err = cli("-C", hub.root, "new", "add-login")
    assert code == 1
    assert err == (
        f"error: {hub.root}/openspec/workflows/mini.yaml:4: malformed YAML: expected ',' or ']', but got"
        " '<stream end>'\n  fix: fix the YAML syntax at that line (indentation, a missing ':' or quote)\n"
    )
    assert tree(hub.root) == before


def test_malformed_config(hub: HubFixture, cli: Any) -> None:
    (hub.root / "specflow.yaml").write_text(
        "default_agent: scripted\nagents:\n  x:\n    adapter: command\n    comand: [a]\n"
    )
    code, _, err = cli("-C", hub.root, "new", "add-login")
    assert code == 1
    assert err.startswith(
        f"error: {hub.root}/specflow.yaml:5: agents.x: unknown key 'comand' (did you mean 'command'?)"
    )


def test_workflows_validate_reports_file_line_and_key(hub: HubFixture, cli: Any, tmp_path: Path) -> None:
    bad = tmp_path / "team.yaml"
    bad.write_text(
        (hub.root / "openspec" / "workflows" / "mini.yaml").read_text().replace("record: notes.md", "recrod: notes.md")
    )
    code, _, err = cli("-C", hub.root, "workflows", "validate", bad)
    assert code == 1
    assert f"{bad}:10: states.think: unknown key 'recrod' (did you mean 'record'?)" in err
    code, out, _ = cli("-C", hub.root, "workflows", "validate", hub.root / "openspec" / "workflows" / "mini.yaml")
    assert code == 0 and "is valid: 4 states, 4 scenarios" in out


def test_corrupted_state_file(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    state = hub.change_dir("add-login") / ".specflow" / "state.json"
    state.write_text('{"state": ')
    code, _, err = cli("-C", hub.root, "advance", "add-login")
    assert code == 1
    assert f"error: {state}:1: corrupted state file" in err
    assert "fix: restore it from git" in err
    assert state.read_text() == '{"state": '


def test_unknown_agent(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    records = hub.change_dir("add-login") / ".specflow"
    before = {p.name: p.read_bytes() for p in records.iterdir()}
    code, _, err = cli("-C", hub.root, "advance", "add-login", "--agent", "nobody")
    assert code == 1
    assert err.startswith("error: unknown agent 'nobody' (known: claude-code, command")
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in records.iterdir()} == before  # refused before anything ran


def test_claude_code_missing_says_how_to_install_it(
    hub: HubFixture, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    only_git = tmp_path / "path-with-git-only"
    only_git.mkdir()
    (only_git / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(only_git))
    monkeypatch.delenv("SPECFLOW_CLAUDE", raising=False)
    monkeypatch.setattr("specflow.agents.claude.binary.bundled_binary", lambda: None)
    cli("-C", hub.root, "new", "add-login")
    code, _, err = cli("-C", hub.root, "advance", "add-login", "--agent", "claude-code")
    assert code == 1
    assert "agent claude-code: Claude Code is not installed" in err
    assert "fix: install Claude Code (npm install -g @anthropic-ai/claude-code, or pip install claude-agent-sdk" in err
    state = json.loads((hub.change_dir("add-login") / ".specflow" / "state.json").read_text())
    assert state["state"] == "draft" and state["in_flight"] is None


def test_unknown_change(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    code, _, err = cli("-C", hub.root, "advance", "add-logn")
    assert code == 1
    assert "no change 'add-logn'" in err and "(did you mean 'add-login'?)" in err


def test_agent_crash_is_a_failed_attempt(hub: HubFixture, cli: Any) -> None:
    hub.agent("scripted", CRASH)
    cli("-C", hub.root, "new", "add-login")
    code, _, err = cli("-C", hub.root, "advance", "add-login")
    assert code == 1
    assert "phase 'think' of 'add-login' failed; the change stays in 'draft'" in err
    assert "agent scripted: the agent exited with code 2: model overloaded" in err
    state = json.loads((hub.change_dir("add-login") / ".specflow" / "state.json").read_text())
    assert state["state"] == "draft" and state["in_flight"] is None
    assert state["last_failure"]["reasons"] == ["agent scripted: the agent exited with code 2: model overloaded"]
    assert not (hub.change_dir("add-login") / "notes.md").exists()


def test_agent_timeout_is_a_failed_attempt(hub: HubFixture, cli: Any) -> None:
    hub.agent("scripted", HANG, timeout=1)
    cli("-C", hub.root, "new", "add-login")
    code, _, err = cli("-C", hub.root, "advance", "add-login")
    assert code == 1
    assert "agent scripted: the agent did not finish within 1 s and was killed" in err
    state = json.loads((hub.change_dir("add-login") / ".specflow" / "state.json").read_text())
    assert state["state"] == "draft" and state["in_flight"] is None
    assert state["last_failure"]["reasons"] == ["agent scripted: the agent did not finish within 1 s and was killed"]
    assert not (hub.change_dir("add-login") / "notes.md").exists()


def test_template_error_names_the_template_and_line(hub: HubFixture, cli: Any) -> None:
    hub.agent("scripted", NOTES)
    hub.write("openspec/templates/think.md.j2", "Think.\n{{ change.nonexistent_field }}\n")
    cli("-C", hub.root, "new", "add-login")
    records = hub.change_dir("add-login") / ".specflow"
    before = {p.name: p.read_bytes() for p in records.iterdir()}
    code, out, err = cli("-C", hub.root, "advance", "add-login")
    assert code == 1
    assert f"{hub.root}/openspec/templates/think.md.j2:2: undefined variable" in err
    assert "nonexistent_field" in err
    assert "Traceback" not in err and "agent's in-gate work" not in err
    # nothing ran, so nothing is recorded: no attempt in history, no checkpoint, the state as it was
    assert {p.name: p.read_bytes() for p in records.iterdir()} == before
    assert json.loads((records / "state.json").read_text())["state"] == "draft"
    code, out, _ = cli("-C", hub.root, "checkpoints", "add-login", "--json")
    assert code == 0 and json.loads(out) == []


def test_dry_run_shows_steps_and_prompt_and_writes_nothing(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    before = tree(hub.root)
    code, out, err = cli("-C", hub.root, "advance", "add-login", "--dry-run")
    assert code == 0, err
    assert "dry run: draft -> think" in out
    assert "ok  given the change exists" in out
    assert "Think about add-login in phase think." in out
    assert tree(hub.root) == before


def test_graph_and_prompt(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    code, out, _ = cli("-C", hub.root, "graph", "add-login")
    assert code == 0 and "class draft current" in out and "write --> think: reject" in out
    code, out, _ = cli("-C", hub.root, "prompt", "add-login")
    assert code == 0 and "Read-only" in out


def test_status_table_and_json(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    code, out, _ = cli("-C", hub.root, "status")
    assert code == 0
    assert out.splitlines()[0].split() == [
        "change",
        "workflow",
        "state",
        "status",
        "phase",
        "tasks",
        "cost",
        "tokens",
        "last",
        "activity",
        "(UTC)",
        "ran",
        "on",
        "next",
    ]
    row = out.splitlines()[1]
    assert row.split()[:5] == ["add-login", "mini", "draft", "ok", "0/3"]
    assert row.split()[-1] == "advance"
    code, out, _ = cli("-C", hub.root, "status", "--json")
    data = json.loads(out)
    assert data["changes"][0]["id"] == "add-login" and data["changes"][0]["state"] == "draft"
    assert data["changes"][0]["next"] == {
        "action": "advance",
        "command": "specflow advance add-login",
        "why": "next: think",
    }


def test_show_and_status_give_cost_per_phase(hub: HubFixture, cli: Any) -> None:
    from specflow.changestate.records import append_event

    cli("-C", hub.root, "new", "add-login")
    d = hub.change_dir("add-login")
    (d / "proposal.md").write_text(
        "## Why\nUsers must be able to log in to see their data.\n\n## What Changes\n- login\n"
    )
    (d / "specs" / "auth").mkdir(parents=True)
    (d / "specs" / "auth" / "spec.md").write_text(
        "## ADDED Requirements\n### Requirement: Login\nThe system SHALL let users log in.\n\n"
        "#### Scenario: Works\n- **WHEN** a user logs in\n- **THEN** it works\n"
    )
    for cost in (0.25, 0.5):
        append_event(
            d,
            {
                "trigger": "advance",
                "from": "draft",
                "to": "think",
                "outcome": "failed",
                "agent": {"name": "c", "cost_usd": cost, "tokens": {"input_tokens": 100, "output_tokens": 7}},
            },
        )
    code, out, err = cli("-C", hub.root, "show", "add-login")
    assert code == 0, err
    assert out.startswith("## Why\nUsers must be able to log in")
    think = next(line.split() for line in out.splitlines() if line.startswith("think"))
    assert think == ["think", "2", "$0.7500", "200/14", "0.0s"]
    code, out, _ = cli("-C", hub.root, "show", "add-login", "--json")
    doc = json.loads(out)
    assert doc["id"] == "add-login"
    assert doc["specflow"]["state"] == "draft"
    assert doc["specflow"]["cost"]["total"]["cost_usd"] == 0.75
    code, out, _ = cli("-C", hub.root, "status")
    row = out.splitlines()[1].split()
    assert row[6:8] == ["$0.75", "214"], row  # cost and tokens of the change


ESCAPE_AND_HANG = (
    "import os, pathlib, sys, time\nsys.stdin.read()\n"
    "if 'AGENT_PIDFILE' not in os.environ:\n    print('notes')\n    raise SystemExit(0)\n"
    "pathlib.Path(os.environ['SPECFLOW_HUB'], 'outside.txt').write_text('sneaky')\n"
    "pathlib.Path(os.environ['AGENT_PIDFILE']).write_text(str(os.getpid()))\n"
    "time.sleep(60)\n"
)


def _start_escaping_advance(hub: HubFixture, tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    import os
    import time

    hub.agent("scripted", ESCAPE_AND_HANG)
    pidfile = tmp_path / "agent.pid"
    subprocess.run([sys.executable, "-m", "specflow", "-C", str(hub.root), "new", "add-login"], check=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "specflow", "-C", str(hub.root), "advance", "add-login"],
        env={**os.environ, "AGENT_PIDFILE": str(pidfile)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pidfile.exists(), "the agent never started"
    assert (hub.worktree("add-login") / "outside.txt").exists()
    return proc, pidfile


def test_a_terminated_run_still_puts_back_out_of_gate_writes(hub: HubFixture, tmp_path: Path, cli: Any) -> None:
    import signal

    proc, _ = _start_escaping_advance(hub, tmp_path)
    outside = (hub.worktree("add-login") / "outside.txt").read_text()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert not (hub.worktree("add-login") / "outside.txt").exists()
    saved = "refs/specflow/rejected/add-login/1/files/hub"
    assert git(hub.root, "show", f"{saved}:outside.txt") == outside  # saved before it was removed
    code, _, err = cli("-C", hub.root, "advance", "add-login")  # the recovery names the save
    assert code == 0, err
    events = [
        json.loads(line) for line in (hub.change_dir("add-login") / ".specflow/history.jsonl").read_text().splitlines()
    ]
    interrupted = next(e for e in events if e["outcome"] == "interrupted")
    assert interrupted["rejected"]["refs"] == {"hub": saved}
    assert interrupted["rejected"]["command"] == "specflow restore add-login --checkpoint 1"


def test_a_killed_run_is_audited_by_the_next_advance(hub: HubFixture, tmp_path: Path, cli: Any) -> None:
    import contextlib
    import os
    import signal

    proc, pidfile = _start_escaping_advance(hub, tmp_path)
    proc.kill()  # SIGKILL: no chance to clean up
    proc.communicate(timeout=30)
    with contextlib.suppress(ProcessLookupError):  # specflow's death normally ends the agent already
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
    assert (hub.worktree("add-login") / "outside.txt").exists()
    code, _, err = cli("-C", hub.root, "advance", "add-login")
    assert code == 0, err
    assert not (hub.worktree("add-login") / "outside.txt").exists()
    events = [
        json.loads(line) for line in (hub.change_dir("add-login") / ".specflow/history.jsonl").read_text().splitlines()
    ]
    interrupted = next(e for e in events if e["outcome"] == "interrupted")
    assert [v["path"] for v in interrupted["gate_violations"]] == ["outside.txt"]
    saved = "refs/specflow/rejected/add-login/1/files/hub"
    assert interrupted["gate_violations"][0]["saved"] == saved
    assert interrupted["rejected"]["command"] == "specflow restore add-login --checkpoint 1"
    assert git(hub.root, "show", f"{saved}:outside.txt") != ""


def test_long_agent_text_is_one_progress_line() -> None:
    from specflow.cli.render import compact_text

    notes = "\n# Exploration: add-x\n\n## Problem\nThe login form has no rate limit.\n"
    assert compact_text(notes) == "# Exploration: add-x (+2 more lines)"
    assert compact_text("done") == "done"
    assert compact_text("a\nb") == "a (+1 more line)"
    assert compact_text("x" * 300) == "x" * 159 + "…"
    assert compact_text("  \n ") == ""


def test_token_counts_are_shortened_in_the_status_table() -> None:
    from specflow.cli.commands.status import _fmt_tokens

    def st(**tokens: int) -> dict[str, Any]:
        return {"cost": {"total": {"tokens": tokens}}}

    assert _fmt_tokens(st()) == "-"
    assert _fmt_tokens(st(input_tokens=120, output_tokens=30)) == "150"
    assert _fmt_tokens(st(input_tokens=12_000, cache_read_input_tokens=345)) == "12.3k"
    assert _fmt_tokens(st(input_tokens=2_500_000)) == "2.5M"


# -- global options anywhere, JSON errors ----------------------------------------------------


def test_global_options_go_before_or_after_the_command(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    before = cli("-C", hub.root, "--no-color", "status", "add-login")
    after = cli("status", "add-login", "--no-color", "-C", hub.root)
    assert before == after and before[0] == 0 and "add-login" in before[1]
    # --json before the command is the command's --json
    code, out, _ = cli("--json", "-C", hub.root, "status")
    assert code == 0 and [c["id"] for c in json.loads(out)["changes"]] == ["add-login"]


def test_usage_errors_name_the_command_and_are_json_with_json(hub: HubFixture, cli: Any) -> None:
    code, out, err = cli("-C", hub.root, "status", "--bogus")
    assert (code, out) == (2, "")
    assert err.endswith("specflow status: error: unrecognized arguments: --bogus\n")
    assert err.startswith("usage: specflow status ")
    code, out, err = cli("-C", hub.root, "trigger", "--json")
    assert (code, err) == (2, "")
    assert json.loads(out) == {
        "error": "the following arguments are required: id, name",
        "fix": "run 'specflow trigger --help' for its usage",
        "exit_code": 2,
    }
    code, out, err = cli("-C", hub.root, "advance", "--json")  # no id, and not in a change's worktree
    assert (code, err) == (2, "")
    assert json.loads(out) == {
        "error": f"'specflow advance' needs a change id: none was given, and {hub.root} is not inside a"
        " change's worktree",
        "fix": "name the change: specflow advance ID ('specflow status' lists them), or run it in the"
        " change's worktree",
        "exit_code": 2,
    }


def test_an_internal_error_is_json_with_json(hub: HubFixture, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import specflow.cli.commands.status as cmd_status

    def boom(args: Any, ctx: Any) -> int:
        raise RuntimeError("boom in status")

    monkeypatch.setattr(cmd_status, "run", boom)
    code, out, err = cli("-C", hub.root, "status", "--json")
    assert (code, err) == (3, "")
    assert json.loads(out) == {
        "error": "internal error: RuntimeError: boom in status",
        "fix": "this is a bug in specflow; run again with --debug for the traceback and report it",
        "exit_code": 3,
    }


def test_help_lists_each_command_once_in_its_group_with_an_example(cli: Any) -> None:
    from specflow.cli.main import COMMANDS, GROUPS

    code, out, _ = cli("--help")
    assert code == 0
    assert list(GROUPS) == ["changes", "review", "OpenSpec", "setup"]
    for group in GROUPS:
        assert f"\n{group}:\n" in out
    for name, cmd in COMMANDS.items():
        assert out.count(f"\n  {name} ") == 1, name
        assert f"$ {cmd.example}\n" in out
        assert cmd.example.startswith(("specflow ", 'eval "$(specflow '))
    code, out, _ = cli("diff", "--help")
    assert code == 0 and out.endswith("example:\n  $ specflow diff add-login --stat\n")
    assert "global options:\n  -C HUB" in out


def test_a_broken_state_file_shows_as_broken_on_the_board_and_in_status_json(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    cli("-C", hub.root, "new", "fix-typo")
    state = hub.change_dir("add-login") / ".specflow" / "state.json"
    state.write_text('{"state": 3}\n')
    opened = Hub.open(hub.root)
    card = build_card(opened.change("add-login"))
    assert card.status == "broken" and f"{state}:1: corrupted state file" in card.needs_reason
    assert build_card(opened.change("fix-typo")).status == "ok"
    code, out, _ = cli("-C", hub.root, "status", "--json")
    assert code == 0
    by_id = {c["id"]: c for c in json.loads(out)["changes"]}
    assert by_id["add-login"]["status"] == "broken" and by_id["add-login"]["next"]["action"] == "repair"
    assert "'state' is a number (3), expected a string" in by_id["add-login"]["error"]
    assert by_id["fix-typo"]["state"] == "draft"


COLLECTOR_SPY = """\
import atexit, gc, sys
from specflow.cli import main as cli
seen = []
build = cli.build_parser
def watched(command, **kw):
    seen.append(gc.isenabled())
    return build(command, **kw)
cli.build_parser = watched
cli.main(["status", "--help"])
young = gc.get_threshold()[0]
sys.argv = ["specflow", "status", "--help"]
# the command ends the process: an exit handler (it runs every one) reports what it left
atexit.register(
    lambda: print("RESULT", seen, gc.isenabled(), gc.get_freeze_count() > 0, young, gc.get_threshold()[0])
)
from specflow.cli.start import entry
entry()
"""


def test_the_command_imports_with_the_collector_paused_then_collects_again(tmp_path: Path) -> None:
    # main() in a caller's process leaves the collector alone; the command's own process pauses it
    # while the command's modules load, then freezes what they made and collects again, its
    # youngest generation less often than the interpreter's default
    proc = subprocess.run([sys.executable, "-c", COLLECTOR_SPY], cwd=tmp_path, capture_output=True, text=True)
    expected = f"RESULT [True, False] True True 700 {YOUNG_COLLECTED_AFTER}"
    assert proc.stdout.splitlines()[-1] == expected, proc.stdout + proc.stderr
