"""The lease: one machine at a time, through compare-and-swap pushes to a bare remote."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from specflow.engine.change import Change
from specflow.engine.hub import Hub
from specflow.engine.lease import Lease, change_lease, holder_of, lease_ref, record_lost_run
from specflow.errors import LeaseHeldError, RemoteError
from specflow.workspace.git import GitRepo
from tests.conftest import HubFixture, git, init_repo, wait_until
from tests.remote_world import make_world, remote_refs

CHANGE = "add-login"


@pytest.fixture
def clones(tmp_path: Path) -> tuple[Path, GitRepo, GitRepo]:
    """A bare remote and two clones of it (two machines' repositories)."""
    bare = tmp_path / "remote.git"
    bare.mkdir()
    git(bare, "init", "-q", "--bare", "-b", "main")
    first = init_repo(tmp_path / "a")
    git(first, "commit", "-q", "--allow-empty", "-m", "start")
    git(first, "remote", "add", "origin", str(bare))
    git(first, "push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", str(bare), "b")
    return bare, GitRepo.open(first), GitRepo.open(tmp_path / "b")


def test_a_held_lease_refuses_another_machine_with_who_since_and_until(clones: Any) -> None:
    bare, a, b = clones
    lease = Lease.take(a, "origin", CHANGE, seconds=60, machine="alpha")
    assert remote_refs(bare)[lease_ref(CHANGE)] == lease.holder_record.commit
    seen = Lease.holder(b, "origin", CHANGE)
    assert seen is not None and (seen.machine, seen.pid) == ("alpha", lease.holder_record.pid)
    assert datetime.now(UTC) + timedelta(seconds=50) < seen.expires <= datetime.now(UTC) + timedelta(seconds=60)
    for take_over in (False, True):
        with pytest.raises(LeaseHeldError) as refused:
            Lease.take(b, "origin", CHANGE, seconds=60, machine="beta", take_over=take_over)
        message = refused.value.message
        assert f"change '{CHANGE}' is held by machine 'alpha' (pid {seen.pid}) since " in message
        assert f"until {seen.until[:19].replace('T', ' ')} UTC" in message
        assert ("--take-over works only once the lease has expired" in message) == take_over
    assert remote_refs(bare)[lease_ref(CHANGE)] == lease.holder_record.commit  # untouched
    lease.release()
    assert lease_ref(CHANGE) not in remote_refs(bare)
    assert Lease.holder(b, "origin", CHANGE) is None


def test_an_expired_lease_is_taken_over_only_when_asked_and_its_old_holder_learns_it_lost(clones: Any) -> None:
    bare, a, b = clones
    old = Lease.take(a, "origin", CHANGE, seconds=1, machine="alpha")
    time.sleep(1.1)
    with pytest.raises(LeaseHeldError) as refused:
        Lease.take(b, "origin", CHANGE, seconds=60, machine="beta")
    assert "that lease has expired" in refused.value.message
    assert refused.value.fix is not None and f"specflow advance {CHANGE} --take-over" in refused.value.fix
    new = Lease.take(b, "origin", CHANGE, seconds=60, machine="beta", take_over=True)
    assert new.took_over is not None and new.took_over.machine == "alpha"
    assert old.renew() is False and old.lost is not None and "machine 'beta'" in old.lost
    old.release()  # not its lease any more: left alone
    assert remote_refs(bare)[lease_ref(CHANGE)] == new.holder_record.commit


def test_a_machine_takes_back_its_own_lease_left_by_a_run_that_died(clones: Any) -> None:
    _bare, a, _b = clones
    Lease.take(a, "origin", CHANGE, seconds=60, machine="alpha")  # never released: the process died
    again = Lease.take(a, "origin", CHANGE, seconds=60, machine="alpha")
    assert again.took_over is None
    again.release()


def test_two_machines_racing_for_a_free_lease_exactly_one_wins(clones: Any) -> None:
    _bare, a, b = clones
    barrier = threading.Barrier(2)
    won: list[str] = []
    lost: list[str] = []

    def race(repo: GitRepo, machine: str) -> None:
        barrier.wait()
        try:
            Lease.take(repo, "origin", CHANGE, seconds=60, machine=machine)
            won.append(machine)
        except LeaseHeldError as exc:
            lost.append(exc.message)

    threads = [threading.Thread(target=race, args=(a, "alpha")), threading.Thread(target=race, args=(b, "beta"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == 1, (won, lost)


def test_a_held_lease_is_renewed_in_the_background_and_released_at_the_end(clones: Any) -> None:
    bare, a, b = clones
    lease = Lease.take(a, "origin", CHANGE, seconds=1.5, machine="alpha")
    first_until = lease.holder_record.until
    with lease.keep_renewed():
        time.sleep(1.2)
        renewed = Lease.holder(b, "origin", CHANGE)
        assert renewed is not None and renewed.until > first_until
        time.sleep(0.8)  # past the first term: still held, not expired
        current = Lease.holder(b, "origin", CHANGE)
        assert current is not None and not current.expired()
    assert lease_ref(CHANGE) not in remote_refs(bare)
    assert not git(a.root, "for-each-ref", "refs/specflow/").strip()  # no local ref was ever written


def test_advance_takes_and_releases_the_lease_and_refuses_while_another_machine_holds_it(
    hub: HubFixture, tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = tmp_path / "hub.git"
    bare.mkdir()
    git(bare, "init", "-q", "--bare", "-b", "main")
    git(hub.root, "remote", "add", "origin", str(bare))
    git(hub.root, "push", "-q", "origin", "main")
    # the agent prints the lease it runs under, as the remote shows it while the phase runs
    hub.agent(
        "scripted",
        "import subprocess, sys\nsys.stdin.read()\n"
        f"print(subprocess.run(['git', 'ls-remote', {str(bare)!r}, 'refs/specflow/leases/*'],"
        " capture_output=True, text=True).stdout or 'no lease')\n",
    )
    hub.commit("agent")
    Hub.open(hub.root).new_change(CHANGE)  # starts the change's hub branch, which now tracks the remote
    git(hub.root, "push", "-q", "-u", "origin", f"specflow/{CHANGE}")
    other = init_repo(tmp_path / "other")
    git(other, "remote", "add", "origin", str(bare))
    held = Lease.take(GitRepo.open(other), "origin", CHANGE, seconds=60, machine="beta")

    monkeypatch.setenv("SPECFLOW_MACHINE", "alpha")
    code, _, err = cli("-C", hub.root, "advance", CHANGE)
    assert code == 1
    assert f"change '{CHANGE}' is held by machine 'beta'" in err
    assert Hub.open(hub.root).change(CHANGE).state == "draft"
    holder = Hub.open(hub.root).change(CHANGE).lease_holder()
    assert holder is not None and holder.machine == "beta"

    held.release()
    code, _, err = cli("-C", hub.root, "advance", CHANGE)
    assert code == 0, err
    notes = (hub.change_dir(CHANGE) / "notes.md").read_text()
    assert f"refs/specflow/leases/{CHANGE}" in notes  # held while the agent ran
    assert f"refs/specflow/leases/{CHANGE}" not in remote_refs(bare)  # released after
    history = Hub.open(hub.root).change(CHANGE).history()
    assert history[-1]["outcome"] == "succeeded" and history[-1]["machine"] == "alpha"
    # a hub whose changes go to a remote has its records merge from its first phase on
    assert "specflow.engine.statemerge" in git(hub.root, "config", "merge.specflow-state.driver")
    attributes = (hub.root / ".git" / "info" / "attributes").read_text()
    assert "openspec/changes/**/.specflow/history.jsonl merge=union" in attributes


def test_an_unreachable_remote_refuses_the_phase_and_says_how_to_run_without_a_lease(
    hub: HubFixture, tmp_path: Path, cli: Any
) -> None:
    bare = tmp_path / "hub.git"
    bare.mkdir()
    git(bare, "init", "-q", "--bare", "-b", "main")
    git(hub.root, "remote", "add", "origin", str(bare))
    hub.agent("scripted", "import sys\nsys.stdin.read()\nprint('notes')\n")
    hub.commit("agent")
    Hub.open(hub.root).new_change(CHANGE)
    git(hub.root, "push", "-q", "-u", "origin", f"specflow/{CHANGE}")
    git(hub.root, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    code, _, err = cli("-C", hub.root, "advance", CHANGE)
    assert code == 1 and "cannot read the lease on remote 'origin'" in err
    assert f"branch --unset-upstream specflow/{CHANGE}" in err
    git(hub.root, "branch", "--unset-upstream", f"specflow/{CHANGE}")
    code, _, err = cli("-C", hub.root, "advance", CHANGE)
    assert code == 0, err


def test_a_lease_lost_while_the_phase_runs_is_reported_and_never_deleted(
    hub: HubFixture, tmp_path: Path, cli: Any
) -> None:
    bare = tmp_path / "hub.git"
    bare.mkdir()
    git(bare, "init", "-q", "--bare", "-b", "main")
    git(hub.root, "remote", "add", "origin", str(bare))
    (hub.root / "specflow.yaml").write_text((hub.root / "specflow.yaml").read_text() + "lease_seconds: 1\n")
    # while the agent runs, someone else's commit replaces the lease on the remote
    hub.agent(
        "scripted",
        "import subprocess, sys, time\nsys.stdin.read()\n"
        f"bare = {str(bare)!r}\n"
        "out = subprocess.run(['git', '-C', bare, 'rev-parse', 'main'], capture_output=True, text=True)\n"
        "sha = out.stdout.strip()\n"
        f"subprocess.run(['git', '-C', bare, 'update-ref', {lease_ref(CHANGE)!r}, sha], check=True)\n"
        "time.sleep(1.5)\nprint('notes')\n",
    )
    hub.commit("agent")
    git(hub.root, "push", "-q", "origin", "main")
    Hub.open(hub.root).new_change(CHANGE)
    git(hub.root, "push", "-q", "-u", "origin", f"specflow/{CHANGE}")
    code, out, err = cli("-C", hub.root, "advance", CHANGE)
    assert code == 0, err
    assert f"warning: the lease of '{CHANGE}' was lost while it ran: taken by machine 'unknown'" in out
    main = git(bare, "rev-parse", "main").strip()
    assert remote_refs(bare)[lease_ref(CHANGE)] == main  # the other holder's lease stays


def test_a_remote_that_refuses_the_lease_ref_is_an_error_not_a_held_lease(clones: Any) -> None:
    bare, a, _b = clones
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'no custom refs here' >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(RemoteError) as refused:
        Lease.take(a, "origin", CHANGE, seconds=60, machine="alpha")
    assert f"cannot write the lease of change '{CHANGE}' on remote 'origin'" in refused.value.message
    assert "no custom refs here" in refused.value.message


def test_a_background_advance_takes_over_an_expired_lease_when_asked(hub: HubFixture, tmp_path: Path, cli: Any) -> None:
    bare = tmp_path / "hub.git"
    bare.mkdir()
    git(bare, "init", "-q", "--bare", "-b", "main")
    git(hub.root, "remote", "add", "origin", str(bare))
    hub.agent("scripted", "import sys\nsys.stdin.read()\nprint('notes')\n")
    hub.commit("agent")
    Hub.open(hub.root).new_change(CHANGE)
    git(hub.root, "push", "-q", "-u", "origin", f"specflow/{CHANGE}")
    other = init_repo(tmp_path / "other")
    git(other, "remote", "add", "origin", str(bare))
    Lease.take(GitRepo.open(other), "origin", CHANGE, seconds=1, machine="beta")
    time.sleep(1.1)
    code, _, err = cli("-C", hub.root, "advance", CHANGE, "--background", "--take-over")
    assert code == 0, err
    wait_until(lambda: Hub.open(hub.root).change(CHANGE).state == "think", "the background advance")
    wait_until(lambda: lease_ref(CHANGE) not in remote_refs(bare), "the lease's release")
    # and the run's end, so no reaper thread of it outlives the test
    wait_until(lambda: not any(t.name.startswith("specflow-bg-") for t in threading.enumerate()), "the run's end")


def test_a_lease_held_around_an_advance_is_reused_inside_it_and_released_once(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    with world.a.active():
        change = Hub.open(world.a.hub).new_change(CHANGE)
        change.push()
        with change_lease(change) as outer:
            assert outer is not None
            with change_lease(change) as inner:  # as Engine.run inside a queue worker's step
                assert inner is outer
            assert lease_ref(CHANGE) in remote_refs(world.remote_hub)  # the inner block released nothing
            change.advance()  # takes no second lease, and is not refused by this one
            assert remote_refs(world.remote_hub)[lease_ref(CHANGE)] == outer.holder_record.commit
        assert lease_ref(CHANGE) not in remote_refs(world.remote_hub)


def test_a_lease_taken_over_records_the_lost_attempt_of_its_machine_once(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    with world.a.active():
        change = Hub.open(world.a.hub).new_change(CHANGE)
        change.push()
        # alpha dies mid-phase: its lease is left, and expires
        Lease.take(GitRepo.open(world.a.hub), "origin", CHANGE, seconds=1, machine="alpha")
    time.sleep(1.1)
    with world.b.active():
        Change.named(Hub.open(world.b.hub), CHANGE).pull()
        change = Hub.open(world.b.hub).change(CHANGE)
        with change_lease(change, take_over=True) as lease:
            assert lease is not None and lease.took_over is not None
            assert lease.took_over.machine == "alpha"
            record_lost_run(change, lease.took_over)
            change.advance()
    history = Hub.open(world.b.hub).change(CHANGE).history()
    assert [e["outcome"] for e in history] == ["created", "interrupted", "succeeded"]
    lost = history[1]
    assert (lost.get("machine"), lost.get("from"), lost.get("to"), lost.get("attempt")) == (
        "alpha",
        "draft",
        "think",
        1,
    )
    assert "machine 'beta' runs the phase again from the last pushed state" in lost["reasons"][0]
    assert (history[2].get("machine"), history[2].get("attempt")) == ("beta", 2)
    assert holder_of(world.b.hub, Hub.open(world.b.hub).config, CHANGE) is None
