"""Fixtures for the OpenSpec unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.openspec.ostree import Tree


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    """An empty OpenSpec project (``openspec/specs`` and ``openspec/changes/archive``)."""
    root = tmp_path / "project"
    (root / "openspec" / "specs").mkdir(parents=True)
    (root / "openspec" / "changes" / "archive").mkdir(parents=True)
    return Tree(root)
