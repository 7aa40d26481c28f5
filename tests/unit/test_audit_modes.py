"""Modes restored exactly and every mode change seen: non-executable changes, untracked files, unusual bits.

The checkpoint records only the files whose bits are not git's usual ones (kept up to date from
the files touched since the previous checkpoint); the audit looks only at files whose stat data
changed since the checkpoint's snapshot index.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from specflow.workspace.checkpointstore import current_umask
from tests.unit.test_audit import kinds, propose, run_turn
from tests.unit.test_workspaces import CHANGE, MultiHub, make_multi_hub

TASKS = f"openspec/changes/{CHANGE}/tasks.md"


@pytest.fixture
def multi(tmp_path: Path) -> MultiHub:
    return make_multi_hub(tmp_path)


def perm(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.parametrize("new", [0o600, 0o640, 0o604, 0o664, 0o444])
def test_a_non_executable_mode_change_is_seen_and_put_back(multi: MultiHub, new: int) -> None:
    target = multi.worktree / "docs" / "style.md"
    before = perm(target)
    assert before != new
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: os.chmod(target, new))
    assert kinds(report) == {("hub", "docs/style.md", "mode")}
    (violation,) = report.violations
    assert f"{before:04o} -> {new:04o}" in violation.detail
    assert perm(target) == before


def test_an_untracked_files_mode_change_is_seen(multi: MultiHub) -> None:
    notes = multi.worktree / "notes.txt"
    notes.write_text("mine\n")
    os.chmod(notes, 0o640)
    ws = multi.workspaces()
    ws.checkpoint(phase="propose", state="explore")  # an earlier checkpoint: the bits are kept from it
    report = run_turn(ws, propose(ws), lambda: os.chmod(notes, 0o666))
    assert kinds(report) == {("hub", "notes.txt", "mode")}
    assert perm(notes) == 0o640


def test_unusual_bits_come_back_exactly_after_an_edit_or_a_delete(multi: MultiHub) -> None:
    secret, script = multi.worktree / "docs" / "secret.md", multi.worktree / "run.sh"
    secret.write_text("keep out\n")
    script.write_text("#!/bin/sh\n")
    os.chmod(secret, 0o600)
    os.chmod(script, 0o750)
    ws = multi.workspaces()

    def agent() -> None:
        os.chmod(secret, 0o644)
        secret.write_text("read me\n")
        script.unlink()

    report = run_turn(ws, propose(ws), agent)
    assert kinds(report) == {("hub", "docs/secret.md", "modified"), ("hub", "run.sh", "deleted")}
    assert secret.read_text() == "keep out\n" and perm(secret) == 0o600
    assert script.read_text() == "#!/bin/sh\n" and perm(script) == 0o750


def test_a_mode_change_inside_the_gate_is_kept_and_a_touch_is_no_change(multi: MultiHub) -> None:
    tasks, style = multi.worktree / TASKS, multi.worktree / "docs" / "style.md"
    ws = multi.workspaces()

    def agent() -> None:
        os.chmod(tasks, 0o600)
        os.utime(style)  # stat data changes, bits do not

    report = run_turn(ws, propose(ws), agent)
    assert report.violations == []
    assert perm(tasks) == 0o600


def test_modes_recorded_at_one_checkpoint_are_carried_to_the_next(multi: MultiHub) -> None:
    """Only files touched since the previous checkpoint are looked at again; the others keep their record."""
    private = multi.worktree / "docs" / "private.md"
    private.write_text("x\n")
    os.chmod(private, 0o600)
    ws = multi.workspaces()
    first = ws.checkpoint(phase="propose", state="explore")
    second = ws.checkpoint(phase="propose", state="explore")
    umask = current_umask()
    for cp in (first, second):
        modes = ws.store.read_local(cp.number)["modes"]["hub"]
        assert modes.get("docs/private.md") == 0o600
        assert "docs/style.md" not in modes or modes["docs/style.md"] != (0o666 & ~umask)
    report = run_turn(ws, propose(ws), lambda: os.chmod(private, 0o644))
    assert kinds(report) == {("hub", "docs/private.md", "mode")}
    assert perm(private) == 0o600


def test_the_next_checkpoint_records_modes_changed_in_a_turn_and_after_its_audit(
    multi: MultiHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the audit found touched, and what changed since its snapshot, make the next record:
    the checkpoint's own snapshot index is not compared again, unless a snapshot came between."""
    from specflow.workspace import checkpointstore, filestats

    tasks, style = multi.worktree / TASKS, multi.worktree / "docs" / "style.md"
    ws = multi.workspaces()
    report = run_turn(ws, propose(ws), lambda: os.chmod(tasks, 0o600))  # inside the gate: kept
    assert report.violations == [] and perm(tasks) == 0o600
    os.chmod(style, 0o640)  # the person, between two turns
    compared: list[Path] = []
    real = filestats.touched_since

    def spied(ws_: object, before: Path, after: Path, second: int) -> set[str]:
        compared.append(before)
        return real(ws_, before, after, second)  # type: ignore[arg-type]

    monkeypatch.setattr(checkpointstore, "touched_since", spied)
    second = ws.checkpoint(phase="propose", state="explore")
    modes = ws.store.read_local(second.number)["modes"]["hub"]
    assert modes.get(TASKS) == 0o600 and modes.get("docs/style.md") == 0o640
    assert compared == []
    # checkpoint 3 follows 2 with no audit between: compared with 2's index; after 3's audit, a
    # snapshot (a count of changes) starts the next one from elsewhere: compared with 3's index
    report = run_turn(ws, propose(ws), lambda: os.chmod(tasks, 0o644))
    os.chmod(style, 0o604)
    ws.changed_since(ws.checkpoints())
    fourth = ws.checkpoint(phase="propose", state="explore")
    modes = ws.store.read_local(fourth.number)["modes"]["hub"]
    assert TASKS not in modes and modes.get("docs/style.md") == 0o604
    assert [p.parent.name for p in compared] == ["2", "3"]
