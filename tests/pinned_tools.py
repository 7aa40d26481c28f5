"""The real programs some tests drive — the OpenSpec CLI and Claude Code — and where to find them.

``bash .ci/run`` installs both, pinned, into ``<repo>/.tools``; ``$SPECFLOW_OPENSPEC`` and
``$SPECFLOW_CLAUDE`` point at other copies.  A test that needs one carries its marker
(``openspec_cli``, ``claude_cli``) or a fixture that finds it.  Locally an absent tool skips those
tests, saying why; under ``CI=true`` it fails the run before any test starts (see ``tests/conftest.py``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".tools" / "node_modules" / ".bin"
# Read at import: the suite's autouse fixture clears SPECFLOW_CLAUDE for every test.
_CONFIGURED = {name: os.environ.get(name) for name in ("SPECFLOW_OPENSPEC", "SPECFLOW_CLAUDE")}


@dataclass(frozen=True)
class PinnedTool:
    """One real program the suite drives, the marker of the tests that need it, and its npm package."""

    marker: str
    title: str
    env: str
    program: str
    package: str

    def find(self) -> Path | None:
        """``$<env>`` if set, else the copy ``.ci/run`` installs; None when neither is an executable file."""
        for candidate in (_CONFIGURED[self.env], str(BIN / self.program)):
            if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return Path(candidate)
        return None

    def missing(self) -> str:
        """Why the tool is absent and how to install it."""
        return (
            f"{self.title} is not installed: neither ${self.env} nor {BIN / self.program} is an executable file"
            f" (run: bash .ci/run, which installs {self.package} there;"
            f" or: npm install --prefix .tools {self.package})"
        )

    def require(self) -> Path:
        """The tool's path; a test without it is skipped (locally) or failed (under CI=true)."""
        found = self.find()
        if found is not None:
            return found
        if in_ci():
            pytest.fail(self.missing(), pytrace=False)
        pytest.skip(self.missing())


OPENSPEC = PinnedTool(
    "openspec_cli", "the OpenSpec CLI", "SPECFLOW_OPENSPEC", "openspec", "@fission-ai/openspec@1.13.2"
)
CLAUDE = PinnedTool("claude_cli", "Claude Code", "SPECFLOW_CLAUDE", "claude", "@anthropic-ai/claude-code@2.1.330")
PINNED_TOOLS = (OPENSPEC, CLAUDE)
# Tests that take these fixtures need the tool even without its marker.
NEEDED_BY_FIXTURE = {"openspec": OPENSPEC, "claude_binary": CLAUDE}


def in_ci() -> bool:
    """True when the suite runs as CI (``CI=true``, as GitHub Actions, GitLab and most others set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
