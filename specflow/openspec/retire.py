"""Retiring a capability at archive: when a rebuilt spec left with no requirement is deleted
rather than written, and what to tell the user when a rebuilt spec can be neither.
"""

from __future__ import annotations

import re
from typing import Literal

from specflow.openspec.issues import ERROR
from specflow.openspec.merge import Built
from specflow.openspec.meta import METADATA_FILE
from specflow.openspec.validate import SPEC_NO_REQUIREMENTS, validate_spec_content

Outcome = Literal["write", "retire", "skip"]


def is_retirable(spec_id: str, rebuilt: str) -> bool:
    """True when the only thing wrong with ``rebuilt`` is that it has no requirements."""
    report = validate_spec_content(spec_id, rebuilt)
    if report.valid():
        return False
    errors = [i for i in report.issues if i.level == ERROR]
    return bool(errors) and all(i.message == SPEC_NO_REQUIREMENTS for i in errors)


def outcome(spec_id: str, exists: bool, built: Built, skip_validation: bool, retire: bool) -> Outcome:
    """What archive does with one rebuilt spec: write it, retire (delete) it, or skip a new empty one."""
    if not retire:
        return "write"
    if (
        skip_validation
        or not built.no_requirement_blocks
        or built.unaccounted
        or not is_retirable(spec_id, built.rebuilt)
    ):
        return "write"
    if not exists:
        return "skip"
    return "retire" if built.counts.removed > 0 else "write"


def refusal_fix(
    spec_id: str, exists: bool, built: Built, retire_declared: bool, retire_invalid: str | None
) -> str | None:
    """The fix to offer when a rebuilt spec fails validation because of retirement, else None."""
    sid = spec_id
    emptied = exists and built.counts.removed > 0 and built.no_requirement_blocks and is_retirable(sid, built.rebuilt)
    invalid = f" The marker present now cannot be honored ({retire_invalid})." if retire_invalid else ""
    if retire_declared and built.unaccounted and is_retirable(sid, built.rebuilt):
        return (
            f"'{sid}' declares retire_capabilities, but the spec holds content the merge cannot"
            " safely account for and deleting the file would take with it:"
            f" {describe_lines(built.unaccounted)}. Move it into `## Purpose` or a canonical"
            " requirement, or delete the spec by hand."
        )
    if not retire_declared and emptied and not built.unaccounted:
        return (
            f"This change removes the last requirement '{sid}' has. To retire the capability and"
            " delete its spec, add `retire_capabilities: true` to the change's"
            f" {METADATA_FILE} (alongside its `schema:`, which that file requires), then rerun." + invalid
        )
    if not retire_declared and emptied:
        return (
            f"This change removes the last requirement '{sid}' has, so the rebuilt spec has none"
            " left and cannot be written. Retiring the capability is what archive does instead,"
            " and it is refused while the spec holds content the merge cannot safely account for"
            f" and deleting the file would take with it: {describe_lines(built.unaccounted)}."
            " Move it into `## Purpose` or a canonical requirement, or delete the spec by hand,"
            " then rerun." + invalid
        )
    return None


def describe_lines(lines: list[str]) -> str:
    """Up to three lines, quoted and clipped, and how many more there are."""

    def clip(line: str) -> str:
        safe = re.sub("[\u0000-\u001f\u007f]", "?", line)
        return f'"{safe[:200]}\u2026"' if len(safe) > 200 else f'"{safe}"'

    shown = ", ".join(clip(line) for line in lines[:3])
    rest = f", and {len(lines) - 3} more line(s)" if len(lines) > 3 else ""
    return shown + rest


__all__ = ["Outcome", "describe_lines", "is_retirable", "outcome", "refusal_fix"]
