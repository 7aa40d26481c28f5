"""Two clones advance one change, then merge: the history is both, the state is recomputed from it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from specflow.changestate.replay import ours_of_conflict, replay
from specflow.engine.change import Change
from specflow.engine.hub import Hub
from tests.conftest import git
from tests.remote_world import CHANGE, Machine, make_world


def advance(cli: Any, m: Machine, *, to: str | None = None) -> None:
    with m.active():
        code, _, err = cli("-C", m.hub, "advance", CHANGE, *(["--to", to] if to else []))
    assert code == 0, err


def both_advance(cli: Any, a: Machine, b: Machine) -> None:
    """A makes the change and pushes it, B pulls it; B thinks, then A thinks and writes and pushes.

    Each machine's engine commits the change's records on its own hub branch, so the branches diverge.
    """
    with a.active():
        code, _, err = cli("-C", a.hub, "new", CHANGE)
        assert code == 0, err
        assert Hub.open(a.hub).change(CHANGE).push().repos[0].outcome == "pushed"
    with b.active():
        Change.named(Hub.open(b.hub), CHANGE).pull()
    advance(cli, b)  # beta thinks first...
    advance(cli, a, to="write")  # ...then alpha thinks and writes the proposal
    with a.active():
        Hub.open(a.hub).change(CHANGE).push()


def pull_refused(cli: Any, b: Machine) -> None:
    """``specflow pull`` on B fetches A's hub branch and refuses it: the two have diverged."""
    code, _, err = cli("-C", b.hub, "pull", CHANGE)
    assert code == 1 and f"hub: specflow/{CHANGE} has diverged from origin/specflow/{CHANGE}" in err
    assert f"git -C {Hub.open(b.hub).worktree_of(CHANGE)} merge origin/specflow/{CHANGE}" in err


def merge_from_a(b: Machine) -> subprocess.CompletedProcess[str]:
    """B merges A's fetched hub branch where its own is checked out: its worktree of the hub."""
    return subprocess.run(
        ["git", "merge", "--no-edit", f"origin/specflow/{CHANGE}"],
        cwd=Hub.open(b.hub).worktree_of(CHANGE),
        capture_output=True,
        text=True,
    )


def state_file(m: Machine) -> Path:
    return Hub.open(m.hub).worktree_of(CHANGE) / "openspec" / "changes" / CHANGE / ".specflow" / "state.json"


def test_both_clones_advance_then_merge_without_conflict_and_status_shows_the_replayed_state(
    tmp_path: Path, cli: Any
) -> None:
    world = make_world(tmp_path)
    a, b = world.a, world.b
    both_advance(cli, a, b)
    # pulling registered the state driver in beta's clone
    assert "specflow.engine.statemerge" in git(b.hub, "config", "merge.specflow-state.driver")

    pull_refused(cli, b)
    merged = merge_from_a(b)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    worktree = Hub.open(b.hub).worktree_of(CHANGE)
    assert not git(worktree, "status", "--porcelain", "--untracked-files=no").strip()
    assert git(worktree, "rev-parse", "HEAD^2").strip() == git(a.hub, "rev-parse", f"specflow/{CHANGE}").strip()
    code, out, err = cli("-C", b.hub, "status", "--json")
    assert code == 0, err
    st = json.loads(out)["changes"][0]
    assert (st["status"], st["state"]) == ("ok", "write")
    assert st["last_attempt"]["machine"] == "alpha"
    history = Hub.open(b.hub).change(CHANGE).history()
    attempts = [(ev["machine"], ev["to"]) for ev in history if ev["outcome"] == "succeeded"]
    assert attempts == [("beta", "think"), ("alpha", "think"), ("alpha", "write")]
    assert [ev["time"] for ev in history] == sorted(ev["time"] for ev in history)
    state = json.loads(state_file(b).read_text())
    assert state["state"] == "write" and "recompute" not in state  # written back, plain

    # the merged branch goes back to alpha; each clone's own checkpoint 1 stays where it is
    with b.active():
        pushed = Hub.open(b.hub).change(CHANGE).push().repos[0]
    assert (pushed.outcome, pushed.apart) == ("pushed", 1)
    with a.active():
        pulled = Hub.open(a.hub).change(CHANGE).pull().repos[0]
    assert (pulled.outcome, pulled.worktree) == ("fast-forwarded", Hub.open(a.hub).worktree_of(CHANGE))
    code, out, err = cli("-C", a.hub, "status", "--json")
    assert code == 0, err
    assert json.loads(out)["changes"][0]["state"] == "write"
    assert [ev["machine"] for ev in Hub.open(a.hub).change(CHANGE).history() if ev["outcome"] == "succeeded"] == [
        "beta",
        "alpha",
        "alpha",
    ]


def test_a_clone_without_the_driver_gets_a_conflict_that_status_still_reads(tmp_path: Path, cli: Any) -> None:
    world = make_world(tmp_path)
    a, b = world.a, world.b
    both_advance(cli, a, b)
    pull_refused(cli, b)
    git(b.hub, "config", "--remove-section", "merge.specflow-state")  # a clone whose config lacks it

    merged = merge_from_a(b)
    assert merged.returncode != 0  # git's text merge of state.json: the history merged by itself
    assert "CONFLICT (content): Merge conflict in" in merged.stdout and "state.json" in merged.stdout
    assert "Merge conflict in openspec/changes/add-login/.specflow/history.jsonl" not in merged.stdout
    assert "<<<<<<<" in state_file(b).read_text()
    code, out, err = cli("-C", b.hub, "status", "--json")
    assert code == 0, err
    st = json.loads(out)["changes"][0]
    assert (st["status"], st["state"]) == ("ok", "write")
    assert "<<<<<<<" not in state_file(b).read_text()


def test_replay_keeps_approvals_failures_and_what_no_event_says() -> None:
    base = {"workflow": "mini", "state": "draft", "repos": ["api"], "created": "2026-01-01T00:00:00.000000Z"}
    approval = {"by": "ana", "at": "2026-01-01T00:00:03.000000Z", "state": "write", "note": None, "digest": "d"}
    events: list[Any] = [
        {"time": "2026-01-01T00:00:04.000000Z", "outcome": "failed", "to": "done", "reasons": ["no"], "agent": {}},
        {"time": "2026-01-01T00:00:01.000000Z", "outcome": "created", "from": None, "to": "draft", "workflow": "mini"},
        {"time": "2026-01-01T00:00:02.000000Z", "outcome": "succeeded", "from": "draft", "to": "write"},
        {"time": "2026-01-01T00:00:03.000000Z", "outcome": "approved", "approval": approval},
    ]
    record = replay(events, base)
    assert record["state"] == "write" and record["repos"] == ["api"]
    assert record["approvals"] == [approval]
    failure = record["last_failure"]
    assert failure is not None and (failure["phase"], failure["reasons"]) == ("done", ["no"])
    voided = {**approval, "voided": "reverted", "voided_at": "2026-01-01T00:00:06.000000Z"}
    events.append(
        {"time": "2026-01-01T00:00:05.000000Z", "outcome": "succeeded", "to": "done", "approvals_voided": [voided]}
    )
    record = replay(events, base)
    assert (record["state"], record["last_failure"]) == ("done", None)
    assert record["approvals"][0].get("voided") == "reverted"


def test_ours_of_a_conflict_keeps_this_clones_side() -> None:
    text = '{\n<<<<<<< HEAD\n  "state": "a"\n||||||| base\n  "state": "o"\n=======\n  "state": "b"\n>>>>>>> x\n}\n'
    assert json.loads(ours_of_conflict(text)) == {"state": "a"}
