"""specflow.workspace.gates: policies judged on resolved paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specflow.workspace.gates import GatePolicy, glob_to_regex


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    root = tmp_path / "hub"
    (root / "openspec" / "changes" / "add-x").mkdir(parents=True)
    (root / "openspec" / "specs").mkdir(parents=True)
    (root / "README.md").write_text("r\n")
    return root


def test_globs_match_whole_segments() -> None:
    import re

    rx = re.compile(glob_to_regex("openspec/changes/add-x/**") + r"\Z")
    assert rx.match("openspec/changes/add-x")
    assert rx.match("openspec/changes/add-x/specs/a/spec.md")
    assert not rx.match("openspec/changes/add-xy/tasks.md")
    single = re.compile(glob_to_regex("docs/*.md") + r"\Z")
    assert single.match("docs/a.md") and not single.match("docs/sub/a.md")


def test_read_only_allows_nothing(hub: Path) -> None:
    policy = GatePolicy(hub, read_only=True)
    assert not policy.allows(hub / "openspec" / "changes" / "add-x" / "proposal.md")
    assert not policy.allows_real(hub / "README.md")
    with pytest.raises(ValueError):
        GatePolicy(hub, write_globs=("x",), read_only=True)


def test_dotdot_is_removed_before_judging(hub: Path) -> None:
    policy = GatePolicy(hub, write_globs=("openspec/changes/add-x/**",))
    inside = hub / "openspec" / "changes" / "add-x" / "proposal.md"
    escape = hub / "openspec" / "changes" / "add-x" / ".." / ".." / ".." / "README.md"
    assert policy.allows(inside)
    assert not policy.allows(escape)
    assert not policy.allows("../x", cwd=hub)
    assert policy.allows("openspec/changes/add-x/tasks.md", cwd=hub)


def test_writes_through_a_symlink_are_judged_where_they_land(hub: Path) -> None:
    policy = GatePolicy(hub, write_globs=("openspec/changes/add-x/**",))
    link = hub / "openspec" / "changes" / "add-x" / "readme-link"
    os.symlink(hub / "README.md", link)
    assert not policy.allows(link)  # follows the link to README.md
    assert not policy.allows_link(link)
    inner = hub / "openspec" / "changes" / "add-x" / "inner"
    os.symlink("proposal.md", inner)
    assert policy.allows_link(inner)


def test_allows_real_does_not_follow_the_last_link(hub: Path) -> None:
    policy = GatePolicy(hub, write_globs=("openspec/changes/add-x/**",))
    link = hub / "openspec" / "changes" / "add-x" / "out"
    os.symlink("/etc", link)
    assert policy.allows_real(link)  # the location itself is inside
    assert not policy.allows_link(link)  # but where it points is not


def test_worktree_roots_allow_everything_below_them(hub: Path, tmp_path: Path) -> None:
    wt = tmp_path / "wt"
    wt.mkdir()
    policy = GatePolicy(hub, ("openspec/changes/add-x/tasks.md",), (wt,))
    assert policy.allows(wt / "src" / "deep" / "file.py")
    assert policy.allows(hub / "openspec" / "changes" / "add-x" / "tasks.md")
    assert not policy.allows(hub / "openspec" / "changes" / "add-x" / "proposal.md")
    assert not policy.allows(wt / ".git" / "config")


def test_specflow_records_are_never_writable(hub: Path) -> None:
    policy = GatePolicy(hub, write_globs=("**",))
    assert policy.allows(hub / "README.md")
    assert not policy.allows(hub / "openspec" / "changes" / "add-x" / ".specflow" / "state.json")
    assert not policy.allows(hub / ".specflow" / "locks" / "x.lock")


def test_json_round_trip_and_description(hub: Path, tmp_path: Path) -> None:
    policy = GatePolicy(hub, ("openspec/specs/**",), (tmp_path,), phase="archive", change_id="add-x")
    again = GatePolicy.from_json(policy.to_json())
    assert again == policy
    assert "openspec/specs/**" in policy.describe()
    assert "Read-only" in GatePolicy(hub, read_only=True).describe()


def test_a_gate_is_a_frozen_value_of_its_resolved_fields(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    a = GatePolicy(hub=tmp_path / "link", write_globs=("a/**",), phase="propose", change_id="add-x")
    b = GatePolicy(tmp_path / "real", ("a/**",), (), False, "propose", "add-x")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a.hub == tmp_path / "real"
    assert a != GatePolicy(hub=tmp_path / "real", write_globs=("b/**",), phase="propose", change_id="add-x")
    assert GatePolicy.from_json(a.to_json()) == a
    assert repr(a).startswith("GatePolicy(hub=")
    with pytest.raises(AttributeError):
        a.read_only = True
    with pytest.raises(ValueError, match="read-only gate cannot list writable paths"):
        GatePolicy(hub=tmp_path, write_globs=("a/**",), read_only=True)
