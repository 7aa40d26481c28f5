"""What an audit found: each change outside the gate (``Violation``) and the whole ``AuditReport``."""

from __future__ import annotations

from typing import Any, Literal

from specflow.structs import Struct, field
from specflow.workspace.rejected import Rejected

ViolationKind = Literal["modified", "added", "deleted", "mode", "symlink", "commit", "head", "git", "index", "ref"]


class Violation(Struct, frozen=True):
    """One change outside the gate, already put back."""

    workspace: str
    path: str
    kind: ViolationKind
    detail: str
    saved: str = ""
    """Where what was put back or removed is kept: a ref, or a folder under the hub's git folder."""

    def to_dict(self) -> dict[str, str]:
        data = {"workspace": self.workspace, "path": self.path, "kind": self.kind, "detail": self.detail}
        if self.saved:
            data["saved"] = self.saved
        return data

    def describe(self) -> str:
        return f"{self.workspace}:{self.path} ({self.kind}: {self.detail})"


class AuditReport(Struct):
    """What an audit found: the violations it put back and the in-gate changes it kept."""

    checkpoint: int
    violations: list[Violation] = field(default_factory=list)
    kept: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    rejected: Rejected | None = None

    @property
    def ok(self) -> bool:
        """True when nothing was written outside the gate."""
        return not self.violations and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkpoint": self.checkpoint,
            "ok": self.ok,
            "violations": [v.to_dict() for v in self.violations],
            "kept": {k: list(v) for k, v in self.kept.items()},
            "errors": list(self.errors),
            **({"rejected": self.rejected.to_dict()} if self.rejected else {}),
        }

    def summary(self, limit: int = 8) -> str:
        """A short human report: how many changes were put back, and which."""
        if self.ok:
            n = sum(len(v) for v in self.kept.values())
            return f"no change outside the gate ({n} change(s) inside it kept)"
        parts = [v.describe() for v in self.violations[:limit]]
        more = len(self.violations) - limit
        if more > 0:
            parts.append(f"and {more} more")
        text = f"{len(self.violations)} change(s) outside the gate put back: " + "; ".join(parts)
        if self.errors:
            text += "; could not put back: " + "; ".join(self.errors)
        if self.rejected:
            text += f"; saved first: restore it with '{self.rejected.command}'"
        return text
