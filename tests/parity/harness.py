"""The parity harness: where the real ``openspec`` CLI is and how to run it quietly."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.parity import treefmt
from tests.pinned_tools import OPENSPEC

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"


def openspec_bin() -> Path | None:
    """The real CLI, or None."""
    return OPENSPEC.find()


def all_fixtures() -> list[treefmt.Fixture]:
    """Every ``.tree`` fixture, sorted by name."""
    return [treefmt.load(p) for p in sorted(FIXTURES.glob("*.tree"))]


@dataclass
class OpenSpec:
    """Runs the real CLI quietly."""

    binary: Path
    home: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENSPEC", "XDG_"))}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            OPENSPEC_TELEMETRY="0",
            DO_NOT_TRACK="1",
            OPENSPEC_NO_UPDATE_CHECK="1",
            NO_COLOR="1",
            CI="1",
        )
        return env

    def run(self, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), *args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    def json(self, args: list[str], cwd: Path) -> tuple[int, Any]:
        proc = self.run(args, cwd)
        try:
            return proc.returncode, json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError(
                f"openspec {' '.join(args)} printed no JSON (exit {proc.returncode}):\n"
                f"stdout: {proc.stdout[:2000]}\nstderr: {proc.stderr[:2000]}"
            ) from None


@dataclass
class Combined:
    """All fixtures in one tree, validated once by each tool."""

    root: Path
    theirs: dict[str, Any]
    theirs_strict: dict[str, Any]


@dataclass
class ArchiveRun:
    """The real CLI's archive of one fixture: exit code, JSON and the resulting tree."""

    code: int
    result: dict[str, Any]
    tree: dict[str, bytes | str]


def archive_theirs(openspec: OpenSpec, fx: treefmt.Fixture, base: Path) -> ArchiveRun:
    """Archive the fixture with the real CLI in ``base/theirs``."""
    root = base / "theirs"
    treefmt.write(fx, root)
    assert fx.archive is not None
    code, data = openspec.json(["archive", *fx.archive, "--json"], root)
    return ArchiveRun(code, data, treefmt.snapshot(root))
