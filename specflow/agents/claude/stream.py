"""Claude Code's ``--output-format stream-json`` output, parsed one line at a time as it arrives.

Each line is one JSON object: ``system``/``init`` (session id, model, tools), ``assistant``
(one text or tool_use block a line), ``user`` (tool results), ``system``/``permission_denied``
(a call refused by the permission rules), and finally ``result`` (subtype, turns, cost, usage,
``permission_denials``).  The parser turns what matters into ``AgentEvent``s for live progress and
keeps what the attempt's history needs in a ``StreamSummary``.  A malformed line is reported as a
``warning`` event and skipped, never fatal: the result line is what decides the outcome.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
from specflow.agents.claude.hook import GUARD_PREFIX, WRITE_TOOLS
from specflow.structs import Struct, field

#: How much of an assistant text is kept in its event.
_TEXT_SNIPPET = 2000
#: Warnings kept in the summary (each is still sent as an event).
MAX_WARNINGS = 100

#: The token counts kept, under the API's own names (what ``specflow status`` reads).
_TOKEN_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def _result_text(content: Any) -> str:
    """The text of a tool_result's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, Mapping) and b.get("type") == "text")
    return ""


def tokens_from_usage(usage: Any) -> dict[str, int]:
    """The integer token counts of an API ``usage`` object (``input_tokens``, ``output_tokens``, ...)."""
    tokens: dict[str, int] = {}
    if not isinstance(usage, Mapping):
        return tokens
    for key in _TOKEN_KEYS:
        value = usage.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            tokens[key] = value
    return tokens


class StreamSummary(Struct):
    """Everything the history needs from one run's stream."""

    session_id: str | None = None
    model: str | None = None
    cwd: str | None = None
    permission_mode: str | None = None
    tools: list[str] = field(default_factory=list)
    final_text: str = ""
    result_seen: bool = False
    subtype: str | None = None
    is_error: bool = False
    errors: list[str] = field(default_factory=list)
    num_turns: int | None = None
    cost_usd: float | None = None
    """This run's cost (a resumed session's ``total_cost_usd`` also counts the earlier runs)."""
    session_cost_usd: float | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    refused_calls: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lines: int = 0


class StreamParser:
    """Feed it Claude Code's stdout line by line; it calls ``on_event`` and fills a summary."""

    def __init__(self, on_event: EventCallback = ignore_event, cwd: Path | None = None) -> None:
        self._emit = on_event
        self._cwd = cwd
        self.summary = StreamSummary()
        self._tools_by_id: dict[str, dict[str, Any]] = {}
        self._refused_ids: set[str] = set()
        self._usage_by_message: dict[str, dict[str, int]] = {}
        self._last_text = ""

    # -- input -------------------------------------------------------------------------------

    def feed(self, line: str) -> None:
        """Parse one line of output; blank lines are ignored, malformed ones reported."""
        self.summary.lines += 1
        if not line.strip():
            return
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            self._warn(f"line {self.summary.lines} is not JSON ({exc.msg}): {clip_line(line, 120)}")
            return
        except (RecursionError, ValueError) as exc:  # absurdly nested, or otherwise undecodable
            self._warn(f"line {self.summary.lines} could not be read ({type(exc).__name__}): {clip_line(line, 120)}")
            return
        if not isinstance(obj, dict):
            self._warn(f"line {self.summary.lines} is not a JSON object: {clip_line(line, 120)}")
            return
        kind = obj.get("type")
        try:
            if kind == "system":
                self._system(obj)
            elif kind == "assistant":
                self._assistant(obj)
            elif kind == "user":
                self._user(obj)
            elif kind == "result":
                self._result(obj)
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            self._warn(f"line {self.summary.lines} ({kind}) has an unexpected shape: {exc}")

    def finish(self) -> StreamSummary:
        """The summary, with fallbacks filled in for a run that ended without a result line."""
        s = self.summary
        if not s.tokens and self._usage_by_message:
            total: dict[str, int] = {}
            for usage in self._usage_by_message.values():
                for k, v in usage.items():
                    total[k] = total.get(k, 0) + v
            s.tokens = total
        if not s.final_text:
            s.final_text = self._last_text
        return s

    # -- line kinds --------------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        if len(self.summary.warnings) < MAX_WARNINGS:  # a stream of garbage must not fill memory
            self.summary.warnings.append(message)
        self._emit(AgentEvent("warning", message))

    def _system(self, obj: dict[str, Any]) -> None:
        subtype = obj.get("subtype")
        if subtype == "init":
            s = self.summary
            s.session_id = obj.get("session_id") or s.session_id
            s.model = obj.get("model") or s.model
            s.cwd = obj.get("cwd")
            s.permission_mode = obj.get("permissionMode")
            s.tools = [str(t) for t in obj.get("tools") or []]
            self._emit(
                AgentEvent(
                    "start",
                    f"Claude Code session {s.session_id} ({s.model}, {s.permission_mode} mode)",
                    {
                        "session_id": s.session_id,
                        "model": s.model,
                        "cwd": s.cwd,
                        "permission_mode": s.permission_mode,
                        "version": obj.get("claude_code_version"),
                    },
                )
            )
        elif subtype == "permission_denied":
            self._refuse(
                str(obj.get("tool_use_id") or ""),
                str(obj.get("tool_name") or "?"),
                None,
                str(obj.get("message") or "refused by the permission rules"),
                str(obj.get("decision_reason_type") or "permissions"),
            )

    def _assistant(self, obj: dict[str, Any]) -> None:
        message = obj.get("message") or {}
        if obj.get("parent_tool_use_id"):
            return  # a subagent's inner turn: its tool calls are reported by their own lines
        usage = tokens_from_usage(message.get("usage"))
        if usage and message.get("id"):
            self._usage_by_message[str(message["id"])] = usage
        if message.get("model") and not self.summary.model:
            self.summary.model = str(message["model"])
        for block in message.get("content") or []:
            if not isinstance(block, Mapping):
                continue
            if block.get("type") == "text" and str(block.get("text", "")).strip():
                text = str(block["text"])
                self._last_text = text
                self._emit(AgentEvent("text", clip_line(text, _TEXT_SNIPPET), {"text": text}))
            elif block.get("type") == "tool_use":
                tool = str(block.get("name") or "?")
                raw_input = block.get("input")
                tool_input: Mapping[str, Any] = raw_input if isinstance(raw_input, Mapping) else {}
                target = tool_target(tool, tool_input, self._cwd)
                call = {
                    "id": str(block.get("id") or ""),
                    "tool": tool,
                    "target": target,
                    "input": clip_input(tool_input),
                }
                self._tools_by_id[call["id"]] = call
                self.summary.tool_calls.append(call)
                self._emit(AgentEvent("tool", f"{tool} {target}".rstrip(), dict(call)))

    def _user(self, obj: dict[str, Any]) -> None:
        content = (obj.get("message") or {}).get("content")
        if not isinstance(content, list):
            return
        decisions = _permission_decisions(obj.get("tool_result_meta"))
        for block in content:
            if not isinstance(block, Mapping) or block.get("type") != "tool_result":
                continue
            tool_id = str(block.get("tool_use_id") or "")
            text = _result_text(block.get("content"))
            call = self._tools_by_id.get(tool_id, {})
            is_error = bool(block.get("is_error"))
            decision = decisions.get(tool_id, {})
            if is_error and (decision.get("decision") in _REFUSED or GUARD_PREFIX in text):
                source = str(decision.get("source") or ("hook" if GUARD_PREFIX in text else ""))
                # Claude Code may wrap the guard's answer ("PreToolUse:Write hook error: ...").
                reason = text[text.index(GUARD_PREFIX) :] if GUARD_PREFIX in text else text
                self._refuse(tool_id, str(call.get("tool", "?")), None, reason.strip(), source)
                continue
            if is_error and call.get("tool") in WRITE_TOOLS and _NOT_OFFERED in text:
                # A writing tool removed for a read-only phase: the write was refused.
                self._refuse(tool_id, str(call["tool"]), None, text.strip(), "disallowed")
                continue
            if tool_id in self._refused_ids:
                continue
            first = clip_line(text.strip().splitlines()[0] if text.strip() else "", 160)
            self._emit(
                AgentEvent(
                    "output",
                    ("error: " if is_error else "") + first,
                    {"id": tool_id, "tool": call.get("tool"), "is_error": is_error},
                )
            )

    def _refuse(
        self,
        tool_id: str,
        tool: str,
        tool_input: Mapping[str, Any] | None,
        reason: str,
        source: str = "",
    ) -> None:
        if tool_id and tool_id in self._refused_ids:
            return
        call = self._tools_by_id.get(tool_id)
        if tool_input is None:
            tool_input = call.get("input", {}) if call else {}
        target = call["target"] if call else tool_target(tool, tool_input, self._cwd)
        record = {
            "id": tool_id,
            "tool": tool,
            "target": target,
            "reason": clip_line(reason, 400),
            "source": source or "permissions",
            "input": clip_input(tool_input),
        }
        if tool_id:
            self._refused_ids.add(tool_id)
        self.summary.refused_calls.append(record)
        by = _REFUSED_BY.get(record["source"], "the permission rules")
        self._emit(AgentEvent("refused", f"{tool} {target}: refused by {by}", dict(record)))

    def _result(self, obj: dict[str, Any]) -> None:
        s = self.summary
        s.result_seen = True
        s.subtype = str(obj.get("subtype") or "")
        s.is_error = bool(obj.get("is_error"))
        s.session_id = obj.get("session_id") or s.session_id
        errors = obj.get("errors")
        if isinstance(errors, list):
            s.errors = [str(e) for e in errors]
        if isinstance(obj.get("result"), str):
            s.final_text = obj["result"]
        turns = obj.get("num_turns")
        s.num_turns = turns if isinstance(turns, int) else None
        total = obj.get("total_cost_usd")
        s.session_cost_usd = float(total) if isinstance(total, (int, float)) else None
        s.cost_usd = _run_cost(obj.get("model_usage_since_last_result"), s.session_cost_usd)
        s.tokens = tokens_from_usage(obj.get("usage"))
        for denial in obj.get("permission_denials") or []:
            if isinstance(denial, Mapping):
                tool_input = denial.get("tool_input")
                self._refuse(
                    str(denial.get("tool_use_id") or ""),
                    str(denial.get("tool_name") or "?"),
                    tool_input if isinstance(tool_input, Mapping) else {},
                    "refused by Claude Code's permission rules or specflow's guard hook",
                )
        cost = f"${s.cost_usd:.4f}" if s.cost_usd is not None else "cost unknown"
        tokens = sum(s.tokens.values())
        self._emit(
            AgentEvent(
                "result",
                f"{s.subtype or 'result'}: {s.num_turns} turns, {cost}, {tokens} tokens",
                {
                    "subtype": s.subtype,
                    "is_error": s.is_error,
                    "num_turns": s.num_turns,
                    "cost_usd": s.cost_usd,
                    "session_cost_usd": s.session_cost_usd,
                    "tokens": dict(s.tokens),
                    "session_id": s.session_id,
                },
            )
        )


_REFUSED = frozenset({"reject", "deny"})
_NOT_OFFERED = "No such tool available"
_REFUSED_BY = {"hook": "specflow's guard hook", "disallowed": "the phase (tool not offered)"}


def _permission_decisions(meta: Any) -> dict[str, Mapping[str, Any]]:
    """tool_use_id -> Claude Code's permission decision, from a user line's ``tool_result_meta``."""
    out: dict[str, Mapping[str, Any]] = {}
    if isinstance(meta, list):
        for item in meta:
            if isinstance(item, Mapping) and isinstance(item.get("permission_decision"), Mapping):
                out[str(item.get("id") or "")] = item["permission_decision"]
    return out


def _run_cost(since_last: Any, session_total: float | None) -> float | None:
    """This run's cost: the per-model costs since the last result, else the session's total."""
    if isinstance(since_last, Mapping) and since_last:
        costs = [
            float(m["costUSD"])
            for m in since_last.values()
            if isinstance(m, Mapping) and isinstance(m.get("costUSD"), (int, float))
        ]
        if costs:
            return sum(costs)
    return session_total


def parse_lines(lines: list[str], on_event: EventCallback = ignore_event) -> StreamSummary:
    """Parse a whole recorded stream (a transcript's lines)."""
    parser = StreamParser(on_event)
    for line in lines:
        parser.feed(line)
    return parser.finish()


__all__ = [
    "GUARD_PREFIX",
    "MAX_WARNINGS",
    "StreamParser",
    "StreamSummary",
    "parse_lines",
    "tokens_from_usage",
    "tool_target",
]
