"""CLI paths without other tests: XDG lookup, list and "*" sources, adapter plugins, exit code 3,
history / workflows / graph / prompt / approve, and the template sandbox."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from specflow.definitions.resources import builtin_dir
from tests.conftest import MINI_WORKFLOW, HubFixture

# writes outside its gate when ESCAPE is set; writes the proposal in the 'write' phase
AGENT = (
    "import os, pathlib, sys\nsys.stdin.read()\n"
    "hub = pathlib.Path(os.environ['SPECFLOW_HUB'])\n"
    "d = hub / 'openspec' / 'changes' / os.environ['SPECFLOW_CHANGE']\n"
    "if os.environ.get('ESCAPE'):\n"
    "    (hub / 'outside.txt').write_text('sneaky')\n"
    "if os.environ['SPECFLOW_PHASE'] == 'write':\n"
    "    (d / 'proposal.md').write_text('## Why\\nBecause.\\n')\n"
    "print('some notes')\n"
)


def change_dir(hub: HubFixture, cid: str) -> Path:
    """The change's folder: on its branch, in its own worktree of the hub."""
    return hub.change_dir(cid)


def state_of(hub: HubFixture, cid: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((change_dir(hub, cid) / ".specflow" / "state.json").read_text())
    return record


def history_of(hub: HubFixture, cid: str) -> list[dict[str, Any]]:
    path = change_dir(hub, cid) / ".specflow" / "history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def transitions(events: list[dict[str, Any]]) -> list[tuple[str, str | None, str, str]]:
    return [(e["trigger"], e["from"], e["to"], e["outcome"]) for e in events]


# -- 1. lookup through $XDG_DATA_HOME, first hit wins ----------------------------------------

XDG_MINI = """\
workflow: mini
version: 7
description: XDG mini, hidden by the hub's.
initial: draft
states:
  draft: {}
  done: {final: true}
scenarios:
  - scenario: Straight to done
    when: advance
    from: draft
    to: done
"""

XDG_QUICK = """\
workflow: quick
version: 2
description: XDG quick, hides the built-in one.
initial: draft
states:
  draft: {}
  done: {final: true}
scenarios:
  - scenario: Done at once
    when: advance
    from: draft
    to: done
"""

XDG_TEAM = """\
workflow: team
version: 1
description: Only in XDG.
initial: draft
states:
  draft: {}
  plan:
    prompt: team.md.j2
    workspace: read-only
  done: {final: true}
scenarios:
  - scenario: Plan it
    when: advance
    from: draft
    to: plan
  - scenario: Finish
    when: advance
    from: plan
    to: done
"""


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A filled ``$XDG_DATA_HOME``: returns its ``specflow`` folder."""
    base = tmp_path / "xdg-filled"
    root = base / "specflow"
    (root / "workflows").mkdir(parents=True)
    (root / "templates").mkdir(parents=True)
    (root / "workflows" / "mini.yaml").write_text(XDG_MINI)
    (root / "workflows" / "quick.yaml").write_text(XDG_QUICK)
    (root / "workflows" / "team.yaml").write_text(XDG_TEAM)
    (root / "templates" / "team.md.j2").write_text("XDG team plan for {{ change.id }}.\n")
    monkeypatch.setenv("XDG_DATA_HOME", str(base))
    return root


def test_workflow_lookup_hub_then_xdg_then_builtin(
    hub: HubFixture, cli: Any, xdg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builtin = builtin_dir("workflows")
    code, out, err = cli("-C", hub.root, "workflows", "list", "--json")
    assert code == 0, err
    assert json.loads(out) == {
        "mini": str(hub.root / "openspec" / "workflows" / "mini.yaml"),  # the hub beats XDG
        "team": str(xdg / "workflows" / "team.yaml"),  # only in XDG
        "quick": str(xdg / "workflows" / "quick.yaml"),  # XDG beats the built-in
        "openspec": str(builtin / "openspec.yaml"),  # only built in
    }

    code, out, _ = cli("-C", hub.root, "workflows", "show", "quick")
    assert code == 0
    assert out.splitlines()[:2] == [f"quick (v2) — {xdg}/workflows/quick.yaml", "XDG quick, hides the built-in one."]
    code, out, _ = cli("-C", hub.root, "graph", "--workflow", "quick")
    assert out == "stateDiagram-v2\n    [*] --> draft\n    draft --> done: advance\n    done --> [*]\n"
    code, out, _ = cli("-C", hub.root, "graph", "--workflow", "mini")
    assert code == 0 and "    write --> think: reject\n" in out and "draft --> done" not in out

    # the engine runs what the lookup found: XDG's quick goes straight to done, with no agent
    assert cli("-C", hub.root, "new", "small", "-w", "quick")[0] == 0
    code, out, err = cli("-C", hub.root, "advance", "small")
    assert code == 0, err
    assert re.search(r"^small: draft -> done succeeded in \d+\.\ds$", out, re.MULTILINE), out
    assert state_of(hub, "small")["workflow"] == "quick" and state_of(hub, "small")["state"] == "done"

    # a workflow only XDG has, with its template only XDG has
    assert cli("-C", hub.root, "new", "team-work", "-w", "team")[0] == 0
    code, out, err = cli("-C", hub.root, "prompt", "team-work")
    assert (code, out) == (0, "XDG team plan for team-work.\n"), err

    # with the conftest's empty XDG folder, the built-in quick is back and team is gone
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    code, out, _ = cli("-C", hub.root, "workflows", "list", "--json")
    assert json.loads(out) == {
        "mini": str(hub.root / "openspec" / "workflows" / "mini.yaml"),
        "openspec": str(builtin / "openspec.yaml"),
        "quick": str(builtin / "quick.yaml"),
    }


def test_template_lookup_hub_then_xdg_then_builtin(hub: HubFixture, cli: Any, xdg: Path) -> None:
    (xdg / "templates" / "think.md.j2").write_text("XDG think for {{ change.id }}.\n")
    (xdg / "templates" / "explore.md.j2").write_text("XDG explore for {{ change.id }} ({{ workflow.name }}).\n")
    assert cli("-C", hub.root, "new", "add-login")[0] == 0
    assert cli("-C", hub.root, "new", "add-search", "-w", "openspec")[0] == 0

    # the hub's openspec/templates/think.md.j2 beats XDG's
    code, out, err = cli("-C", hub.root, "prompt", "add-login")
    assert code == 0, err
    assert out.startswith("Think about add-login in phase think.\n") and "XDG" not in out
    # without it, XDG's is used
    (hub.root / "openspec" / "templates" / "think.md.j2").unlink()
    code, out, err = cli("-C", hub.root, "prompt", "add-login")
    assert (code, out) == (0, "XDG think for add-login.\n"), err

    # XDG's explore.md.j2 beats the built-in one
    code, out, err = cli("-C", hub.root, "prompt", "add-search")
    assert (code, out) == (0, "XDG explore for add-search (openspec).\n"), err
    # the hub's beats XDG's
    hub.write("openspec/templates/explore.md.j2", "Hub explore for {{ change.id }}.\n")
    code, out, err = cli("-C", hub.root, "prompt", "add-search")
    assert (code, out) == (0, "Hub explore for add-search.\n"), err
    # neither: the built-in one
    (hub.root / "openspec" / "templates" / "explore.md.j2").unlink()
    (xdg / "templates" / "explore.md.j2").unlink()
    code, out, err = cli("-C", hub.root, "prompt", "add-search")
    assert code == 0, err
    assert out.startswith("# Explore: add-search\n") and "XDG" not in out and "Hub explore" not in out


# -- 2. 'from' as a list and as "*" ---------------------------------------------------------

# the mini workflow's states, with a parking place and a final 'cancelled', and its own scenarios
MULTI_WORKFLOW = (
    MINI_WORKFLOW.split("scenarios:")[0]
    .replace("workflow: mini", "workflow: multi")
    .replace("  done:\n    final: true\n", "  parked: {}\n  cancelled: {final: true}\n  done: {final: true}\n")
    + """\
scenarios:
  - scenario: Think first
    when: advance
    from: draft
    to: think
  - scenario: Write it
    when: advance
    from: think
    to: write
  - scenario: Finish
    when: advance
    from: write
    to: done
  - scenario: Park the thinking or the writing
    when: park
    from: [think, write]
    to: parked
  - scenario: Pick it up again
    when: advance
    from: parked
    to: think
  - scenario: Cancel from anywhere
    when: cancel
    from: "*"
    to: cancelled
"""
)


def test_scenarios_from_a_list_and_from_any_state(hub: HubFixture, cli: Any) -> None:
    hub.agent("scripted", AGENT)
    hub.write("openspec/workflows/multi.yaml", MULTI_WORKFLOW)
    c = ("-C", hub.root)
    assert cli(*c, "new", "add-login", "-w", "multi")[0] == 0

    # draft is not in the list, but "*" covers it
    code, _, err = cli(*c, "trigger", "add-login", "park")
    assert code == 1
    assert err == (
        "error: no scenario for 'park' from state 'draft' in workflow 'multi'\n"
        "  fix: triggers from here: advance, cancel\n"
    )
    assert cli(*c, "advance", "add-login")[0] == 0  # draft -> think
    code, out, err = cli(*c, "trigger", "add-login", "park")  # from the list's first state
    assert code == 0, err
    assert out.splitlines()[-2].startswith("add-login: think -> parked succeeded")
    assert out.splitlines()[-1] == "add-login is now in state parked"
    assert cli(*c, "advance", "add-login")[0] == 0  # parked -> think
    assert cli(*c, "advance", "add-login")[0] == 0  # think -> write
    code, out, err = cli(*c, "trigger", "add-login", "park")  # from the list's second state
    assert code == 0, err
    assert out.splitlines()[-1] == "add-login is now in state parked"
    code, out, err = cli(*c, "trigger", "add-login", "cancel")  # "*" from a state with no prompt
    assert code == 0, err
    assert out.splitlines()[-2].startswith("add-login: parked -> cancelled succeeded")
    assert out.splitlines()[-1] == "add-login is now in state cancelled"
    # "*" is every non-final state: nothing leaves a final one
    code, _, err = cli(*c, "trigger", "add-login", "cancel")
    assert code == 1
    assert "error: change 'add-login' is in the final state 'cancelled'; nothing leaves it" in err
    assert transitions(history_of(hub, "add-login"))[1:] == [
        ("advance", "draft", "think", "succeeded"),
        ("park", "think", "parked", "succeeded"),
        ("advance", "parked", "think", "succeeded"),
        ("advance", "think", "write", "succeeded"),
        ("park", "write", "parked", "succeeded"),
        ("cancel", "parked", "cancelled", "succeeded"),
    ]

    # "*" straight from draft
    assert cli(*c, "new", "add-search", "-w", "multi")[0] == 0
    code, out, err = cli(*c, "trigger", "add-search", "cancel")
    assert code == 0, err
    assert state_of(hub, "add-search")["state"] == "cancelled"

    # the graph expands the list and the wildcard (final states excluded)
    code, out, _ = cli(*c, "graph", "--workflow", "multi")
    assert code == 0
    assert out == (
        "stateDiagram-v2\n"
        "    [*] --> draft\n"
        "    draft --> think: advance\n"
        "    think --> write: advance\n"
        "    write --> done: advance\n"
        "    think --> parked: park\n"
        "    write --> parked: park\n"
        "    parked --> think: advance\n"
        "    draft --> cancelled: cancel\n"
        "    think --> cancelled: cancel\n"
        "    write --> cancelled: cancel\n"
        "    parked --> cancelled: cancel\n"
        "    cancelled --> [*]\n"
        "    done --> [*]\n"
    )
    code, out, _ = cli(*c, "workflows", "show", "multi")
    assert "  When park from think, write to parked\n" in out
    assert "  When cancel from * to cancelled\n" in out


# -- 3. adapters from the 'specflow.adapters' entry-point group ------------------------------

ECHO_ADAPTER = """\
from specflow import AgentEvent, AgentResult


class EchoAdapter:
    name = "echo"

    def run(self, request, on_event):
        on_event(AgentEvent("tool", f"Read {request.cwd}"))
        greeting = request.options.get("greeting", "")
        return AgentResult(status="success", final_text=f"# {request.phase} of {request.change_id}: {greeting}\\n")
"""


def test_adapter_from_the_entry_point_group(
    hub: HubFixture, cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from specflow.agents import adapter_names

    (hub.root / "specflow.yaml").write_text(
        "default_workflow: mini\ndefault_agent: echo\nagents:\n  echo:\n    adapter: echo\n"
        "    options: {greeting: hello}\n"
    )
    assert cli("-C", hub.root, "new", "add-login")[0] == 0
    # not installed yet: the attempt fails, naming the entry-point group
    code, _, err = cli("-C", hub.root, "advance", "add-login")
    assert code == 1
    assert "agent echo: unknown adapter 'echo' (known: command, claude-code)" in err
    assert "echo" not in adapter_names()

    site = tmp_path / "site"
    dist = site / "specflow_echo_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: specflow-echo-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[specflow.adapters]\necho = specflow_echo_plugin_mod:EchoAdapter\n")
    (site / "specflow_echo_plugin_mod.py").write_text(ECHO_ADAPTER)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "specflow_echo_plugin_mod", raising=False)
    importlib.invalidate_caches()
    assert adapter_names() == ["command", "claude-code", "echo"]

    code, out, err = cli("-C", hub.root, "advance", "add-login")
    assert code == 0, err
    assert "phase: running agent echo (echo)" in out
    assert f"tool: Read {hub.root}" in out
    assert "add-login: draft -> think succeeded" in out
    assert (change_dir(hub, "add-login") / "notes.md").read_text() == "# think of add-login: hello\n"
    last = history_of(hub, "add-login")[-1]
    assert last["outcome"] == "succeeded"
    assert (last["agent"]["name"], last["agent"]["adapter"], last["agent"]["status"]) == ("echo", "echo", "success")

    # the adapter's name also works as an agent name, with its defaults (no options)
    code, _, err = cli("-C", hub.root, "advance", "add-login", "--agent", "echo", "--json")
    assert code == 1  # think -> write needs a proposal.md the echo agent does not write
    assert history_of(hub, "add-login")[-1]["agent"]["adapter"] == "echo"


# -- 4. exit code 3 for an internal error --------------------------------------------------


def _boom(args: Any, ctx: Any) -> int:
    raise RuntimeError("boom in status")


def test_internal_error_is_exit_3_with_a_message(hub: HubFixture, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import specflow.cli.commands.status as cmd_status

    monkeypatch.setattr(cmd_status, "run", _boom)
    code, out, err = cli("-C", hub.root, "status")
    assert code == 3
    assert out == ""
    assert err == (
        "internal error: RuntimeError: boom in status\n"
        "This is a bug in specflow. Run again with --debug for the traceback and report it.\n"
    )
    assert "Traceback" not in err

    code, out, err = cli("-C", hub.root, "--debug", "status")
    assert code == 3
    assert err.startswith("Traceback (most recent call last):\n")
    assert 'in _boom\n    raise RuntimeError("boom in status")\n' in err
    assert err.endswith("RuntimeError: boom in status\n")
    assert "internal error:" not in err


# -- 5. history, workflows, graph, prompt, approve -----------------------------------------


def _rows(out: str) -> list[list[str]]:
    """The table's data rows without the time columns (date, clock) and the 'took' column."""
    return [line.split()[2:] for line in out.splitlines()[2:] if line.startswith("20")]


def test_history_table_json_and_verbose_with_approve_note(
    hub: HubFixture, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.agent("scripted", AGENT)
    c = ("-C", hub.root)
    cli(*c, "new", "add-login")
    monkeypatch.setenv("ESCAPE", "1")
    assert cli(*c, "advance", "add-login")[0] == 1  # out of the gate: put back, failed
    monkeypatch.delenv("ESCAPE")
    assert not (hub.root / "outside.txt").exists()
    assert cli(*c, "advance", "add-login")[0] == 0  # draft -> think
    assert cli(*c, "advance", "add-login")[0] == 0  # think -> write
    assert cli(*c, "advance", "add-login")[0] == 1  # blocked: not approved

    code, out, err = cli(*c, "approve", "add-login", "--note", "ship it, keep sessions short")
    assert code == 0, err
    assert out == (
        "approved 'add-login' in state write by Dev Eloper\n"
        "the approval holds until the proposal, design, tasks or delta specs change\n"
    )
    approval = state_of(hub, "add-login")["approvals"][-1]
    assert (approval["by"], approval["state"], approval["note"]) == (
        "Dev Eloper",
        "write",
        "ship it, keep sessions short",
    )

    code, out, err = cli(*c, "history", "add-login")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "history of add-login"
    assert lines[1].split() == ["time", "(UTC)", "trigger", "transition", "outcome", "agent", "cost", "took", "gate"]
    rows = _rows(out)
    assert [r[:5] for r in rows] == [
        ["new", "-", "->", "draft", "created"],
        ["advance", "draft", "->", "think", "failed"],
        ["advance", "draft", "->", "think", "succeeded"],
        ["advance", "think", "->", "write", "succeeded"],
        ["advance", "write", "->", "done", "blocked"],
        ["approve", "write", "->", "write", "approved"],
    ]
    assert rows[0][5:] == [] and rows[4][5:] == [] and rows[5][5:] == []
    assert rows[1][5] == "scripted" and rows[1][6].endswith("s") and rows[1][7:] == ["1"]  # one gate violation
    assert rows[2][5] == "scripted" and rows[2][7:] == []

    code, vout, _ = cli(*c, "history", "add-login", "-v")
    assert code == 0
    assert vout.startswith(out)  # the same table, then the details
    put_back = "1 change(s) outside the gate put back: hub:outside.txt (added: created outside the gate)"
    not_approved = "nobody has approved the proposal yet; run 'specflow approve add-login' after reviewing it"
    assert vout[len(out) :].splitlines() == [
        "  think: given the change exists: ok",
        f"  think: reason: the agent wrote outside its gate (put back): {put_back}; saved first: restore it"
        " with 'specflow restore add-login --checkpoint 1'",
        "  think: gate: added outside.txt (put back)",
        "  think: saved first; restore with: specflow restore add-login --checkpoint 1",
        "  think: given the change exists: ok",
        '  think: then the file "notes.md" exists: ok',
        '  write: given the file "notes.md" exists: ok',
        '  write: then the file "proposal.md" contains "Why": ok',
        f"  done: given the proposal is approved: FAILED {not_approved}",
        f"  done: reason: the proposal is approved: {not_approved}",
    ]

    code, out, _ = cli(*c, "history", "add-login", "--json")
    assert code == 0
    events = json.loads(out)
    assert events == history_of(hub, "add-login")
    assert transitions(events) == [
        ("new", None, "draft", "created"),
        ("advance", "draft", "think", "failed"),
        ("advance", "draft", "think", "succeeded"),
        ("advance", "think", "write", "succeeded"),
        ("advance", "write", "done", "blocked"),
        ("approve", "write", "write", "approved"),
    ]
    assert [(v["kind"], v["path"]) for v in events[1]["gate_violations"]] == [("added", "outside.txt")]
    assert events[-1]["approval"]["note"] == "ship it, keep sessions short"
    assert events[-1]["approval"]["by"] == "Dev Eloper"

    # the approval with its note lets the change finish
    code, out, err = cli(*c, "advance", "add-login")
    assert code == 0, err
    assert "step: given the proposal is approved: ok" in out
    assert state_of(hub, "add-login")["state"] == "done"


def test_approve_json_with_note_and_by(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    (change_dir(hub, "add-login") / "proposal.md").write_text("## Why\nUsers must log in.\n")
    code, out, err = cli("-C", hub.root, "approve", "add-login", "--note", "fine", "--by", "ana", "--json")
    assert code == 0, err
    approval = json.loads(out)
    assert {k: approval[k] for k in ("by", "state", "note")} == {"by": "ana", "state": "draft", "note": "fine"}
    assert state_of(hub, "add-login")["approvals"] == [approval]
    assert history_of(hub, "add-login")[-1]["approval"] == approval


def test_workflows_list_and_show(hub: HubFixture, cli: Any) -> None:
    builtin = builtin_dir("workflows")
    mini = hub.root / "openspec" / "workflows" / "mini.yaml"
    code, out, err = cli("-C", hub.root, "workflows", "list")
    assert code == 0, err
    assert out.splitlines() == [
        "workflow  file",
        f"mini      {mini}",
        f"openspec  {builtin / 'openspec.yaml'}",
        f"quick     {builtin / 'quick.yaml'}",
    ]

    code, out, err = cli("-C", hub.root, "workflows", "show", "mini")
    assert code == 0, err
    assert out == (
        f"mini (v1) — {mini}\n"
        "A small workflow for tests.\n"
        "\n"
        "state            prompt       gate                                 actions\n"
        "draft (initial)  -            -                                    -\n"
        "think            think.md.j2  read-only                            -\n"
        "write            write.md.j2  openspec/changes/{{ change.id }}/**  -\n"
        "done (final)     -            -                                    -\n"
        "\n"
        "Scenario: Think first\n"
        "  Given the change exists\n"
        "  When advance from draft to think\n"
        '  Then the file "notes.md" exists\n'
        "Scenario: Write the proposal\n"
        '  Given the file "notes.md" exists\n'
        "  When advance from think to write\n"
        '  Then the file "proposal.md" contains "Why"\n'
        "Scenario: Send it back\n"
        "  When reject from write to think\n"
        "Scenario: Finish once approved\n"
        "  Given the proposal is approved\n"
        "  When advance from write to done\n"
    )
    code, out, _ = cli("-C", hub.root, "workflows", "show", "mini", "--json")
    data = json.loads(out)
    assert data["workflow"] == "mini" and list(data["states"]) == ["draft", "think", "write", "done"]
    assert [(s["when"], s["from"], s["to"]) for s in data["scenarios"]][2] == ("reject", ["write"], "think")

    code, _, err = cli("-C", hub.root, "workflows", "show", "nope")
    assert code == 1
    assert "error: unknown workflow 'nope' (known: mini, openspec, quick)" in err


def test_graph_of_a_named_workflow(hub: HubFixture, cli: Any) -> None:
    code, out, err = cli("-C", hub.root, "graph", "--workflow", "mini")
    assert code == 0, err
    assert out == (
        "stateDiagram-v2\n"
        "    [*] --> draft\n"
        "    draft --> think: advance\n"
        "    think --> write: advance\n"
        "    write --> think: reject\n"
        "    write --> done: advance\n"
        "    done --> [*]\n"
    )  # no change: no state marked
    code, out, _ = cli("-C", hub.root, "graph", "-w", "quick")
    assert code == 0
    assert "    draft --> propose: advance\n" in out and "    archive --> [*]\n" in out
    code, out, err = cli("-C", hub.root, "graph", "--workflow", "nope")
    assert (code, out) == (1, "")
    assert err == (
        "error: unknown workflow 'nope' (known: mini, openspec, quick)\n"
        "  fix: create openspec/workflows/nope.yaml in the hub, or use one of the known workflows\n"
    )


def test_prompt_of_a_named_state(hub: HubFixture, cli: Any) -> None:
    cli("-C", hub.root, "new", "add-login")
    code, out, err = cli("-C", hub.root, "prompt", "add-login")
    assert code == 0, err
    assert out.startswith("Think about add-login in phase think.\n")
    code, out, err = cli("-C", hub.root, "prompt", "add-login", "--state", "write")
    assert code == 0, err
    assert out == (
        "Write the proposal for add-login.\n"
        "Notes: none\n"
        "You may write only these paths; everything else is read-only:\n"
        f"- openspec/changes/add-login/** (relative to the hub {hub.worktree('add-login')})\n"
    )
    code, out, err = cli("-C", hub.root, "prompt", "add-login", "--state", "nope")
    assert (code, out) == (1, "")
    assert err == "error: unknown state 'nope'\n  fix: states: draft, think, write, done\n"


# -- 6. the template sandbox ----------------------------------------------------------------

UNSAFE = "Think.\n{{ ''.__class__.__mro__ }}\n"


def test_sandbox_refuses_unsafe_templates(hub: HubFixture, cli: Any) -> None:
    hub.agent("scripted", AGENT)
    template = hub.write("openspec/templates/think.md.j2", UNSAFE)
    cli("-C", hub.root, "new", "add-login")
    expected = (
        f"error: {template}:2: unsafe operation refused by the sandbox: "
        "access to attribute '__class__' of 'str' object is unsafe.\n"
        "  fix: templates may only read their context\n"
    )
    code, out, err = cli("-C", hub.root, "prompt", "add-login")
    assert (code, out, err) == (1, "", expected)

    code, out, err = cli("-C", hub.root, "advance", "add-login")
    assert code == 1
    assert err == expected
    assert "Traceback" not in out + err and "<class 'object'>" not in out + err
    assert "running agent" not in out
    state = state_of(hub, "add-login")
    assert state["state"] == "draft" and state["in_flight"] is None
    assert not (change_dir(hub, "add-login") / "notes.md").exists()
