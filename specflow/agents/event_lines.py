"""The event-line protocol: how any ``command`` agent reports tool calls, text, cost and tokens.

A line the agent writes on its stderr that is a JSON object with a ``"specflow"`` key is an event::

    {"specflow": 1, "event": "session", "id": "run-42"}
    {"specflow": 1, "event": "tool", "name": "Edit", "input": {"file_path": "src/app.py"}}
    {"specflow": 1, "event": "text", "text": "The handler needs a rate limit."}
    {"specflow": 1, "event": "tokens", "input": 1200, "output": 310}
    {"specflow": 1, "event": "cost", "usd": 0.0123}

``cost`` and ``tokens`` events add up over the run (``"total_usd"`` instead of ``"usd"`` sets the
run's cost outright, for tools that report a running total).  Every other line — plain text, JSON
without a ``"specflow"`` key, a line that is not valid JSON — is a plain progress line, as before
the protocol existed.  An event of an unknown kind or with fields of the wrong shape is reported as
a ``warning`` event and skipped: never fatal, so an agent written for a newer specflow still runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from specflow.agents.base import (
    AgentEvent,
    EventCallback,
    clip_input,
    clip_line,
    ignore_event,
    tool_target,
)
from specflow.structs import Struct, field

PROTOCOL_VERSION = 1
#: The event kinds this version reads.
KINDS = ("cost", "session", "text", "tokens", "tool")
#: ``tokens`` fields and the names the history keeps them under (Claude Code's, which ``status`` reads).
TOKEN_FIELDS = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cache_read": "cache_read_input_tokens",
    "cache_creation": "cache_creation_input_tokens",
}
#: Tool calls kept in the result; past this many they are counted only.
MAX_TOOL_CALLS = 10_000
#: Warnings kept in the summary (each is still sent as an event); past this many they are dropped.
MAX_WARNINGS = 100
_TEXT_SNIPPET = 2000


class _Shape(ValueError):
    """A field of an event has the wrong type or value."""


class EventSummary(Struct):
    """What a run reported through the protocol, for its ``AgentResult``."""

    session_id: str | None = None
    cost_usd: float | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_count: int = 0
    last_text: str = ""
    events: int = 0
    warnings: list[str] = field(default_factory=list)


def _number(obj: dict[str, Any], key: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != value:
        raise _Shape(f"'{key}' must be a number of 0 or more, not {json.dumps(value)}")
    return float(value)


def _count(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Shape(f"'{key}' must be a whole number of 0 or more, not {json.dumps(value)}")
    return value


def _string(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _Shape(f"'{key}' must be a non-empty string, not {json.dumps(value)}")
    return value


class EventLineReader:
    """Feed it the agent's stderr line by line; it calls ``on_event`` and fills a summary."""

    def __init__(self, on_event: EventCallback = ignore_event, cwd: Path | None = None) -> None:
        self._emit = on_event
        self._cwd = cwd
        self.summary = EventSummary()
        self._line = 0

    def feed(self, line: str) -> None:
        """Read one line: an event, or a plain progress line (blank lines are skipped)."""
        self._line += 1
        text = line.rstrip()
        if not text:
            return
        obj = _event_object(text)
        if obj is None:
            self._emit(AgentEvent("output", text))
            return
        try:
            self._event(obj)
        except _Shape as exc:
            self._warn(f"event line {self._line} ({obj.get('event')!r}) ignored: {exc}")

    def _warn(self, message: str) -> None:
        if len(self.summary.warnings) < MAX_WARNINGS:
            self.summary.warnings.append(message)
        self._emit(AgentEvent("warning", message))

    def _event(self, obj: dict[str, Any]) -> None:
        version = obj.get("specflow")
        if version != PROTOCOL_VERSION:
            raise _Shape(f"'specflow' must be {PROTOCOL_VERSION} (the version this specflow reads), not {version!r}")
        kind = obj.get("event")
        handler = {
            "cost": self._cost,
            "session": self._session,
            "text": self._text,
            "tokens": self._tokens,
            "tool": self._tool,
        }.get(kind if isinstance(kind, str) else "")
        if handler is None:
            self._warn(f"event line {self._line}: unknown event {json.dumps(kind)} ignored (known: {', '.join(KINDS)})")
            return
        handler(obj)
        self.summary.events += 1

    def _cost(self, obj: dict[str, Any]) -> None:
        s = self.summary
        if "total_usd" in obj:
            s.cost_usd = _number(obj, "total_usd")
        else:
            s.cost_usd = (s.cost_usd or 0.0) + _number(obj, "usd")
        self._emit(AgentEvent("output", f"cost so far ${s.cost_usd:.4f}", {"cost_usd": s.cost_usd}))

    def _tokens(self, obj: dict[str, Any]) -> None:
        known = [key for key in TOKEN_FIELDS if key in obj]
        if not known:
            raise _Shape(f"a tokens event needs one of {', '.join(TOKEN_FIELDS)}")
        counts = {TOKEN_FIELDS[key]: _count(obj, key) for key in known}
        for name, n in counts.items():
            self.summary.tokens[name] = self.summary.tokens.get(name, 0) + n

    def _session(self, obj: dict[str, Any]) -> None:
        self.summary.session_id = clip_line(_string(obj, "id"), 200)
        self._emit(AgentEvent("start", f"session {self.summary.session_id}", {"session_id": self.summary.session_id}))

    def _text(self, obj: dict[str, Any]) -> None:
        text = _string(obj, "text")
        self.summary.last_text = clip_line(text, _TEXT_SNIPPET)
        self._emit(AgentEvent("text", self.summary.last_text, {"text": self.summary.last_text}))

    def _tool(self, obj: dict[str, Any]) -> None:
        name = clip_line(_string(obj, "name"), 100)
        raw = obj.get("input", {})
        if not isinstance(raw, dict):
            raise _Shape(f"'input' must be an object, not {json.dumps(raw)[:80]}")
        target = tool_target(name, raw, self._cwd)
        call = {"id": str(obj.get("id") or ""), "tool": name, "target": target, "input": clip_input(raw)}
        s = self.summary
        s.tool_count += 1
        if len(s.tool_calls) < MAX_TOOL_CALLS:
            s.tool_calls.append(call)
        self._emit(AgentEvent("tool", f"{name} {target}".rstrip(), dict(call)))


def _event_object(text: str) -> dict[str, Any] | None:
    """The line as a protocol event object, or None for a plain line."""
    if not text.lstrip().startswith("{") or '"specflow"' not in text:
        return None  # the common case, decided without parsing
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) and "specflow" in obj else None


__all__ = [
    "KINDS",
    "MAX_TOOL_CALLS",
    "MAX_WARNINGS",
    "PROTOCOL_VERSION",
    "TOKEN_FIELDS",
    "EventLineReader",
    "EventSummary",
]
