"""Ignored files in the audited workspaces are protected: edited or deleted outside the gate, put back.

Each checkpoint records the ignored files' stat data and their bytes as blobs (only those that
changed since the previous checkpoint are hashed again); the audit compares stat data only.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from specflow.workspace import filestats
from specflow.workspace.audit import AuditReport
from tests.conftest import commit_all, git
from tests.unit.test_audit import apply, propose, run_turn
from tests.unit.test_workspaces import CHANGE, MultiHub, make_multi_hub


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    hub = make_multi_hub(tmp_path)
    own = hub.worktree  # the change's worktree of the hub, where its agents work
    (own / ".gitignore").write_text("*.env\nbuild/\n")
    (own / "app.env").write_text("TOKEN=secret\n")
    (own / "build").mkdir()
    (own / "build" / "out.bin").write_bytes(b"\x00built\n")
    os.chmod(own / "app.env", 0o600)
    commit_all(own, "ignore")
    return hub


def found(report: AuditReport) -> set[tuple[str, str, str]]:
    return {(v.workspace, v.path, v.kind) for v in report.violations}


def test_an_ignored_file_edited_or_deleted_outside_the_gate_is_put_back(multi: MultiHub) -> None:
    env, out = multi.worktree / "app.env", multi.worktree / "build" / "out.bin"
    assert git(multi.worktree, "status", "--porcelain") == "", "ignored files are in no snapshot"
    ws = multi.workspaces()

    def agent() -> None:
        env.write_text("TOKEN=stolen\n")
        out.unlink()

    report = run_turn(ws, propose(ws), agent)
    assert found(report) == {("hub", "app.env", "modified"), ("hub", "build/out.bin", "deleted")}
    assert env.read_text() == "TOKEN=secret\n" and stat.S_IMODE(env.stat().st_mode) == 0o600
    assert out.read_bytes() == b"\x00built\n"
    # saved first: the agent's version is in the rejected commit
    (saved,) = {v.saved for v in report.violations if v.path == "app.env"}
    assert git(multi.worktree, "show", f"{saved}:app.env") == "TOKEN=stolen\n"


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(multi: MultiHub) -> None:
    env = multi.worktree / "app.env"
    before = env.stat()
    ws = multi.workspaces()

    def agent() -> None:
        env.write_text("TOKEN=SECRET\n")  # same size
        os.utime(env, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime

    report = run_turn(ws, propose(ws), agent)
    assert found(report) == {("hub", "app.env", "modified")}
    assert env.read_text() == "TOKEN=secret\n"


def test_an_ignored_files_chmod_is_put_back(multi: MultiHub) -> None:
    env = multi.worktree / "app.env"
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: os.chmod(env, 0o644))
    assert found(report) == {("hub", "app.env", "mode")}
    assert stat.S_IMODE(env.stat().st_mode) == 0o600


def test_ignored_files_inside_the_gate_may_change(multi: MultiHub) -> None:
    ignored = multi.worktree / "openspec" / "changes" / CHANGE / "local.env"
    ignored.write_text("a\n")
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: ignored.write_text("b\n"))
    assert report.violations == []
    assert ignored.read_text() == "b\n"


def test_ignored_files_of_a_worktree_are_protected_and_hashed_once(multi: MultiHub) -> None:
    ws = multi.workspaces(("api",))
    policy = apply(ws)
    wt = ws.existing()["api"]
    setup = wt / ".setup-ran"  # ignored by the api repo's .gitignore
    setup.write_text("done\n")
    first = ws.checkpoint(phase="apply", state="propose")
    second = ws.checkpoint(phase="apply", state="propose")
    entries = [ws.store.read_local(cp.number)["ignored"]["api"][".setup-ran"] for cp in (first, second)]
    assert entries[0] == entries[1], "unchanged: its blob is carried, not hashed again"
    report = run_turn(ws, policy, lambda: setup.write_text("tampered\n"))
    assert report.violations == [], "the worktree is inside the apply gate"
    report = run_turn(ws, propose(ws), lambda: setup.unlink())
    assert found(report) == {("api", ".setup-ran", "deleted")}
    assert setup.read_text() == "tampered\n"


def test_an_ignored_file_too_large_to_keep_is_watched_and_reported(
    multi: MultiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filestats, "IGNORED_FILE_MAX", 10)  # app.env (13 bytes) is now "large"
    env = multi.worktree / "app.env"
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: env.write_text("TOKEN=changed!\n"))
    (violation,) = report.violations
    assert (violation.path, violation.kind) == ("app.env", "modified")
    assert "too large to have been kept" in violation.detail
    assert env.read_text() == "TOKEN=changed!\n", "nothing to put back: it is left as it is"


def test_ignored_blobs_pruned_by_the_agent_stop_nothing_else(multi: MultiHub) -> None:
    """An agent that prunes the unreachable blobs of ignored files: the audit says so and goes on."""
    env, style = multi.worktree / "app.env", multi.worktree / "docs" / "style.md"
    ws = multi.workspaces()

    def agent() -> None:
        env.write_text("TOKEN=stolen\n")
        style.write_text("rewritten\n")
        git(multi.worktree, "-c", "gc.reflogExpire=now", "prune", "--expire=now")

    report = run_turn(ws, propose(ws), agent)
    assert ("hub", "docs/style.md", "modified") in found(report)
    assert style.read_text() == "be nice\n"
    assert any("ignored files changed outside the gate cannot be put back" in e for e in report.errors)
