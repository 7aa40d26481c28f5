"""Fixtures for the sandbox tests (helpers in ``sandbox_support``).

A layer's tests skip, saying why, only where the layer cannot run; under ``CI=true`` a missing
Linux layer fails instead (``.ci/run`` installs bubblewrap, and CI kernels have Landlock).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from specflow.sandbox.settings import Layer
from tests.sandbox.sandbox_support import LINUX_LAYERS, SandboxHub, git, require_layer


@pytest.fixture(params=LINUX_LAYERS)
def layer(request: pytest.FixtureRequest) -> Layer:
    chosen: Layer = request.param
    require_layer(chosen)
    return chosen


@pytest.fixture
def sandbox_hub(tmp_path: Path) -> Iterator[SandboxHub]:
    root = tmp_path / "hub"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "openspec" / "changes" / "add-x" / ".specflow").mkdir(parents=True)
    (root / "openspec" / "changes" / "add-x" / ".specflow" / "state.json").write_text("{}\n", encoding="utf-8")
    (root / ".specflow").mkdir()
    (root / "README.md").write_text("# hub\n", encoding="utf-8")
    outside = tmp_path / "outside"
    outside.mkdir()
    yield SandboxHub(root, outside)
