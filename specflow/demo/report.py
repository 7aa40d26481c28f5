"""What ``specflow demo`` tells its caller: a stream of ``DemoEvent``, then a ``DemoResult``.

The library never prints, so the demo reports each step as an event for the CLI to show, and
ends with a typed result saying where everything is.  ``Forward`` wraps the engine's and the
agent's live events as demo events, which is where a gate becomes one short line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from specflow.agents.base import AgentEvent
from specflow.changestate.recordtypes import Approval
from specflow.demo.agent_tools import REFUSED_PREFIX
from specflow.structs import Struct, field

_TOOL_LINE = re.compile(r"^(Read|Write|Edit|Bash|Grep|Glob)\s")

DemoEventKind = Literal["section", "command", "agent", "info", "warning", "file", "done"]


class DemoEvent(Struct, frozen=True):
    """One thing the demo did, for the CLI to show.

    ``section`` starts a numbered step; ``command`` is the CLI command a person would type for
    it; ``agent`` wraps the engine's and the agent's live events (``agent_event``); ``info`` and
    ``warning`` are facts; ``file`` names a file worth opening; ``done`` ends the demo.
    """

    kind: DemoEventKind
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)
    agent_event: AgentEvent | None = None


DemoCallback = Callable[[DemoEvent], None]


def ignore_demo_event(event: DemoEvent) -> None:
    """The default callback: drop the event."""


class DemoResult(Struct):
    """Where everything is once the demo has run, and what happened on the way."""

    root: Path
    hub: Path
    repos: dict[str, Path]
    change_id: str
    agent: str
    archived_dir: Path | None = None
    specs: list[Path] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: int = 0
    diff_stat: str = ""
    merges: list[dict[str, Any]] = field(default_factory=list)
    approval: Approval | None = None
    duration_s: float = 0.0

    def commands(self, prog: str = "specflow") -> list[tuple[str, str]]:
        """Commands to explore the result, each with what it shows (``prog``: how to run specflow)."""
        hub = shlex.quote(str(self.hub))
        cid = self.change_id
        out = [
            (f"{prog} -C {hub} status --all", "every change: state, phase, tasks, cost"),
            (f"{prog} -C {hub} history {cid} -v", "every attempt, its checks and the refused write"),
            (f"{prog} -C {hub} show greetings", "the living spec the change modified"),
            (f"{prog} -C {hub} checkpoints {cid}", "the snapshots taken before each agent turn"),
            (f"{prog} -C {hub} validate --all --strict", "the living specs, as OpenSpec checks them"),
            (f"git -C {hub} log --oneline --graph", "the hub: specflow's commit per attempt, published and landed"),
        ]
        for name, path in self.repos.items():
            out.append(
                (
                    f"git -C {shlex.quote(str(path))} log --oneline --graph",
                    f"the {name} repo: the change's branch merged",
                )
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "hub": str(self.hub),
            "repos": {k: str(v) for k, v in self.repos.items()},
            "change": self.change_id,
            "agent": self.agent,
            "archived": str(self.archived_dir) if self.archived_dir else None,
            "specs": [str(p) for p in self.specs],
            "attempts": dict(self.attempts),
            "refused": list(self.refused),
            "checkpoints": self.checkpoints,
            "diff_stat": self.diff_stat,
            "merges": list(self.merges),
            "approval": self.approval,
            "duration_s": round(self.duration_s, 3),
            "commands": [c for c, _ in self.commands()],
        }


def describe_gate(gate: Mapping[str, Any]) -> str:
    """A gate in one short line: ``gate: read-only`` or what the phase may write."""
    if gate.get("read_only"):
        return "gate: read-only (the agent may write nothing)"
    allowed = [f"the {Path(str(w)).name} worktree" for w in gate.get("worktrees") or []]
    allowed += [str(g) for g in gate.get("write") or []]
    return "gate: may write only " + (", ".join(allowed) if allowed else "nothing")


class Forward:
    """Wraps engine and agent events as demo events; the scripted agent's stderr lines that
    name a tool (``Write api/service.py``) become ``tool`` events, counted as turns."""

    def __init__(self, on_event: DemoCallback) -> None:
        self.on_event = on_event
        self.turn = 0
        self.refusals: list[str] = []
        self.layer: str | None = None

    def __call__(self, event: AgentEvent) -> None:
        if event.kind == "sandbox":
            self.layer = str(event.data.get("layer") or "off")
        if event.kind == "output" and event.message.startswith(REFUSED_PREFIX):
            self.refusals.append(event.message[len(REFUSED_PREFIX) :])
        if event.kind == "output" and _TOOL_LINE.match(event.message) and "label" not in event.data:
            self.turn += 1
            event = AgentEvent("tool", event.message, {**event.data, "turn": self.turn})
        elif event.kind == "phase" and isinstance(event.data.get("gate"), Mapping):
            event = AgentEvent("phase", describe_gate(event.data["gate"]), event.data)
        self.on_event(DemoEvent("agent", event.message, {"kind": event.kind}, agent_event=event))
