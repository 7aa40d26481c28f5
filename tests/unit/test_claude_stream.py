"""The stream-json parser, on transcripts recorded from the real Claude Code binary.

The transcripts in ``tests/claude/transcripts/`` were produced by ``tests/claude/record_transcripts.py``
(Claude Code 2.1.330 against the scripted Messages API).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specflow.agents.base import AgentEvent
from specflow.agents.claude.stream import (
    MAX_WARNINGS,
    StreamParser,
    StreamSummary,
    parse_lines,
    tokens_from_usage,
    tool_target,
)

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "claude" / "transcripts"


def load(name: str) -> list[str]:
    return (TRANSCRIPTS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()


def parse(name: str) -> tuple[StreamSummary, list[AgentEvent]]:
    events: list[AgentEvent] = []
    summary = parse_lines(load(name), events.append)
    return summary, events


def raw_result(name: str) -> dict[str, object]:
    return json.loads(load(name)[-1])  # type: ignore[no-any-return]


def test_a_guarded_propose_run_gives_session_cost_tokens_tools_and_the_refusal() -> None:
    summary, _events = parse("propose_guarded")
    init = json.loads(load("propose_guarded")[0])
    assert summary.session_id == init["session_id"]
    assert summary.result_seen and summary.subtype == "success" and not summary.is_error
    assert summary.final_text == "Proposal written."
    assert summary.num_turns == 5
    assert summary.cost_usd == pytest.approx(raw_result("propose_guarded")["total_cost_usd"])
    assert summary.tokens == {
        "input_tokens": 600,
        "output_tokens": 150,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert [c["tool"] for c in summary.tool_calls] == ["Read", "Write", "Write", "Bash"]
    assert summary.tool_calls[1]["target"] == "openspec/changes/add-login/proposal.md"
    assert summary.tool_calls[3]["target"] == "ls openspec/changes"
    (refused,) = summary.refused_calls
    assert refused["tool"] == "Write" and refused["target"] == "README.md"
    assert refused["source"] == "hook"
    assert refused["reason"].startswith("specflow gate: Write of ")
    assert "openspec/changes/add-login/**" in refused["reason"]
    assert summary.warnings == []


def test_events_arrive_in_order_with_targets() -> None:
    _, events = parse("propose_guarded")
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "result"
    tools = [e.message for e in events if e.kind == "tool"]
    assert tools == [
        "Read README.md",
        "Write openspec/changes/add-login/proposal.md",
        "Write README.md",
        "Bash ls openspec/changes",
    ]
    refused_at = kinds.index("refused")
    assert events[refused_at - 1].message == "Write README.md"  # reported live, right after the call
    assert kinds.count("refused") == 1  # not reported again from permission_denials
    assert events[refused_at].message == "Write README.md: refused by specflow's guard hook"
    assert any(e.kind == "text" and e.message == "Proposal written." for e in events)
    assert events[0].data["session_id"] == events[-1].data["session_id"]


def test_a_refusal_by_the_permission_rules_is_reported_live_from_the_system_event() -> None:
    summary, events = parse("permission_rules")
    (refused,) = summary.refused_calls
    assert refused["tool"] == "Write" and refused["target"] == "README.md"
    assert refused["source"] == "mode"
    assert "denied" in refused["reason"]
    assert [e.message for e in events if e.kind == "refused"] == ["Write README.md: refused by the permission rules"]


def test_read_only_run_lists_the_refused_bash_write_and_the_missing_write_tool() -> None:
    summary, _ = parse("explore_read_only")
    assert summary.subtype == "success"
    by_tool = {(r["tool"], r["source"]) for r in summary.refused_calls}
    assert by_tool == {("Bash", "mode"), ("Write", "disallowed")}
    assert "Write" not in summary.tools and "Edit" not in summary.tools
    assert summary.permission_mode == "dontAsk"


def test_max_turns_and_budget_error_results() -> None:
    turns, _ = parse("max_turns")
    assert turns.subtype == "error_max_turns" and turns.is_error
    assert turns.errors == ["Reached maximum number of turns (2)"]
    budget, _ = parse("budget")
    assert budget.subtype == "error_max_budget_usd" and budget.is_error
    assert budget.cost_usd is not None and budget.cost_usd > 0.002


def test_a_resumed_run_counts_only_its_own_cost() -> None:
    first, _ = parse("resume_first")
    resumed, _ = parse("resumed")
    assert resumed.session_id == first.session_id
    assert resumed.session_cost_usd == pytest.approx(raw_result("resumed")["total_cost_usd"])
    assert first.cost_usd is not None and resumed.session_cost_usd is not None
    assert resumed.session_cost_usd == pytest.approx(2 * first.cost_usd)
    assert resumed.cost_usd == pytest.approx(first.cost_usd)  # not the session's running total


def test_a_missing_session_is_an_error_result_without_init() -> None:
    summary, events = parse("resume_missing")
    assert summary.subtype == "error_during_execution"
    assert summary.num_turns == 0
    assert "No conversation found" in summary.errors[0]
    assert [e.kind for e in events] == ["result"]


def test_a_run_killed_mid_way_has_a_session_but_no_result() -> None:
    summary, events = parse("hang_killed")
    assert summary.session_id is not None
    assert not summary.result_seen and summary.cost_usd is None and summary.num_turns is None
    assert [e.kind for e in events] == ["start"]


def test_malformed_lines_are_reported_not_fatal() -> None:
    lines = load("propose_guarded")
    broken = [lines[0], "this is not json", "[1, 2]", '{"type": "assistant", "message": 7}', *lines[1:]]
    events: list[AgentEvent] = []
    summary = parse_lines(broken, events.append)
    warnings = [e for e in events if e.kind == "warning"]
    assert len(warnings) == 3
    assert "line 2 is not JSON" in warnings[0].message
    assert "line 3 is not a JSON object" in warnings[1].message
    assert "line 4 (assistant)" in warnings[2].message
    assert summary.warnings == [w.message for w in warnings]
    assert summary.subtype == "success" and summary.final_text == "Proposal written."


def test_a_torn_last_line_is_a_warning_and_tokens_fall_back_to_the_messages() -> None:
    lines = load("max_turns")
    torn = [*lines[:-1], lines[-1][: len(lines[-1]) // 2]]
    summary = parse_lines(torn)
    assert not summary.result_seen
    assert len(summary.warnings) == 1
    assert summary.tokens["input_tokens"] > 0  # summed from the assistant messages' usage
    assert summary.final_text == "Once more."


def test_lines_fed_one_by_one_give_events_as_they_come() -> None:
    events: list[AgentEvent] = []
    parser = StreamParser(events.append)
    lines = load("propose_guarded")
    parser.feed(lines[0])
    assert [e.kind for e in events] == ["start"]
    parser.feed("")
    parser.feed(lines[1])
    assert events[-1].kind == "text"
    for line in lines[2:]:
        parser.feed(line)
    assert parser.finish().result_seen


def test_tool_target_and_tokens_helpers(tmp_path: Path) -> None:
    assert tool_target("Write", {"file_path": str(tmp_path / "a" / "b.md")}, tmp_path) == "a/b.md"
    assert tool_target("Write", {"file_path": "/elsewhere/x"}, tmp_path) == "/elsewhere/x"
    assert tool_target("Bash", {"command": "echo hi\necho there"}) == "echo hi"
    assert tool_target("NotebookEdit", {"notebook_path": "n.ipynb"}) == "n.ipynb"
    assert tool_target("Mystery", {"n": 1, "what": "thing"}) == "thing"
    assert tool_target("Grep", {"pattern": "x" * 300}).endswith("…")
    assert tokens_from_usage({"input_tokens": 3, "output_tokens": True, "other": 9}) == {"input_tokens": 3}
    assert tokens_from_usage(None) == {}


def test_an_absurdly_nested_line_is_reported_not_fatal() -> None:
    from specflow.agents.claude.stream import StreamParser

    events: list[object] = []
    parser = StreamParser(events.append)
    parser.feed("[" * 100_000 + "]" * 100_000 + "\n")
    assert parser.finish().session_id is None
    assert any("could not be read" in getattr(e, "message", "") for e in events)


def test_a_stream_of_garbage_keeps_a_bounded_number_of_warnings() -> None:
    summary = parse_lines([f"garbage {i}" for i in range(MAX_WARNINGS + 50)])
    assert len(summary.warnings) == MAX_WARNINGS
    assert summary.warnings[0].startswith("line 1 is not JSON")
