"""The adapter protocol: how specflow runs an agent, whatever the agent is.

An adapter takes an ``AgentRequest`` and returns an ``AgentResult``, streaming ``AgentEvent``s to
a callback while it works so the CLI can show progress.  Adapters never raise for an agent that
fails: a crash, a timeout or an error result is a result with ``ok == False`` and a reason.
They raise ``AgentError`` only when the agent cannot be started at all (binary missing, bad
configuration).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from specflow.sandbox.settings import SandboxSettings
from specflow.structs import Struct, field
from specflow.workspace.gates import GatePolicy

EventKind = Literal["start", "text", "tool", "refused", "output", "warning", "result", "phase", "step", "sandbox"]
Status = Literal["success", "error", "timeout", "crashed"]


class AgentEvent(Struct, frozen=True):
    """Something the agent did, for live progress: a tool call, a refused call, some text."""

    kind: EventKind
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


EventCallback = Callable[[AgentEvent], None]


def ignore_event(event: AgentEvent) -> None:
    """The default event callback: drop the event."""


class AgentRequest(Struct, frozen=True):
    """Everything an adapter needs to run one phase attempt."""

    prompt: str
    cwd: Path
    gate: GatePolicy
    hub: Path
    change_id: str
    phase: str
    transcript_dir: Path
    model: str | None = None
    resume_session: str | None = None
    max_turns: int | None = None
    timeout: float | None = None
    budget_usd: float | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    """Adapter-specific settings from the agent's configuration (argv, binary path, ...)."""
    sandbox: SandboxSettings = field(default_factory=lambda: SandboxSettings(mode="off"))
    """How the agent's process tree is confined (``specflow.sandbox``).  The engine always fills it
    from ``specflow.yaml`` (default ``auto``); a request built by hand asks for no layer unless it says so."""


#: How much of an agent's final answer a history event keeps (the transcript has all of it).
FINAL_TEXT_LIMIT = 8000


def clip_text(text: str, limit: int = FINAL_TEXT_LIMIT, dropped: int = 0) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out.

    ``dropped`` counts output cut before ``text`` was built (past the in-memory cap); it is added to
    what the marker says is missing.
    """
    if len(text) <= limit and not dropped:
        return text
    if not dropped:
        return text[:limit] + f"\n[… {len(text) - limit} more characters in the transcript]"
    more = max(len(text) - limit, 0) + dropped
    return text[:limit] + f"\n[… {more:,} more characters of output not in the record; see the transcript]"


#: How much of a tool input or a line is kept in events and history.
SNIPPET_LIMIT = 200


def clip_line(text: str, limit: int = SNIPPET_LIMIT) -> str:
    """``text`` stripped and shortened to ``limit`` characters, an ellipsis marking the cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_input(value: Any, limit: int = SNIPPET_LIMIT) -> Any:
    """A tool input with long strings shortened and long lists cut, for events and history."""
    if isinstance(value, str):
        return clip_line(value, limit)
    if isinstance(value, Mapping):
        return {str(k): clip_input(v, limit) for k, v in list(value.items())[:50]}
    if isinstance(value, list):
        return [clip_input(v, limit) for v in value[:20]]
    return value


#: The input key naming what each well-known tool acts on.
_TARGET_KEYS = {
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Read": "file_path",
    "NotebookEdit": "notebook_path",
    "Bash": "command",
    "Glob": "pattern",
    "Grep": "pattern",
    "WebFetch": "url",
    "WebSearch": "query",
    "Task": "description",
    "Agent": "description",
}


def tool_target(tool: str, tool_input: Mapping[str, Any], cwd: Path | None = None) -> str:
    """What a tool call acts on, in a few words: a file, a command, a pattern, a URL."""
    key = _TARGET_KEYS.get(tool)
    value: Any = tool_input.get(key) if key else None
    if value is None:
        value = next((v for v in tool_input.values() if isinstance(v, str) and v), "")
    target = str(value)
    if key in ("file_path", "notebook_path") and cwd is not None and target.startswith("/"):
        with contextlib.suppress(ValueError):
            target = Path(target).relative_to(cwd).as_posix()
    return clip_line(target.splitlines()[0] if target.strip() else target, 120)


class AgentResult(Struct):
    """What an attempt produced.  ``status == "success"`` is the only good outcome."""

    status: Status
    final_text: str = ""
    error: str | None = None
    session_id: str | None = None
    cost_usd: float | None = None
    tokens: dict[str, int] = field(default_factory=dict)
    num_turns: int | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    refused_calls: list[dict[str, Any]] = field(default_factory=list)
    transcript_path: Path | None = None
    exit_code: int | None = None
    duration_s: float = 0.0
    model: str | None = None
    output_cut: int = 0
    """Bytes of the agent's answer not held in memory (past ``OUTPUT_LIMIT``), so not in ``final_text``."""
    sandbox: str | None = None
    """The sandbox layer that held the agent (``landlock``, ``bubblewrap``, ``seatbelt``, ``off``)."""

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def to_dict(self) -> dict[str, Any]:
        """The fields recorded in a history event."""
        return {
            "status": self.status,
            "error": self.error,
            "final_text": clip_text(self.final_text, dropped=self.output_cut),
            "session_id": self.session_id,
            "cost_usd": self.cost_usd,
            "tokens": dict(self.tokens),
            "num_turns": self.num_turns,
            "tool_calls": len(self.tool_calls),
            "refused_calls": list(self.refused_calls),
            "transcript": str(self.transcript_path) if self.transcript_path else None,
            "exit_code": self.exit_code,
            "duration_s": round(self.duration_s, 3),
            "model": self.model,
            "sandbox": self.sandbox,
        } | ({"output_cut": self.output_cut} if self.output_cut else {})


@runtime_checkable
class Adapter(Protocol):
    """Runs an agent.  Implementations are registered by name (see ``specflow.agents``)."""

    name: str

    def run(self, request: AgentRequest, on_event: EventCallback = ignore_event) -> AgentResult:
        """Run the agent once and return its result; never raise for an agent that failed."""
        ...


class Started(Protocol):
    """An agent started ahead of its prompt (``StartsAhead.start``), waiting for it."""

    def finish(self, prompt: str) -> AgentResult:
        """Send ``prompt``, run the agent to its end and return its result."""
        ...

    def cancel(self) -> None:
        """Stop the agent, which never got its prompt, and everything started for it."""
        ...


@runtime_checkable
class StartsAhead(Protocol):
    """An adapter that can start, ahead of the phase's checkpoint, whatever of its run cannot
    change the workspace: an agent that writes nothing before it has read its prompt (Claude
    Code), or the sandbox's helper holding a program back (any ``command`` agent, which may write
    before it reads its stdin).  The slow start then overlaps the checkpoint: the attempt starts
    it, renders the prompt and takes the checkpoint, and only then has it go on with the prompt
    (``Started.finish``).
    """

    def start(self, request: AgentRequest, on_event: EventCallback = ignore_event) -> Started:
        """Start the agent for ``request`` without its prompt (``request.prompt`` is not read: the
        prompt comes with ``Started.finish``); raise as ``run`` does when it cannot."""
        ...
