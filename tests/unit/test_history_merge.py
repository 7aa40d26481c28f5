"""Two clones advance one change, then merge: the history is both, the state is recomputed from it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from specflow.engine.hub import Hub
from specflow.engine.replay import ours_of_conflict, replay
from tests.conftest import commit_all, git
from tests.remote_world import CHANGE, Machine, make_world, share_hub


def advance(cli: Any, m: Machine, *, to: str | None = None) -> None:
    with m.active():
        code, _, err = cli("-C", m.hub, "advance", CHANGE, *(["--to", to] if to else []))
    assert code == 0, err


def merge_from_a(b: Machine) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "pull", "-q", "--no-rebase", "--no-edit", "origin", "main"], cwd=b.hub, capture_output=True, text=True
    )


def test_both_clones_advance_then_merge_without_conflict_and_status_shows_the_replayed_state(
    tmp_path: Path, cli: Any
) -> None:
    world = make_world(tmp_path)
    a, b = world.a, world.b
    with a.active():
        cli("-C", a.hub, "new", CHANGE)
    share_hub(a, b)
    code, _, err = cli("-C", b.hub, "init")  # registers the state driver in this clone
    assert code == 0, err
    advance(cli, b)  # beta thinks first...
    commit_all(b.hub, "beta thought")
    advance(cli, a, to="write")  # ...then alpha thinks and writes the proposal
    commit_all(a.hub, "alpha wrote")
    git(a.hub, "push", "-q", "origin", "main")

    merged = merge_from_a(b)
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert not git(b.hub, "status", "--porcelain", "--untracked-files=no").strip()
    code, out, err = cli("-C", b.hub, "status", "--json")
    assert code == 0, err
    st = json.loads(out)["changes"][0]
    assert (st["status"], st["state"]) == ("ok", "write")
    assert st["last_attempt"]["machine"] == "alpha"
    history = Hub.open(b.hub).change(CHANGE).history()
    attempts = [(ev["machine"], ev["to"]) for ev in history if ev["outcome"] == "succeeded"]
    assert attempts == [("beta", "think"), ("alpha", "think"), ("alpha", "write")]
    assert [ev["time"] for ev in history] == sorted(ev["time"] for ev in history)
    state = json.loads((b.hub / "openspec" / "changes" / CHANGE / ".specflow" / "state.json").read_text())
    assert state["state"] == "write" and "recompute" not in state  # written back, plain


def test_a_clone_without_the_driver_gets_a_conflict_that_status_still_reads(tmp_path: Path, cli: Any) -> None:
    world = make_world(tmp_path)
    a, b = world.a, world.b
    with a.active():
        cli("-C", a.hub, "new", CHANGE)
    share_hub(a, b)
    advance(cli, b)
    commit_all(b.hub, "beta thought")
    advance(cli, a, to="write")
    commit_all(a.hub, "alpha wrote")
    git(a.hub, "push", "-q", "origin", "main")

    merged = merge_from_a(b)
    assert merged.returncode != 0  # git's text merge of state.json: the history merged by itself
    state_file = b.hub / "openspec" / "changes" / CHANGE / ".specflow" / "state.json"
    assert "<<<<<<<" in state_file.read_text()
    code, out, err = cli("-C", b.hub, "status", "--json")
    assert code == 0, err
    st = json.loads(out)["changes"][0]
    assert (st["status"], st["state"]) == ("ok", "write")
    assert "<<<<<<<" not in state_file.read_text()


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
