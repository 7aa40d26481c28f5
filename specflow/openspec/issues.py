"""A validation finding and a report of them: OpenSpec's levels and its ``{level, path, message}``.

A leaf module, so the rule modules (``validate``, ``taskcheck``) can all produce issues without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

ERROR = "ERROR"
WARNING = "WARNING"
INFO = "INFO"


class Issue(NamedTuple):
    """One finding: level, where (OpenSpec's ``path``), what, and the line when known."""

    level: str
    path: str
    message: str
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        """``{level, path, [line,] message}`` in OpenSpec's key order."""
        if self.line is None:
            return {"level": self.level, "path": self.path, "message": self.message}
        return {"level": self.level, "path": self.path, "line": self.line, "message": self.message}


@dataclass
class Report:
    """The issues of one item."""

    issues: list[Issue] = field(default_factory=list)

    def count(self, level: str) -> int:
        """How many issues have ``level``."""
        return sum(1 for i in self.issues if i.level == level)

    def valid(self, strict: bool = False) -> bool:
        """OpenSpec's verdict: no ERROR (strict: and no WARNING)."""
        failing = (ERROR, WARNING) if strict else (ERROR,)
        return not any(i.level in failing for i in self.issues)

    def summary(self) -> dict[str, int]:
        """``{errors, warnings, info}``."""
        return {"errors": self.count(ERROR), "warnings": self.count(WARNING), "info": self.count(INFO)}


__all__ = ["ERROR", "INFO", "WARNING", "Issue", "Report"]
