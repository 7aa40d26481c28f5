"""An attempt is made ready before the change's machine is made: its in-flight record written, its
gate worked out, its agent started ahead of the prompt and the checkpoint and held there while the
prompt renders.  The phase
itself runs inside the machine's transition; when that never comes, nothing of it is left."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from specflow import Hub
from specflow.changestate.history import read_history
from specflow.changestate.records import read_state
from specflow.engine import attempt as attempt_module
from specflow.engine import context as context_module
from specflow.engine import engine as engine_module
from specflow.engine import machine as machine_module
from specflow.errors import TemplateError
from specflow.localdir import records_dir
from tests.claude.claude_support import processes_with
from tests.conftest import HubFixture

MARKING_AGENT = "import os, pathlib, sys\npathlib.Path(os.environ['MARK']).write_text('ran')\nsys.stdin.read()\n"


def _marking_hub(hub: HubFixture, tmp_path: Path) -> tuple[Hub, Path]:
    mark = tmp_path / "agent-ran"
    hub.agent("scripted", MARKING_AGENT)
    config = hub.root / "specflow.yaml"
    config.write_text(config.read_text(encoding="utf-8") + f"    env:\n      MARK: {str(mark)!r}\n", encoding="utf-8")
    hub.commit("agent")
    api = Hub.open(hub.root)
    api.new_change("ahead-of-time")
    return api, mark


def test_a_phase_made_ready_runs_as_before(hub: HubFixture, tmp_path: Path) -> None:
    api, mark = _marking_hub(hub, tmp_path)
    (result,) = api.change("ahead-of-time").advance()
    assert result.ok and result.to_state == "think", result.reasons
    assert mark.read_text() == "ran"
    (event,) = [e for e in read_history(api.change("ahead-of-time").dir) if e.get("outcome") == "succeeded"]
    assert event["checkpoint"]["number"] == 1 and event["agent"]["status"] == "success"


@pytest.mark.parametrize("failure", [RuntimeError("the machine could not be made"), KeyboardInterrupt()])
def test_when_the_machine_is_never_made_the_attempt_leaves_no_trace(
    hub: HubFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    api, mark = _marking_hub(hub, tmp_path)
    change_dir = api.change("ahead-of-time").dir
    state_before = (change_dir / ".specflow" / "state.json").read_bytes()
    history_before = read_history(change_dir)

    def fail(*args: object, **kwargs: object) -> None:
        raise failure

    monkeypatch.setattr(engine_module, "build_machine", fail)
    with pytest.raises(type(failure)):
        api.change("ahead-of-time").advance()
    # the records are as they were: no attempt in flight, none in the history
    assert (change_dir / ".specflow" / "state.json").read_bytes() == state_before
    state = read_state(change_dir)
    assert state is not None and state.get("in_flight") is None
    assert read_history(change_dir) == history_before
    # the agent held back for its checkpoint never ran, and nothing of its start is left running
    deadline = time.monotonic() + 10
    while processes_with("ahead-of-time", "SPECFLOW_CHANGE") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with("ahead-of-time", "SPECFLOW_CHANGE") == []
    assert not mark.exists()
    # and the next advance runs the phase
    monkeypatch.undo()
    (result,) = api.change("ahead-of-time").advance()
    assert result.ok and mark.read_text() == "ran"


def test_the_agent_is_started_ahead_before_the_machine_is_made(
    hub: HubFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, mark = _marking_hub(hub, tmp_path)
    running: list[list[int]] = []
    make = machine_module.build_machine

    def spy(*args: object, **kwargs: object) -> object:
        running.append(processes_with("ahead-of-time", "SPECFLOW_CHANGE"))  # the agent's, held back
        return make(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "build_machine", spy)
    (result,) = api.change("ahead-of-time").advance()
    assert result.ok, result.reasons
    assert len(running) == 1 and running[0] != []
    assert mark.read_text() == "ran"


def test_a_prompt_that_fails_to_render_stops_the_agent_started_ahead_and_leaves_no_trace(
    hub: HubFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, mark = _marking_hub(hub, tmp_path)
    hub.write("openspec/templates/think.md.j2", "Think about {{ change.id.no_such_field }}.\n")
    hub.commit("a prompt that parses but cannot render")
    change_dir = api.change("ahead-of-time").dir
    state_before = (change_dir / ".specflow" / "state.json").read_bytes()
    history_before = read_history(change_dir)
    running: list[list[int]] = []
    render = context_module.phase_prompt

    def spy(*args: Any, **kwargs: Any) -> str:
        running.append(processes_with("ahead-of-time", "SPECFLOW_CHANGE"))  # started while it renders
        return render(*args, **kwargs)

    monkeypatch.setattr(attempt_module, "phase_prompt", spy)
    with pytest.raises(TemplateError, match="no_such_field"):
        Hub.open(hub.root).change("ahead-of-time").advance()
    assert len(running) == 1 and running[0] != []
    # the agent never got a prompt and nothing of it is left running, or on disk
    deadline = time.monotonic() + 10
    while processes_with("ahead-of-time", "SPECFLOW_CHANGE") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with("ahead-of-time", "SPECFLOW_CHANGE") == []
    assert not mark.exists()
    assert (change_dir / ".specflow" / "state.json").read_bytes() == state_before
    assert read_history(change_dir) == history_before
    transcripts = records_dir(hub.root) / "transcripts" / "ahead-of-time"
    assert not transcripts.exists() or list(transcripts.iterdir()) == []
