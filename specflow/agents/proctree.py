"""Stopping an agent and everything it started, for every adapter, on Linux and macOS.

Agents start helpers in sessions of their own (Claude Code runs each Bash command that way), so
killing the agent's process group is not enough: the whole tree of descendants is found and stopped
too, each checked by its start time so no unrelated process is hit.  ``psutil`` finds the tree on
both platforms (``/proc`` on Linux, ``sysctl`` on macOS); it is imported here and nowhere else, and
only once a tree is walked: a quick agent needs its start time alone, read from ``/proc`` on Linux
as psutil reads it (importing psutil costs every phase ~10 ms).

On Linux the sandbox's supervisor (``specflow.sandbox.exec``) or bubblewrap's PID namespace already
ends the tree when the agent exits; this module is what stops it from specflow's side (time limit,
Ctrl-C), and what ``recover`` uses to end survivors of a specflow that was killed.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any

from specflow.agents.base import AgentEvent

if TYPE_CHECKING:
    import queue

    import psutil

    from specflow.sandbox.launch import Launched

KILL_GRACE_S = 2.0
#: Two start times closer than this are the same process (psutil rounds to the clock tick).
SAME_START_S = 0.05


def _psutil() -> Any:
    """psutil, imported the first time a process tree is walked."""
    import psutil

    return psutil


def start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), None if it is gone."""
    if sys.platform.startswith("linux"):
        return _proc_start_time(pid)
    ps = _psutil()
    try:
        return float(ps.Process(pid).create_time())
    except (ps.Error, OSError):
        return None


def _proc_start_time(pid: int) -> float | None:
    """``psutil.Process(pid).create_time()`` on Linux, computed the same way: the start in clock
    ticks since boot (``/proc/PID/stat``, field 22) over the tick rate, plus the boot time."""
    found = _proc_state(pid)
    return found[1] if found is not None else None


def stat_fields(path: str) -> list[bytes] | None:
    """The fields of a ``/proc`` ``stat`` file after the command's closing parenthesis (the state
    first, the parent's pid next; the start time is the 20th), or None when it cannot be read
    or is cut short."""
    try:
        with open(path, "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields if len(fields) >= 20 else None


def _proc_state(pid: int) -> tuple[bytes, float] | None:
    """Process ``pid``'s state letter (``R``, ``S``, ``Z``...) and start time, from ``/proc/PID/stat``."""
    fields = stat_fields(f"/proc/{pid}/stat")
    if fields is None:
        return None
    return fields[0], int(fields[19]) / os.sysconf("SC_CLK_TCK") + _boot_time()


def _boot_time() -> float:
    """When this machine booted (seconds since the epoch), as psutil reads it: ``btime`` in ``/proc/stat``."""
    with open("/proc/stat", "rb") as fh:
        for line in fh:
            if line.startswith(b"btime"):
                return float(line.split()[1])
    raise OSError("no 'btime' line in /proc/stat")


def process_ref(pid: int) -> dict[str, Any]:
    """A reference to a live process that survives pid reuse: its pid and start time."""
    return {"pid": pid, "started": start_time(pid)}


def sandbox_event(launch: Launched) -> AgentEvent:
    """The event saying which layer holds a started agent, with what recovery needs to end its tree."""
    pid = launch.proc.pid
    info = launch.info()
    note = "" if launch.network_enforced else f"; network '{launch.policy.network}' not enforced by this layer"
    return AgentEvent(
        "sandbox",
        f"{launch.layer} holds the agent (pid {pid}){note}"
        if launch.layer != "off"
        else f"no sandbox layer holds the agent (sandbox: off; pid {pid})",
        {**info, **process_ref(pid), "marker": launch.marker, "tmpdir": str(launch.policy.tmpdir)},
    )


def descendants(root: int) -> dict[int, tuple[int, float]]:
    """Every live descendant of ``root``: pid -> (process group, start time).

    Claude Code starts Bash commands in sessions of their own, so killing its process group
    alone would leave them running.
    """
    if sys.platform.startswith("linux"):
        return _proc_descendants(root)
    ps = _psutil()
    found: dict[int, tuple[int, float]] = {}
    try:
        children = ps.Process(root).children(recursive=True)
    except (ps.Error, OSError):
        return found
    for child in children:
        with contextlib.suppress(ps.Error, OSError):
            found[child.pid] = (os.getpgid(child.pid), float(child.create_time()))
    return found


def _proc_descendants(root: int) -> dict[int, tuple[int, float]]:
    """``descendants`` from ``/proc`` as psutil walks it (parent ids of every process), each process's
    group and start time from the same read."""
    children: dict[int, list[int]] = {}
    facts: dict[int, tuple[int, int]] = {}  # pid -> (process group, start in clock ticks)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = stat_fields(f"/proc/{entry}/stat")
        if fields is None:
            continue
        pid = int(entry)  # zombies too, as psutil lists them: their group may hold live processes
        children.setdefault(int(fields[1]), []).append(pid)
        facts[pid] = (int(fields[2]), int(fields[19]))
    found: dict[int, tuple[int, float]] = {}
    if not children.get(root):
        return found
    tick, boot = os.sysconf("SC_CLK_TCK"), _boot_time()
    todo = list(children[root])
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        pgid, ticks = facts[pid]
        found[pid] = (pgid, ticks / tick + boot)
        todo += children.get(pid, [])
    return found


def _same(pid: int, started: float | None) -> bool:
    now = start_time(pid)
    return now is not None and started is not None and abs(now - started) < SAME_START_S


def _signal_group(pgid: int, sig: int) -> None:
    if pgid <= 1 or pgid == os.getpgrp():
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _running(proc: psutil.Process) -> bool:
    """Still running: a zombie has ended, whoever is to reap it (``psutil.wait_procs`` waits for
    the reaping, which for a sandbox's process re-parented away from specflow took 1.4 s)."""
    ps = _psutil()
    try:
        if not proc.is_running():
            return False
        if proc.status() != ps.STATUS_ZOMBIE:
            return True
    except (ps.Error, OSError):
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(proc.pid, os.WNOHANG)  # ours to reap: reaped, as wait_procs did
    return False


def wait_gone(procs: list[psutil.Process], timeout: float) -> None:
    """Wait up to ``timeout`` until none of ``procs`` runs any more."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while (procs := [p for p in procs if _running(p)]) and time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def kill_known(known: Mapping[int, tuple[int, float]]) -> None:
    """SIGKILL processes seen earlier, only if each is still the same process (same start time),
    and wait (up to ``KILL_GRACE_S``) until they are gone: the audit starts after, not before."""
    killed: dict[int, float] = {}
    for pid, (pgid, started) in known.items():
        if not _same(pid, started):
            continue
        _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        killed[pid] = started
    if not killed:
        return
    if sys.platform.startswith("linux"):
        _wait_ended(killed, KILL_GRACE_S)  # read from /proc: no psutil to import at every agent's end
        return
    ps = _psutil()
    procs: list[psutil.Process] = []
    for pid in killed:
        with contextlib.suppress(ps.Error, OSError):
            procs.append(ps.Process(pid))
    wait_gone(procs, KILL_GRACE_S)


def _wait_ended(started: Mapping[int, float], timeout: float) -> None:
    """``wait_gone`` on Linux, from ``/proc``: until none of the processes (pid -> start time) runs."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while (started := {pid: at for pid, at in started.items() if _proc_running(pid, at)}) and (
        time.monotonic() < deadline
    ):
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def _proc_running(pid: int, started: float) -> bool:
    """``_running`` from ``/proc``: the same process (same start) and not a zombie, which has
    ended, whoever is to reap it (reaped here when it is specflow's own child)."""
    found = _proc_state(pid)
    if found is None or abs(found[1] - started) >= SAME_START_S:
        return False
    if found[0] not in (b"Z", b"X"):
        return True
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    return False


def exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait up to ``timeout`` for ``proc`` to exit, without reaping it where the OS allows.

    Unreaped, its process id (which is also its group's id) cannot be reused, so signalling the
    group afterwards cannot hit an unrelated process.  Without ``waitid`` (macOS) it is reaped.
    On Linux the wait is a poll on the process's pidfd: the exit is seen the moment it happens.
    """
    if _exit_seen(proc):
        return True
    if timeout > 0 and _pidfd_wait(proc.pid, timeout):
        return _exit_seen(proc)
    deadline = time.monotonic() + timeout
    pause = 0.001  # a quick agent is seen at once; a long one costs a check every 20 ms
    while time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 0.02)
        if _exit_seen(proc):
            return True
    return False


def _exit_seen(proc: subprocess.Popen[bytes]) -> bool:
    """``proc`` has exited (left unreaped where ``waitid`` exists)."""
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return proc.poll() is not None
    try:
        return waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _pidfd_wait(pid: int, timeout: float) -> bool:
    """Block until process ``pid`` exits or ``timeout`` passes; False where pidfds do not exist."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return False
    try:
        fd = pidfd_open(pid)
    except OSError:
        return False
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        poller.poll(timeout * 1000)
    finally:
        os.close(fd)
    return True


def stop_tree(proc: subprocess.Popen[bytes], known: dict[int, tuple[int, float]], *, ended: bool = False) -> None:
    """End an agent and everything it started (its group and every descendant); ``proc`` is reaped on return.

    Once ``proc`` has exited its children belong to another parent, so no walk of its tree can
    find them: what it started is in ``known``, seen while it ran.  ``ended``: the agent below
    ``proc`` (its sandbox's supervisor) has begun to exit, so nothing is asked to stop and waited
    for: what is left is killed at once, the agent's zombie counting as ended (``ExitWatch``).
    """
    if ended:
        known.update(descendants(proc.pid))
    elif not exited(proc, 0):
        known.update(descendants(proc.pid))
        _signal_group(proc.pid, signal.SIGTERM)
        if not exited(proc, KILL_GRACE_S):
            known.update(descendants(proc.pid))
    # Unreaped (where waitid exists), so the group id cannot have been reused: safe to signal.
    _signal_group(proc.pid, signal.SIGKILL)
    kill_known(known)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=KILL_GRACE_S)
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()


def _marked(marker: str, env_name: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``env_name=marker`` (the run's mark)."""
    ps = _psutil()
    found: list[psutil.Process] = []
    for proc in ps.process_iter():
        with contextlib.suppress(ps.Error, OSError):
            if proc.environ().get(env_name) == marker and proc.status() != ps.STATUS_ZOMBIE:
                found.append(proc)
    return found


def kill_survivors(refs: Iterable[Mapping[str, Any]], *, marker: str | None = None, env_name: str = "") -> list[int]:
    """Kill what is left of an agent tree whose specflow was killed; returns the pids killed.

    ``refs`` are ``process_ref`` records: each is killed with its descendants only if it is still
    the same process (same start time).  Processes carrying the run's environment mark are killed
    too: a double fork re-parented to init keeps its environment.
    """
    ps = _psutil()
    targets: dict[int, psutil.Process] = {}
    for ref in refs:
        pid = ref.get("pid")
        if not isinstance(pid, int) or not _same(pid, ref.get("started")):
            continue
        with contextlib.suppress(ps.Error, OSError):
            root = ps.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                targets[proc.pid] = proc
    if marker and env_name:
        for proc in _marked(marker, env_name):
            targets[proc.pid] = proc
    targets.pop(os.getpid(), None)
    for proc in targets.values():
        with contextlib.suppress(ps.Error, OSError):
            proc.kill()
    wait_gone(list(targets.values()), KILL_GRACE_S)
    return sorted(targets)


def pump_lines(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    try:
        for line in stream:
            lines.put(line)
    except (OSError, ValueError):
        pass
    finally:
        lines.put(None)


#: Bytes any pipe holds before a writer waits for its reader (Linux holds 64 KiB, macOS 16 KiB).
PIPE_HOLDS = 16384


def send_prompt(stream: IO[bytes], data: bytes) -> threading.Thread | None:
    """Write ``data`` to an agent's stdin and close it: at once when the pipe holds it all, else
    from a thread (the agent may write before it reads), which is returned, started."""
    if len(data) <= PIPE_HOLDS:
        feed_stdin(stream, data)
        return None
    feeder = threading.Thread(target=feed_stdin, args=(stream, data), daemon=True)
    feeder.start()
    return feeder


def feed_stdin(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            stream.close()
