"""A change's lease: one machine at a time runs the phases of a change whose branches are on a remote.

The lease is the ref ``refs/specflow/leases/<id>`` on the remote the change's hub branch tracks
(the first of its repos that tracks one).  It points at a commit with no parent and an empty tree
whose message holds who holds it: machine, pid, since, until.  Every write is a compare-and-swap
push (``git push --force-with-lease=<ref>:<expected>``), so of two machines racing, exactly one
wins.  The holder renews it every third of its term while a phase runs and deletes it at the end;
a machine that died leaves a lease that expires, which another machine may then take over.

Nothing here writes a local ref: the audit of a running phase watches them.
``datetime`` is imported where a lease is read or written: a change with no remote has none.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from specflow.changestate import records, recordtypes
from specflow.changestate.machine_id import machine_name
from specflow.changestate.recordtypes import HistoryEvent, InFlight
from specflow.engine.statemerge import register as register_merge
from specflow.errors import GitError, LeaseHeldError, RemoteError
from specflow.structs import Struct
from specflow.workspace.git import EMPTY_TREE, GitRepo
from specflow.workspace.remote import change_repos, lease_remote, lease_remote_anywhere

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from specflow.definitions.config import HubConfig
    from specflow.engine.phasechange import PhaseChange
    from specflow.engine.view import ChangeView

LEASE_ROOT = "refs/specflow/leases"
DEFAULT_SECONDS = 120.0
_TITLE = "specflow lease"


def lease_ref(change_id: str) -> str:
    return f"{LEASE_ROOT}/{change_id}"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(text: str) -> datetime:
    from datetime import UTC, datetime

    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _short(text: str) -> str:
    return text[:19].replace("T", " ") + " UTC"


class LeaseHolder(Struct, frozen=True):
    """Who holds a change's lease, as its commit on the remote says."""

    machine: str
    pid: int
    since: str
    until: str
    commit: str

    @property
    def expires(self) -> datetime:
        return _parse(self.until)

    def expired(self, now: datetime | None = None) -> bool:
        from datetime import UTC, datetime

        return (now or datetime.now(UTC)) >= self.expires

    def describe(self) -> str:
        return f"machine '{self.machine}' (pid {self.pid}) since {_short(self.since)}, until {_short(self.until)}"

    @classmethod
    def from_message(cls, commit: str, message: str) -> LeaseHolder | None:
        start = message.find("{")
        try:
            data = json.loads(message[start:])
            return cls(str(data["machine"]), int(data["pid"]), str(data["since"]), str(data["until"]), commit)
        except (ValueError, KeyError, TypeError):
            return None


class Lease:
    """A lease this process holds.  ``take`` it, ``renew`` it (or ``keep_renewed``), ``release`` it."""

    def __init__(self, repo: GitRepo, remote: str, change_id: str, holder: LeaseHolder, seconds: float) -> None:
        self.repo = repo
        self.remote = remote
        self.change_id = change_id
        self.holder_record = holder
        self.seconds = seconds
        self.lost: str | None = None
        """Why the lease was lost while held (another machine took it after it expired), if it was."""
        self.took_over: LeaseHolder | None = None
        """The expired lease of another machine this one replaced, if any."""
        self._lock = threading.Lock()

    # -- reading --------------------------------------------------------------------------------

    @staticmethod
    def holder(repo: GitRepo, remote: str, change_id: str) -> LeaseHolder | None:
        """Who holds the change's lease on ``remote`` now (None: nobody)."""
        ref = lease_ref(change_id)
        sha = _remote_sha(repo, remote, change_id)
        if sha is None:
            return None
        if repo.resolve(sha) is None:  # its commit was made on another machine: bring it here
            _git(repo, remote, change_id, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, ref)
        message = repo.text("log", "-1", "--format=%B", sha) if repo.resolve(sha) else ""
        found = LeaseHolder.from_message(sha, message)
        if found is None:  # a ref someone else wrote: held, by nobody known, until removed
            return LeaseHolder("unknown", 0, "1970-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.000000Z", sha)
        return found

    # -- writing --------------------------------------------------------------------------------

    @classmethod
    def take(
        cls,
        repo: GitRepo,
        remote: str,
        change_id: str,
        *,
        seconds: float = DEFAULT_SECONDS,
        machine: str | None = None,
        take_over: bool = False,
    ) -> Lease:
        """Take the lease, or raise ``LeaseHeldError`` saying who holds it, since and until when.

        This machine's own lease (left by a run that died) is taken back; another machine's only
        with ``take_over``, and only once it has expired.
        """
        from datetime import UTC, datetime, timedelta

        me = machine or machine_name()
        current = cls.holder(repo, remote, change_id)
        replaced: LeaseHolder | None = None
        if current is not None and current.machine != me:
            _refuse_unless_expired(change_id, current, take_over)
            replaced = current
        now = datetime.now(UTC)
        record = _new_holder(repo, change_id, me, os.getpid(), _iso(now), _iso(now + timedelta(seconds=seconds)))
        if not _swap(repo, remote, change_id, current.commit if current else "", record.commit):
            raced = cls.holder(repo, remote, change_id)
            if raced is None:
                raise LeaseHeldError(
                    f"the lease of change '{change_id}' changed while this machine took it",
                    fix="run the command again",
                )
            raise _held(change_id, raced)
        lease = cls(repo, remote, change_id, record, seconds)
        lease.took_over = replaced
        return lease

    def renew(self) -> bool:
        """Push a later expiry; False (and ``lost`` set) when another machine has the lease now."""
        from datetime import UTC, datetime, timedelta

        with self._lock:
            if self.lost is not None:
                return False
            old = self.holder_record
            until = _iso(datetime.now(UTC) + timedelta(seconds=self.seconds))
            new = _new_holder(self.repo, self.change_id, old.machine, old.pid, old.since, until)
            try:
                swapped = _swap(self.repo, self.remote, self.change_id, old.commit, new.commit)
            except RemoteError:
                return True  # the remote is unreachable for now: try again at the next renewal
            if swapped:
                self.holder_record = new
                return True
            other = Lease.holder(self.repo, self.remote, self.change_id)
            self.lost = f"taken by {other.describe()}" if other else "removed from the remote"
            return False

    def release(self) -> None:
        """Delete the lease from the remote, if it is still this machine's."""
        with self._lock:
            if self.lost is not None:
                return
            with contextlib.suppress(RemoteError):
                _swap(self.repo, self.remote, self.change_id, self.holder_record.commit, None)
            self.lost = "released"

    @contextlib.contextmanager
    def keep_renewed(self) -> Iterator[Lease]:
        """Renew the lease every third of its term in a background thread until the block ends."""
        stop = threading.Event()

        def renew_until_stopped() -> None:
            while not stop.wait(self.seconds / 3):
                if not self.renew():
                    return

        thread = threading.Thread(target=renew_until_stopped, name=f"lease-{self.change_id}", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.release()


def _refuse_unless_expired(change_id: str, current: LeaseHolder, take_over: bool) -> None:
    expired = current.expired()
    if expired and take_over:
        return
    if expired:
        raise LeaseHeldError(
            f"change '{change_id}' is held by {current.describe()}; that lease has expired",
            fix=f"if that machine is no longer running it, take it over: specflow advance {change_id} --take-over",
        )
    raise _held(change_id, current, take_over)


def _held(change_id: str, holder: LeaseHolder, take_over: bool = False) -> LeaseHeldError:
    refused = " (--take-over works only once the lease has expired)" if take_over else ""
    return LeaseHeldError(
        f"change '{change_id}' is held by {holder.describe()}{refused}",
        fix=f"wait for that machine to finish (its lease is renewed while it runs a phase); if it died,"
        f" run 'specflow advance {change_id} --take-over' after {_short(holder.until)}",
    )


def _new_holder(repo: GitRepo, change_id: str, machine: str, pid: int, since: str, until: str) -> LeaseHolder:
    data = {"change": change_id, "machine": machine, "pid": pid, "since": since, "until": until}
    message = f"{_TITLE} of {change_id}: {machine}\n\n{json.dumps(data, sort_keys=True)}\n"
    commit = repo.commit_tree(EMPTY_TREE, [], message)
    return LeaseHolder(machine, pid, since, until, commit)


def _swap(repo: GitRepo, remote: str, change_id: str, expected: str, new: str | None) -> bool:
    """Compare-and-swap the remote's lease ref: ``expected`` ("" = absent) to ``new`` (None = delete)."""
    ref = lease_ref(change_id)
    spec = f"{new}:{ref}" if new else f":{ref}"
    try:
        repo.run("push", "--quiet", "--no-verify", f"--force-with-lease={ref}:{expected}", remote, spec)
    except GitError as exc:
        if "(stale info)" in exc.message:  # the compare failed: someone else's value is there now
            return False
        # two pushes at one instant: the remote refuses the loser's ref lock, not its lease
        if _remote_sha(repo, remote, change_id) != (expected or None):
            return False
        raise RemoteError(
            f"cannot write the lease of change '{change_id}' on remote '{remote}': {exc.message}",
            fix="check the remote's URL (git remote -v) and your access to it, then run again",
        ) from None
    return True


def _remote_sha(repo: GitRepo, remote: str, change_id: str) -> str | None:
    ref = lease_ref(change_id)
    out = _git(repo, remote, change_id, "ls-remote", "--refs", remote, ref)
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None


def _git(repo: GitRepo, remote: str, change_id: str, *args: str) -> str:
    try:
        return repo.text(*args)
    except GitError as exc:
        raise RemoteError(
            f"cannot read the lease on remote '{remote}' of {repo.root}: {exc.message}",
            fix="check the remote's URL (git remote -v) and your access to it, then run again; to run the"
            f" change here without a lease (no other machine may run it meanwhile), stop its branch tracking"
            f" the remote: git -C {repo.root} branch --unset-upstream specflow/{change_id}",
        ) from None


#: The leases this thread holds, by change id: a block inside another that holds one reuses it.
_this_thread = threading.local()


def _held_here() -> dict[str, Lease]:
    leases: dict[str, Lease] | None = getattr(_this_thread, "leases", None)
    if leases is None:
        leases = _this_thread.leases = {}
    return leases


@contextlib.contextmanager
def change_lease(change: ChangeView | PhaseChange, *, take_over: bool = False) -> Iterator[Lease | None]:
    """Hold the change's lease for the block when its branches are on a remote (else nothing to hold).

    Inside a block of the same thread that holds it already (a queue worker holds it around the
    phase and the push after it), the lease held is reused: taken once, released once.
    """
    held = _held_here().get(change.id)
    if held is not None and held.lost is None:
        yield held
        return
    machine_name()  # a misconfigured name is refused before any phase, with its fix
    where = lease_remote(change_repos(change.hub.root, change.hub.config), change.id)
    if where is None:
        yield None
        return
    repo, remote = where
    register_merge(change.hub.root)  # a hub made before 'init' registered it: its records merge from now on
    lease = Lease.take(repo, remote, change.id, seconds=change.hub.config.lease_seconds, take_over=take_over)
    _held_here()[change.id] = lease
    try:
        with lease.keep_renewed():
            yield lease
    finally:
        _held_here().pop(change.id, None)


def holder_of(hub_root: Path, config: HubConfig, change_id: str) -> LeaseHolder | None:
    """Who holds the lease of ``change_id`` now, also when this clone has not pulled the change yet."""
    where = lease_remote_anywhere(change_repos(hub_root, config), change_id)
    return None if where is None else Lease.holder(*where, change_id)


def take_back(hub_root: Path, config: HubConfig, change_id: str, machine: str) -> bool:
    """Renew the change's lease for its full term when ``machine`` holds it (expired or not), as a
    restarting worker does for the runs it takes back; True when it did.  Never released here:
    the run's own phase takes it back again, or it expires."""
    where = lease_remote_anywhere(change_repos(hub_root, config), change_id)
    if where is None:
        return False
    holder = Lease.holder(*where, change_id)
    if holder is None or holder.machine != machine:
        return False
    Lease.take(*where, change_id, seconds=config.lease_seconds, machine=machine)
    return True


def record_lost_run(change: PhaseChange, holder: LeaseHolder) -> HistoryEvent:
    """Record as interrupted the run of the machine whose expired lease this one took over.

    That machine died (or lost its remote) in the middle of a phase it never pushed: this clone
    has no record of the attempt, only the lease, which says who ran it and since when.  The
    attempt is recorded once, as the machine that ran it; the phase then runs again here from the
    last pushed state.  The caller holds the lease and the change's lock.
    """
    record = change.require_record()
    state = str(record["state"])
    workflow = change.hub.workflow(record.get("workflow"))
    targets = {sc.to for sc in workflow.scenarios_from(state, "advance")}
    to = targets.pop() if len(targets) == 1 else None
    attempts = [ev for ev in change.history() if ev.get("to") == to and ev.get("outcome") in recordtypes.ATTEMPTS]
    flight = InFlight(trigger="advance", started=holder.since, pid=holder.pid, attempt=len(attempts) + 1)
    flight["from"] = state
    if to is not None:
        flight["to"] = to
    record["in_flight"] = flight
    event = HistoryEvent(trigger="advance", attempt=len(attempts) + 1, started=holder.since, machine=holder.machine)
    event["from"], event["to"] = state, to
    reason = (
        f"the attempt of {holder.describe()} was lost: that machine stopped renewing the change's lease and"
        f" never pushed the attempt; machine '{machine_name()}' runs the phase again from the last pushed state"
    )
    return records.record_interrupted(change.dir, record, event, reason)
