"""Helpers shared by the real-binary tests: the run marker, finding its processes, building requests.

A module of its own (not ``conftest``) so test modules can import it by a unique name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specflow.agents.base import AgentEvent, AgentRequest, AgentResult
from specflow.workspace.gates import GatePolicy

MARKER_ENV = "SPECFLOW_TEST_RUN"


def processes_with(marker: str, env_name: str = MARKER_ENV) -> list[int]:
    """Live (not zombie) processes of this user whose environment holds ``env_name=marker``."""
    needle = f"{env_name}={marker}".encode()
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


@dataclass
class ClaudeRun:
    """Builds and runs adapter requests on one hub folder with the quiet environment."""

    hub: Path
    binary: Path
    env: dict[str, str]
    transcripts: Path
    events: list[AgentEvent] = field(default_factory=list)

    def gate(self, *write: str, read_only: bool = False, phase: str = "propose") -> GatePolicy:
        return GatePolicy(hub=self.hub, write_globs=tuple(write), read_only=read_only, phase=phase, change_id="add-x")

    def request(self, prompt: str, gate: GatePolicy, **kw: Any) -> AgentRequest:
        options = {"binary": str(self.binary), **kw.pop("options", {})}
        return AgentRequest(
            prompt=prompt,
            cwd=kw.pop("cwd", self.hub),
            gate=gate,
            hub=self.hub,
            change_id="add-x",
            phase=gate.phase,
            transcript_dir=self.transcripts,
            env=self.env,
            timeout=kw.pop("timeout", 60),
            options=options,
            **kw,
        )

    def run(self, prompt: str, gate: GatePolicy, **kw: Any) -> AgentResult:
        from specflow.agents.claude.adapter import ClaudeCodeAdapter

        self.events.clear()
        return ClaudeCodeAdapter().run(self.request(prompt, gate, **kw), self.events.append)
