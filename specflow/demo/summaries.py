"""One-line summaries for the demo's report: what the agent wrote, and where a refused write landed.

Each reads a file or a record and puts it in the words of a ``DemoEvent``: the first paragraph
under a Markdown heading, the requirements each delta spec adds or changes, a path as a person
would name it, a long reason cut short.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def violation_path(violation: Mapping[str, Any], hub: Path) -> str:
    """Where a refused write landed, as a person would name it (hub-relative, or ``repo/path``)."""
    workspace = str(violation.get("workspace") or "hub")
    path = str(violation.get("path") or "")
    if os.path.isabs(path):
        try:
            return Path(os.path.realpath(path)).relative_to(os.path.realpath(hub)).as_posix()
        except ValueError:
            return path
    return path if workspace == "hub" else f"{workspace}/{path}"


def section(text: str, title: str) -> str:
    """The first paragraph under the Markdown heading ``## title`` (empty if absent)."""
    m = re.search(rf"^##\s+{re.escape(title)}\s*\n+(.+?)(?:\n\s*\n|\n#|\Z)", text, re.MULTILINE | re.DOTALL)
    return " ".join(m.group(1).split()) if m else ""


def delta_summary(change_dir: Path) -> list[str]:
    """One line per delta spec: ``greetings: ADDED Greeting endpoint; MODIFIED Greeting by name``."""
    lines: list[str] = []
    specs = change_dir / "specs"
    for path in sorted(specs.rglob("spec.md")) if specs.is_dir() else []:
        parts: list[str] = []
        op = ""
        for line in path.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^##\s+(ADDED|MODIFIED|REMOVED|RENAMED)\s+Requirements", line, re.IGNORECASE)
            if m:
                op = m.group(1).upper()
                continue
            m = re.match(r"^###\s*Requirement:\s*(.+?)\s*$", line)
            if m and op:
                parts.append(f"{op} {m.group(1)!r}")
        lines.append(f"{path.parent.relative_to(specs).as_posix()}: " + ("; ".join(parts) or "no requirements"))
    return lines


def shorten(text: str, width: int = 110) -> str:
    """``text`` cut to ``width`` characters, an ellipsis ending it when cut."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
