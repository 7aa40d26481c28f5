"""The event-line protocol read line by line: events, plain lines, malformed and unknown ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specflow.agents.base import AgentEvent
from specflow.agents.event_lines import MAX_TOOL_CALLS, MAX_WARNINGS, EventLineReader


def line(kind: Any, **fields: Any) -> str:
    return json.dumps({"specflow": 1, "event": kind, **fields}) + "\n"


def read(*lines: str, cwd: Path | None = None) -> tuple[EventLineReader, list[AgentEvent]]:
    events: list[AgentEvent] = []
    reader = EventLineReader(events.append, cwd=cwd)
    for text in lines:
        reader.feed(text)
    return reader, events


def test_every_kind_fills_the_summary_and_is_an_event(tmp_path: Path) -> None:
    reader, events = read(
        line("session", id="run-42"),
        line("tool", name="Edit", input={"file_path": str(tmp_path / "src" / "app.py"), "new_string": "x" * 500}),
        line("text", text="The handler needs a rate limit."),
        line("tokens", input=1200, output=300, cache_read=50),
        line("tokens", input=800, output=100),
        line("cost", usd=0.25),
        line("cost", usd=0.125),
        cwd=tmp_path,
    )
    s = reader.summary
    assert s.session_id == "run-42"
    assert s.cost_usd == pytest.approx(0.375)
    assert s.tokens == {"input_tokens": 2000, "output_tokens": 400, "cache_read_input_tokens": 50}
    assert [c["tool"] for c in s.tool_calls] == ["Edit"]
    assert s.tool_calls[0]["target"] == "src/app.py"
    assert len(s.tool_calls[0]["input"]["new_string"]) == 200  # clipped for the record
    assert s.last_text == "The handler needs a rate limit."
    assert s.events == 7 and s.warnings == []
    kinds = [(e.kind, e.message) for e in events]
    assert ("start", "session run-42") in kinds
    assert ("tool", "Edit src/app.py") in kinds
    assert ("text", "The handler needs a rate limit.") in kinds
    assert ("output", "cost so far $0.3750") in kinds


def test_a_running_total_sets_the_cost_outright() -> None:
    reader, _ = read(line("cost", usd=1.0), line("cost", total_usd=0.5), line("cost", usd=0.25))
    assert reader.summary.cost_usd == pytest.approx(0.75)


@pytest.mark.parametrize(
    "text",
    [
        "plain progress: compiling\n",
        '{"specflow": 1, "event": "cost", "usd": \n',  # cut short: not JSON
        '{"specflow": 1, "event": "cost", "usd": 0.5} trailing words\n',
        '{"level": "info", "msg": "an agent logging JSON of its own"}\n',
        '["specflow", 1]\n',
        '{"specflow": ' + "[" * 100_000 + "\n",  # nested past the parser's depth
    ],
)
def test_a_line_that_is_not_an_event_is_plain_progress(text: str) -> None:
    reader, events = read(text)
    assert [e.kind for e in events] == ["output"]
    assert events[0].message == text.rstrip()
    assert reader.summary.cost_usd is None and reader.summary.warnings == []


def test_blank_lines_are_skipped() -> None:
    assert read("\n", "   \n")[1] == []


def test_an_unknown_kind_is_a_warning_and_the_run_goes_on() -> None:
    reader, events = read(line("teleport", to="mars"), line("cost", usd=0.5))
    assert reader.summary.cost_usd == 0.5
    assert reader.summary.warnings == [
        'event line 1: unknown event "teleport" ignored (known: cost, session, text, tokens, tool)'
    ]
    assert events[0].kind == "warning"


@pytest.mark.parametrize(
    ("text", "warning"),
    [
        (line("cost", usd="0.5"), "event line 1 ('cost') ignored: 'usd' must be a number of 0 or more, not \"0.5\""),
        (line("cost", usd=-1), "'usd' must be a number of 0 or more, not -1"),
        (line("cost"), "'usd' must be a number of 0 or more, not null"),
        (line("tokens", input=1.5), "'input' must be a whole number of 0 or more, not 1.5"),
        (line("tokens", prompt=10), "a tokens event needs one of input, output, cache_read, cache_creation"),
        (line("tool", input={}), "'name' must be a non-empty string, not null"),
        (line("tool", name="Edit", input="a.py"), "'input' must be an object, not \"a.py\""),
        (line("session", id=7), "'id' must be a non-empty string, not 7"),
        (line("text", text=""), "'text' must be a non-empty string"),
        (json.dumps({"specflow": 2, "event": "cost", "usd": 1}), "'specflow' must be 1 (the version this specflow"),
        (json.dumps({"specflow": 1, "usd": 1}), "unknown event null ignored"),
    ],
)
def test_an_event_of_the_wrong_shape_is_a_warning(text: str, warning: str) -> None:
    reader, events = read(text)
    assert len(reader.summary.warnings) == 1 and warning in reader.summary.warnings[0]
    assert [e.kind for e in events] == ["warning"]
    assert reader.summary.cost_usd is None and reader.summary.tokens == {} and reader.summary.events == 0


def test_tool_calls_past_the_cap_are_counted_not_kept() -> None:
    reader, _ = read(*(line("tool", name="Read", input={"file_path": f"f{i}"}) for i in range(MAX_TOOL_CALLS + 5)))
    assert len(reader.summary.tool_calls) == MAX_TOOL_CALLS
    assert reader.summary.tool_count == MAX_TOOL_CALLS + 5


def test_warnings_past_the_cap_are_events_but_not_kept() -> None:
    reader, events = read(*(line("teleport") for _ in range(MAX_WARNINGS + 20)))
    assert len(reader.summary.warnings) == MAX_WARNINGS
    assert [e.kind for e in events] == ["warning"] * (MAX_WARNINGS + 20)
