"""Persistence (atomic state, append-only history) and the per-change lock."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from specflow.changestate import recordfiles
from specflow.changestate.history import history_totals, read_history
from specflow.changestate.lock import ChangeLock
from specflow.changestate.recordfiles import settle
from specflow.changestate.records import (
    append_event,
    mark_in_flight,
    read_state,
    write_state,
)
from specflow.changestate.recordtypes import HistoryEvent, InFlight, StateRecord
from specflow.changestate.totals import CostSummary, summarize_costs
from specflow.engine.discard import stop_holder
from specflow.engine.hub import Hub
from specflow.errors import LockedError, StateError
from tests.conftest import HubFixture


def test_state_round_trip_and_corruption(tmp_path: Path) -> None:
    assert read_state(tmp_path) is None
    write_state(tmp_path, {"state": "draft", "workflow": "mini"})
    assert (tmp_path / ".specflow" / "state.json").stat().st_mode & 0o777 == 0o666 & ~_current_umask()
    data = read_state(tmp_path)
    assert data is not None and data["state"] == "draft" and data["version"] == 1
    assert not [p for p in (tmp_path / ".specflow").iterdir() if p.name.endswith(".tmp")]
    (tmp_path / ".specflow" / "state.json").write_text('{"state": "dra')
    with pytest.raises(StateError) as info:
        read_state(tmp_path)
    assert "corrupted state file" in info.value.message
    assert "state.json:1" in info.value.message


def test_history_appends_and_skips_a_torn_last_line(tmp_path: Path) -> None:
    append_event(
        tmp_path, {"trigger": "advance", "to": "a", "agent": {"cost_usd": 0.5, "tokens": {"input_tokens": 10}}}
    )
    append_event(
        tmp_path, {"trigger": "advance", "to": "a", "agent": {"cost_usd": 0.25, "tokens": {"input_tokens": 5}}}
    )
    with (tmp_path / ".specflow" / "history.jsonl").open("a") as fh:
        fh.write('{"trigger": "adv')
    events = read_history(tmp_path)
    assert [e["trigger"] for e in events] == ["advance", "advance"]
    # the next event starts on a line of its own: the torn write swallows nothing
    append_event(tmp_path, {"trigger": "approve"})
    append_event(tmp_path, {"trigger": "approve"})
    assert [e["trigger"] for e in read_history(tmp_path)] == ["advance", "advance", "approve", "approve"]
    costs = summarize_costs(events)
    assert costs["total"]["cost_usd"] == 0.75
    assert costs["phases"]["a"]["tokens"] == {"input_tokens": 15}


def test_second_lock_fails_with_the_holder(tmp_path: Path) -> None:
    with ChangeLock(tmp_path, "add-x"):
        other = ChangeLock(tmp_path, "add-x")
        with pytest.raises(LockedError) as info:
            other.acquire()
        assert f"change 'add-x' is locked by pid {os.getpid()} on {socket.gethostname()}" in info.value.message
        # another change is independent
        with ChangeLock(tmp_path, "add-y"):
            pass


def test_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(proc.stdout)
    lock_dir = ChangeLock(tmp_path, "add-x").dir
    lock_dir.mkdir(parents=True)
    (lock_dir / "add-x.json").write_text(
        json.dumps({"pid": dead_pid, "host": socket.gethostname(), "since": "2026-01-01T00:00:00Z"})
    )
    with ChangeLock(tmp_path, "add-x") as lock:
        assert lock.taken_over is not None and lock.taken_over.pid == dead_pid


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_the_holder_is_named_even_when_it_has_not_written_its_record_yet(tmp_path: Path) -> None:
    import threading

    from specflow.oslock import FileLock

    lock_dir = ChangeLock(tmp_path, "add-x").dir
    lock_dir.mkdir(parents=True)
    record = {"pid": os.getpid(), "host": socket.gethostname(), "since": "2026-11-24T06:00:00Z", "command": "advance"}
    # the holder has the OS lock, but writes who it is a moment later (as ChangeLock.acquire does)
    holder = FileLock(lock_dir / "add-x.lock")
    holder.acquire()
    try:
        late = threading.Timer(0.2, lambda: (lock_dir / "add-x.json").write_text(json.dumps(record)))
        late.start()
        try:
            with pytest.raises(LockedError) as info:
                ChangeLock(tmp_path, "add-x").acquire()
        finally:
            late.join()
    finally:
        holder.release()
    assert info.value.message == (
        f"change 'add-x' is locked by pid {os.getpid()} on {socket.gethostname()} since 2026-11-24T06:00:00Z (advance)"
    )


def _agent_event(to: str, cost: float, tokens: int) -> HistoryEvent:
    return HistoryEvent(
        trigger="advance", to=to, outcome="succeeded", agent={"cost_usd": cost, "tokens": {"t": tokens}}
    )


def _full_totals(change_dir: Path) -> tuple[CostSummary, dict[str, Any]]:
    events = read_history(change_dir)
    return summarize_costs(events), {k: events[-1].get(k) for k in ("time", "trigger", "from", "to", "outcome")}


def test_history_totals_kept_as_events_are_appended_match_a_full_reading(tmp_path: Path) -> None:
    for i in range(30):
        append_event(tmp_path, _agent_event(f"p{i % 3}", 0.1 + i / 7, i))
    kept = json.loads((tmp_path / ".specflow" / "summary.json").read_text())
    assert kept["events"] == 30
    totals = history_totals(tmp_path)
    # the same totals in the same key order: status --json prints them byte for byte as before
    assert json.dumps([totals["cost"], totals["last"]]) == json.dumps(_full_totals(tmp_path))


def test_history_totals_reread_a_history_changed_behind_the_writer(tmp_path: Path) -> None:
    append_event(tmp_path, _agent_event("a", 1.0, 10))
    append_event(tmp_path, _agent_event("a", 2.0, 20))
    history = tmp_path / ".specflow" / "history.jsonl"
    # a merge or a hand edit: one more line the writer never saw
    with history.open("a") as fh:
        fh.write(json.dumps({"trigger": "advance", "to": "b", "outcome": "failed", "agent": {"cost_usd": 4.0}}) + "\n")
    totals = history_totals(tmp_path)
    assert totals["cost"]["total"]["cost_usd"] == 7.0
    assert totals["last"] is not None and totals["last"]["outcome"] == "failed"
    # the next event the writer appends starts its totals again from the whole history
    append_event(tmp_path, _agent_event("c", 8.0, 1))
    assert history_totals(tmp_path)["cost"]["total"]["cost_usd"] == 15.0
    assert json.loads((tmp_path / ".specflow" / "summary.json").read_text())["events"] == 4


def test_history_totals_ignore_a_damaged_summary(tmp_path: Path) -> None:
    append_event(tmp_path, _agent_event("a", 1.5, 10))
    (tmp_path / ".specflow" / "summary.json").write_text('{"version": 1, "hist')
    assert history_totals(tmp_path)["cost"]["total"]["cost_usd"] == 1.5
    assert history_totals(tmp_path / "none") == {"cost": summarize_costs([]), "last": None, "last_attempt": None}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('{"state": 3}', "state.json:1: corrupted state file: 'state' is a number (3), expected a string"),
        ("[1, 2]", "state.json:1: corrupted state file: found a list, expected an object"),
        ('{\n  "state": "draft",\n  "approvals": "yes"\n}', "state.json:3: corrupted state file: 'approvals' is a"),
        ('{\n  "state": "draft",\n  "in_flight": 7\n}', "state.json:3: corrupted state file: 'in_flight' is a number"),
        ('{"workflow": "mini"}', "state.json:1: corrupted state file: no 'state'"),
    ],
)
def test_a_wrong_typed_state_file_names_its_line_and_the_fix(tmp_path: Path, text: str, found: str) -> None:
    (tmp_path / ".specflow").mkdir()
    (tmp_path / ".specflow" / "state.json").write_text(text)
    with pytest.raises(StateError) as info:
        read_state(tmp_path)
    assert found in info.value.message
    assert "git checkout -- <file>" in str(info.value.fix)


def test_a_wrong_typed_history_line_names_its_line_and_the_fix(tmp_path: Path) -> None:
    append_event(tmp_path, {"trigger": "advance", "to": "a", "outcome": "succeeded"})
    with (tmp_path / ".specflow" / "history.jsonl").open("a") as fh:
        fh.write('{"time": 1}\n')
    with pytest.raises(StateError) as info:
        read_history(tmp_path)
    assert "history.jsonl:2: corrupted history: 'time' is a number (1), expected a string" in info.value.message
    assert info.value.fix is not None and "line 2" in info.value.fix


def test_the_lock_holds_when_its_file_and_record_are_unlinked(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with ChangeLock(tmp_path, "add-x") as held:
        assert held.path.parent == tmp_path / ".git" / "specflow" / "locks"
        held.path.unlink()
        held.info_path.unlink()
        with pytest.raises(LockedError) as info:
            ChangeLock(tmp_path, "add-x").acquire()
        assert info.value.message == "change 'add-x' is locked by another process"
    # released: the next run takes it
    with ChangeLock(tmp_path, "add-x"):
        pass


def test_a_lock_is_taken_in_another_process_only_after_the_holder_ends(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    code = (
        "import sys\nfrom pathlib import Path\nfrom specflow.changestate.lock import ChangeLock\n"
        "lock = ChangeLock(Path(sys.argv[1]), 'add-x').acquire()\n"
        "lock.path.unlink()\nprint('held', flush=True)\nsys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(LockedError) as info:
            ChangeLock(tmp_path, "add-x").acquire()
        assert f"locked by pid {holder.pid}" in info.value.message
    finally:
        holder.communicate("")
    with ChangeLock(tmp_path, "add-x") as lock:
        assert lock.taken_over is not None and lock.taken_over.pid == holder.pid


# a holder that, stopped, removes its record and only a moment later lets go of the lock (as
# ChangeLock.release does, here slowed down as a loaded machine may)
SLOW_TO_LET_GO = """\
import signal, sys, time
from pathlib import Path
from specflow.changestate.lock import ChangeLock
lock = ChangeLock(Path(sys.argv[1]), 'add-x').acquire()
def stop(signum, frame):
    lock.info_path.unlink()
    time.sleep(0.5)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print('held', flush=True)
time.sleep(60)
"""


def test_a_stopped_holder_is_waited_for_until_it_lets_go_of_the_lock(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    holder = subprocess.Popen([sys.executable, "-c", SLOW_TO_LET_GO, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        stopped = stop_holder(tmp_path, "add-x", wait_s=30)
        assert stopped is not None and stopped.pid == holder.pid
        with ChangeLock(tmp_path, "add-x", command="discard") as lock:  # free now, not a moment later
            assert lock.holder() is not None
    finally:
        holder.kill()
        holder.wait()


def test_an_attempt_syncs_its_records_to_disk_when_it_starts_and_when_it_ends(
    hub: HubFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.agent("scripted", "import sys\nsys.stdin.read()\nprint('the notes')\n")
    hub.commit("agent")
    change = Hub.open(hub.root).new_change("add-login")
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    (result,) = change.advance()
    assert result.ok, result.reasons
    names = [re.sub(r"\.[a-z0-9_]{8}\.tmp$", ".tmp", Path(p).name) for p in synced]
    # the in-flight record (file, then folder) before the agent runs; after it, the phase's record
    # file, the state and the history; what is noted in between (its checkpoint, its process
    # tree, the prompt's copy) is renamed into place without a sync
    assert names == [
        ".state.json.tmp",
        ".specflow",
        ".notes.md.tmp",
        "add-login",
        ".state.json.tmp",
        ".specflow",
        "history.jsonl",
    ]


def _draft(change_dir: Path) -> StateRecord:
    record = StateRecord(workflow="default", state="draft", repos=[], approvals=[], in_flight=None)
    write_state(change_dir, record)
    return record


def test_the_in_flight_record_is_synced_then_renamed_in_a_thread_and_readers_wait_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = _draft(tmp_path)
    released = threading.Event()
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        released.wait(timeout=5)  # the disk is slow; the attempt goes on meanwhile
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    flight = InFlight(trigger="advance", attempt=1, pid=os.getpid())
    mark_in_flight(tmp_path, record, flight)
    state_file = tmp_path / ".specflow" / "state.json"
    # returned before the sync: the file in place is still the whole old record, never half a new one
    assert json.loads(state_file.read_text())["in_flight"] is None
    released.set()
    marked = read_state(tmp_path)  # a reader waits for the rename
    assert marked is not None and marked["in_flight"] == flight
    assert sorted(p.name for p in state_file.parent.iterdir()) == ["state.json"]


def test_a_sync_that_fails_in_its_thread_is_raised_to_the_next_reader_and_leaves_the_old_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = _draft(tmp_path)

    def fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    mark_in_flight(tmp_path, record, InFlight(trigger="advance", attempt=1))
    with pytest.raises(OSError, match="Input/output error"):
        read_state(tmp_path)
    settle()  # raised once, to the reader that met it
    monkeypatch.undo()
    kept = read_state(tmp_path)
    assert kept is not None and (kept["state"], kept["in_flight"]) == ("draft", None)
    assert sorted(p.name for p in (tmp_path / ".specflow").iterdir()) == ["state.json"]


def test_a_copy_no_record_depends_on_is_written_while_a_record_is_still_being_synced(tmp_path: Path) -> None:
    recordfiles.atomic_write(tmp_path / "state.json", '{"state": "a"}', later=True)  # synced in a thread
    recordfiles.atomic_write(tmp_path / "prompt.md", "the prompt", durable=False, ordered=False)
    assert (tmp_path / "prompt.md").read_text() == "the prompt"
    assert recordfiles._PENDING.works  # the record's sync was not waited for
    recordfiles.atomic_write(tmp_path / "other.json", "{}", durable=False)  # a record: written after it
    assert not recordfiles._PENDING.works
    assert (tmp_path / "state.json").read_text() == '{"state": "a"}'
