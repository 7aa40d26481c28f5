"""A validation finding and a report of them: OpenSpec's levels and its ``{level, path, message}``.

A leaf module, so the rule modules (``validate``, ``taskcheck``) can all produce issues without
importing each other.
"""

from __future__ import annotations

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


class Report:
    """The issues of one item (a plain class: ``dataclasses`` costs ``validate`` ~7 ms to import)."""

    __slots__ = ("issues",)

    def __init__(self, issues: list[Issue] | None = None) -> None:
        self.issues: list[Issue] = [] if issues is None else issues

    def __repr__(self) -> str:
        return f"Report(issues={self.issues!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Report) and self.issues == other.issues

    __hash__ = None  # type: ignore[assignment]  # mutable, so not hashable

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
