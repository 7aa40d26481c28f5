"""Read-once access to a tree's main specs, shared by the checks of every change validated in a run.

Each spec's text, its ``## Requirements`` split, its name index and its structure issues are
computed at most once per run, so validating 500 changes against the same spec parses it once.
"""

from __future__ import annotations

import errno
from pathlib import Path

from specflow.openspec.requirements import (
    RequirementIndex,
    RequirementsSection,
    extract_requirements_section,
    index_requirements,
)
from specflow.openspec.specs import StructureIssue, structure_issues
from specflow.openspec.textfile import read_text


class MainSpecs:
    """Read-once access to the main specs of a tree (shared by the checks of many changes)."""

    def __init__(self, specs_dir: Path) -> None:
        self.specs_dir = specs_dir
        self._text: dict[str, tuple[str | None, str | None]] = {}
        self._parts: dict[str, RequirementsSection] = {}
        self._structure: dict[str, list[StructureIssue]] = {}
        self._index: dict[str, RequirementIndex] = {}
        self.asked: list[str] = []  # every spec id whose text was asked for, in order (what a check read)

    def path(self, spec_id: str) -> Path:
        """Where the main spec of ``spec_id`` lives."""
        return self.specs_dir.joinpath(*spec_id.split("/"), "spec.md")

    def read(self, spec_id: str) -> tuple[str | None, str | None]:
        """``(text, None)``, ``(None, None)`` when absent, ``(None, errno-name)`` when unreadable."""
        self.asked.append(spec_id)
        hit = self._text.get(spec_id)
        if hit is None:
            try:
                hit = (read_text(self.path(spec_id)), None)
            except (FileNotFoundError, NotADirectoryError):
                hit = (None, None)
            except OSError as exc:
                hit = (None, errno.errorcode.get(exc.errno or 0, "EIO"))
            self._text[spec_id] = hit
        return hit

    def parts(self, spec_id: str, text: str) -> RequirementsSection:
        """The cached ``## Requirements`` split of a main spec."""
        hit = self._parts.get(spec_id)
        if hit is None:
            hit = self._parts[spec_id] = extract_requirements_section(text)
        return hit

    def index(self, spec_id: str, text: str) -> RequirementIndex:
        """The cached name index of a main spec's requirements."""
        hit = self._index.get(spec_id)
        if hit is None:
            hit = self._index[spec_id] = index_requirements(self.parts(spec_id, text).blocks)
        return hit

    def structure(self, spec_id: str, text: str) -> list[StructureIssue]:
        """The cached structure issues of a main spec."""
        hit = self._structure.get(spec_id)
        if hit is None:
            hit = self._structure[spec_id] = structure_issues(text)
        return hit


__all__ = ["MainSpecs"]
