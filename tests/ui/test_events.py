"""The change's event log: written by the engine whoever runs the phase, followed by readers."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from specflow import Hub
from specflow.agents.base import AgentEvent
from specflow.engine import events
from specflow.engine.eventreader import EventReader
from specflow.engine.events import EventLog, event_log_path
from tests.conftest import HubFixture

TOOLS = (
    "import sys\nsys.stdin.read()\n"
    "print('Read openspec/specs', file=sys.stderr, flush=True)\n"
    "print('Write notes', file=sys.stderr, flush=True)\n"
    "print('the notes')\n"
)


def test_an_advance_writes_every_progress_event_to_the_log(hub: HubFixture) -> None:
    hub.agent("scripted", TOOLS)
    change = Hub.open(hub.root).new_change("add-login")
    seen: list[AgentEvent] = []
    change.advance(on_event=seen.append)
    logged = EventReader(hub.root, "add-login").read()
    assert [(e.kind, e.message) for e in logged] == [(e.kind, e.message) for e in seen]
    assert {"phase", "step", "start", "output", "result"} <= {e.kind for e in logged}
    assert [e.message for e in logged if e.kind == "output"] == ["Read openspec/specs", "Write notes"]
    assert len({e.run for e in logged}) == 1
    # the rendered prompt is kept under the digest the history records
    sha = change.history()[-1]["prompt_sha256"]
    prompt = events.read_prompt(hub.root, "add-login", sha)
    assert prompt is not None and prompt.startswith("Think about add-login")
    assert events.read_prompt(hub.root, "add-login", "../../etc") is None


def test_a_reader_follows_from_its_position_and_skips_half_written_lines(tmp_path: Path) -> None:
    log = EventLog(tmp_path, "c")
    reader = EventReader(tmp_path, "c")
    assert reader.read() == []
    log.write(AgentEvent("tool", "Read a", {"path": Path("/x")}))
    with event_log_path(tmp_path, "c").open("ab") as fh:
        fh.write(b'{"kind": "tool", "message": "half')
    first = reader.read()
    assert [(e.kind, e.message, dict(e.data)) for e in first] == [("tool", "Read a", {"path": "/x"})]
    with event_log_path(tmp_path, "c").open("ab") as fh:
        fh.write(b' done", "run": "r", "time": "t"}\n')
    assert [e.message for e in reader.read()] == ["half done"]
    assert reader.read() == []
    late = EventReader.at_end(tmp_path, "c")
    log.write(AgentEvent("text", "new"))
    assert [e.message for e in late.read()] == ["new"]
    assert [e.message for e in EventReader(tmp_path, "c").tail(2)] == ["half done", "new"]


def test_the_log_is_bounded_by_rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "MAX_BYTES", 2000)
    log = EventLog(tmp_path, "c")
    reader = EventReader(tmp_path, "c")
    got: list[str] = []
    for i in range(100):
        log.write(AgentEvent("text", f"line {i:03d} " + "x" * 50))
        got += [e.message[:8] for e in reader.read()]
    path = event_log_path(tmp_path, "c")
    assert path.stat().st_size <= 2000 + 200
    assert path.with_name("c.jsonl.1").is_file()
    assert not path.with_name("c.jsonl.2").exists()
    # a reader that keeps up sees every event across rotations
    assert got == [f"line {i:03d}" for i in range(100)]


def test_follow_as_iterator_and_async_iterator(tmp_path: Path) -> None:
    log = EventLog(tmp_path, "c")
    done = threading.Event()

    def writer() -> None:
        for i in range(5):
            log.write(AgentEvent("tool", f"call {i}"))
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    got = []
    for event in EventReader(tmp_path, "c").follow(timeout=10):
        got.append(event.message)
        if len(got) == 5:
            break
    thread.join()
    assert got == [f"call {i}" for i in range(5)]

    async def collect() -> list[str]:
        out: list[str] = []
        async for event in EventReader(tmp_path, "c").follow_async(stop=lambda: len(out) >= 5, timeout=10):
            out.append(event.message)
        return out

    assert asyncio.run(collect()) == got


def test_the_dashboard_data_is_public_api() -> None:
    import specflow

    for name in ("Board", "Card", "Action", "Timeline", "Entry", "StepCheck", "RefusedWrite"):
        assert name in specflow.__all__ and getattr(specflow, name).__module__.startswith("specflow.engine.")
    for name in ("EventReader", "LoggedEvent", "BackgroundRun"):
        assert name in specflow.__all__ and getattr(specflow, name).__module__.startswith("specflow.engine.")
