"""What the scripted demo agent works with in every phase (``specflow.demo.agent``).

``Run`` is one run of the agent: the phase, the change, the hub, the gate and the prompt specflow
handed it, and the Read / Write / Edit steps it takes, each reported as a stderr line that specflow
shows as live progress.  ``DemoAgentError`` is how a phase says it cannot do its part.  They sit
below the phases' modules, which all use them, and below ``agent``, which dispatches to those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from specflow.structs import Struct, field

CAPABILITY = "greetings"
FAILED_MARKER = "## Why the last attempt failed"
#: How the agent reports a write the system refused (``specflow demo`` shows these lines).
REFUSED_PREFIX = "Refused "


class DemoAgentError(Exception):
    """The demo agent cannot do its part (not the example hub, an unknown phase, ...)."""


class Run(Struct):
    """One run of the agent: where it is, what it may write, and what it has said."""

    phase: str
    change_id: str
    hub: Path
    cwd: Path
    gate: Mapping[str, object]
    prompt: str
    log: Callable[[str], None] = field(default=lambda line: None)
    escaped: bool = False
    """True once a write outside the gate went through (no sandbox held it)."""

    @property
    def change_dir(self) -> Path:
        return self.hub / "openspec" / "changes" / self.change_id

    @property
    def retrying(self) -> bool:
        """True when the prompt says the previous attempt at this phase failed."""
        return FAILED_MARKER in self.prompt

    @property
    def worktrees(self) -> list[Path]:
        raw = self.gate.get("worktrees") or []
        return [Path(str(p)) for p in raw] if isinstance(raw, list) else []

    def rel(self, path: Path) -> str:
        """``path`` as a person would name it: relative to the hub or to the worktrees' folder."""
        for base in (*[w.parent for w in self.worktrees], self.hub, self.hub.parent):
            try:
                return path.relative_to(base).as_posix()
            except ValueError:
                continue
        return str(path)

    def tool(self, name: str, target: str) -> None:
        """Report a tool-call-like step on stderr (specflow shows it as live progress)."""
        self.log(f"{name} {target}")

    def read(self, path: Path) -> str:
        self.tool("Read", self.rel(path))
        return path.read_text(encoding="utf-8")

    def write(self, path: Path, text: str) -> None:
        self.tool("Write", self.rel(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def edit(self, path: Path, old: str, new: str, *, done_if: str | None = None) -> bool:
        """Replace ``old`` by ``new`` once; a no-op when ``done_if`` (default ``new``) is there."""
        text = path.read_text(encoding="utf-8")
        if (done_if or new) in text:
            return False
        if old not in text:
            raise DemoAgentError(
                f"{self.rel(path)} is not the example's file (cannot find {old.strip()[:40]!r});"
                " the scripted demo agent only knows the example hub"
            )
        self.tool("Edit", self.rel(path))
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return True
