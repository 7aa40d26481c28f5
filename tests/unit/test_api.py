"""The Python API as a tool author embeds it: sync and async, events, errors with results."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest

import specflow
from specflow import GuardFailed, Hub, PhaseFailed, load_workflow
from specflow.agents.base import AgentEvent
from specflow.steps.registry import build_registry
from tests.conftest import HubFixture

NOTES = "import sys\nsys.stdin.read()\nprint('notes', file=sys.stderr)\nprint('the notes')\n"
PROPOSAL = (
    "import os, pathlib, sys\nsys.stdin.read()\n"
    "d = pathlib.Path(os.environ['SPECFLOW_HUB']) / 'openspec' / 'changes' / os.environ['SPECFLOW_CHANGE']\n"
    "if os.environ['SPECFLOW_PHASE'] == 'write':\n"
    "    (d / 'proposal.md').write_text('## Why\\nBecause.\\n')\n"
    "print('done')\n"
)


def test_public_names_are_exported() -> None:
    assert {"Hub", "Change", "step", "StepResult", "load_workflow", "SpecflowError", "GuardFailed"} <= set(
        specflow.__all__
    )
    assert all(getattr(specflow, name) is not None for name in specflow.__all__)
    with pytest.raises(AttributeError):
        _ = specflow.nothing_here


def test_sync_and_async_advance_with_events(hub: HubFixture) -> None:
    hub.agent("scripted", PROPOSAL)
    api = Hub.open(hub.root)
    change = api.new_change("add-login", goal="Login")
    assert [c.id for c in api.changes()] == ["add-login"]
    assert change.state == "draft"
    events: list[AgentEvent] = []
    results = change.advance(on_event=events.append)
    assert [(r.from_state, r.to_state, r.outcome) for r in results] == [("draft", "think", "succeeded")]
    assert any(e.kind == "step" and e.data.get("step") == "the change exists" for e in events)
    assert any(e.kind == "phase" and "checkpoint #" in e.message for e in events)
    # an async host (a bot) awaits the same thing
    results = asyncio.run(Hub.open(hub.root).change("add-login").advance_async())
    assert results[-1].to_state == "write" and change.state == "write"
    with pytest.raises(GuardFailed) as info:
        change.advance()
    assert info.value.results[0].outcome == "blocked"
    assert "nobody has approved the proposal yet" in info.value.results[0].reasons[0]
    approval = change.approve(by="ana", note="ok")
    assert approval["by"] == "ana"
    assert change.advance()[-1].to_state == "done"
    outcomes = [e["outcome"] for e in change.history()]
    assert outcomes == ["created", "succeeded", "succeeded", "blocked", "approved", "succeeded"]


def test_phase_failure_carries_results(hub: HubFixture) -> None:
    hub.agent("scripted", "import sys\nsys.stdin.read()\nsys.exit(5)\n")
    change = Hub.open(hub.root).new_change("add-login")
    with pytest.raises(PhaseFailed) as info:
        change.advance()
    (result,) = info.value.results
    assert result.outcome == "failed" and result.to_state == "think"
    assert result.agent is not None and result.agent.exit_code == 5
    assert change.state == "draft"


def test_load_workflow_by_path(hub: HubFixture) -> None:
    wf = load_workflow(hub.root / "openspec" / "workflows" / "mini.yaml", hub_root=hub.root)
    assert wf.name == "mini" and wf.initial == "draft"


def test_builtin_workflows_load(hub: HubFixture) -> None:
    api = Hub.open(hub.root)
    for name in ("openspec", "quick"):
        wf = api.workflow(name)
        assert wf.final_states == ["archive"]
    assert api.workflow("openspec").scenarios_from("propose", "reject")[0].to == "explore"


def install_plugin(site: Path, monkeypatch: pytest.MonkeyPatch, name: str, entry_points: str, code: str) -> None:
    """An installed distribution ``name`` (its metadata folder and module ``name.py``) on ``sys.path``."""
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(entry_points)
    (site / f"{name}.py").write_text(code)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


def test_steps_from_the_entry_point_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_plugin(
        tmp_path / "site",
        monkeypatch,
        "fakeplug",
        "[specflow.steps]\nfakeplug = fakeplug\n",
        "from specflow import step\n\n@step('the plugin says yes')\ndef yes(ctx):\n    return True\n",
    )
    registry = build_registry(tmp_path)
    assert registry.find("the plugin says yes") is not None


def test_approval_hooks_from_the_entry_point_group(
    hub: HubFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # specflow's own queue is told of approvals through the group, the engine naming none of it
    from specflow.engine.change import APPROVAL_HOOKS
    from specflow.entrypoints import entry_points
    from specflow.queue.hooks import approval_given

    ours = [ep for ep in entry_points(APPROVAL_HOOKS) if ep.name == "queue"]
    assert [ep.load() for ep in ours] == [approval_given]
    # and so is any package's hook, once the approval is recorded
    told = tmp_path / "told.txt"
    install_plugin(
        tmp_path / "site",
        monkeypatch,
        "approvalprobe",
        "[specflow.approvals]\nprobe = approvalprobe:told\n",
        "from pathlib import Path\n\n"
        "def told(change, by):\n"
        f'    Path({str(told)!r}).write_text(f\'{{change.id}} {{by}} {{change.record["approvals"][-1]["by"]}}\')\n',
    )
    change = Hub.open(hub.root).new_change("add-login")
    (change.dir / "proposal.md").write_text("## Why\nBecause.\n")
    change.approve(by="ana")
    assert told.read_text() == "add-login ana ana"


def test_hub_and_change_say_what_they_are(hub: HubFixture) -> None:
    api = Hub.open(hub.root)
    change = api.new_change("add-login")
    assert repr(api) == f"Hub({str(hub.root)!r})"
    assert repr(change) == "Change('add-login', state='draft')"
