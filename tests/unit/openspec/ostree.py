"""Small OpenSpec trees written in tmp_path, for the unit tests."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

AUTH_SPEC = """\
# auth Specification

## Purpose
Authentication of users across the platform, including sessions and tokens.

## Requirements
### Requirement: Login
The system SHALL let users log in with a password.

#### Scenario: Valid credentials
- **WHEN** a user submits valid credentials
- **THEN** a session is created

### Requirement: Logout
The system SHALL end the session on logout.

#### Scenario: Logout ends session
- **WHEN** the user logs out
- **THEN** the session is destroyed
"""


def req(name: str, body: str = "The system SHALL do it.", *scenarios: str) -> str:
    """A requirement block with the given scenarios (default: one named 'Works')."""
    text = f"### Requirement: {name}\n{body}\n"
    for s in scenarios or ("Works",):
        text += f"\n#### Scenario: {s}\n- **WHEN** it runs\n- **THEN** it works\n"
    return text


@dataclass
class Tree:
    """An OpenSpec project in a temporary folder."""

    root: Path

    def write(self, rel: str, text: str, *, dedent: bool = True) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if dedent else text, encoding="utf-8")
        return path

    def spec(self, cap: str, text: str = AUTH_SPEC) -> Path:
        return self.write(f"openspec/specs/{cap}/spec.md", text, dedent=False)

    def change(
        self,
        cid: str,
        deltas: dict[str, str] | None = None,
        *,
        tasks: str | None = "- [x] 1.1 Done\n",
        meta: str | None = "schema: spec-driven\ncreated: 2026-01-15\n",
        proposal: bool = True,
    ) -> Path:
        d = self.root / "openspec" / "changes" / cid
        d.mkdir(parents=True, exist_ok=True)
        if meta is not None:
            (d / ".openspec.yaml").write_text(meta, encoding="utf-8")
        if proposal:
            (d / "proposal.md").write_text(
                f"# Change: {cid}\n\n## Why\nBecause.\n\n## What Changes\n- things\n", encoding="utf-8"
            )
        if tasks is not None:
            (d / "tasks.md").write_text(tasks, encoding="utf-8")
        for cap, text in (deltas or {}).items():
            self.write(f"openspec/changes/{cid}/specs/{cap}/spec.md", text, dedent=False)
        return d

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")
