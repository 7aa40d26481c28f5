"""Parity harness: run the real ``openspec`` CLI (1.13.2) and specflow on the same fixture trees.

The CLI is found at ``<repo>/.tools/node_modules/.bin/openspec`` or ``$SPECFLOW_OPENSPEC``; when it
is absent tests skip (with the install command), or under ``CI=true`` the run fails.  It runs in a
quiet, isolated environment: HOME and the XDG folders point at a temporary directory, telemetry
and update checks are off.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.parity import treefmt
from tests.parity.harness import (
    ArchiveRun,
    Combined,
    OpenSpec,
    all_fixtures,
    archive_theirs,
)
from tests.pinned_tools import OPENSPEC


@pytest.fixture(scope="session")
def openspec(tmp_path_factory: pytest.TempPathFactory) -> OpenSpec:
    binary = OPENSPEC.require()
    home = tmp_path_factory.mktemp("openspec-home")
    return OpenSpec(binary, home)


@pytest.fixture(scope="session")
def combined(openspec: OpenSpec, tmp_path_factory: pytest.TempPathFactory) -> Combined:
    root = tmp_path_factory.mktemp("combined")
    for fx in all_fixtures():
        if not fx.standalone:
            treefmt.write(fx, root, prefixed=True)
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(openspec.json, ["validate", "--all", "--json", "--no-interactive"], root)
        b = pool.submit(openspec.json, ["validate", "--all", "--strict", "--json", "--no-interactive"], root)
        theirs, theirs_strict = a.result()[1], b.result()[1]
    return Combined(root, theirs, theirs_strict)


@pytest.fixture(scope="session")
def archived(openspec: OpenSpec, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ArchiveRun]:
    """Every archive fixture run through the real CLI, three at a time."""
    fixtures = [fx for fx in all_fixtures() if fx.archive]
    with ThreadPoolExecutor(3) as pool:
        futures = {
            fx.name: pool.submit(archive_theirs, openspec, fx, tmp_path_factory.mktemp(fx.name)) for fx in fixtures
        }
        return {name: f.result() for name, f in futures.items()}


@pytest.fixture
def chdir_tmp(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)
