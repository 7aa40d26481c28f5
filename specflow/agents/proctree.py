"""Stopping an agent and everything it started, for every adapter.

Agents start helpers in sessions of their own (Claude Code runs each Bash command that way), so
killing the agent's process group is not enough: the whole tree of descendants is found through
``/proc`` and stopped too, each checked by its start time so no unrelated process is hit.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import time
from collections.abc import Mapping
from typing import IO

KILL_GRACE_S = 2.0


def proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, process group, start time) from /proc; empty where there is no /proc."""
    table: dict[int, tuple[int, int, str]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 19:
            table[int(entry)] = (int(fields[1]), int(fields[2]), fields[19])
    return table


def descendants(root: int) -> dict[int, tuple[int, str]]:
    """Every live descendant of ``root``: pid -> (process group, start time).

    Claude Code starts Bash commands in sessions of their own, so killing its process group
    alone would leave them running.
    """
    table = proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, tuple[int, str]] = {}
    todo = list(children.get(root, []))
    while todo and len(found) < 10_000:
        pid = todo.pop()
        if pid in found or pid not in table:
            continue
        found[pid] = (table[pid][1], table[pid][2])
        todo.extend(children.get(pid, []))
    return found


def _signal_group(pgid: int, sig: int) -> None:
    if pgid <= 1 or pgid == os.getpgrp():
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def kill_known(known: Mapping[int, tuple[int, str]]) -> None:
    """SIGKILL processes seen earlier, only if each is still the same process (same start time)."""
    if not known:
        return
    table = proc_table()
    for pid, (pgid, started) in known.items():
        current = table.get(pid)
        if current is None or current[2] != started:
            continue
        _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def exited(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait up to ``timeout`` for ``proc`` to exit, without reaping it where the OS allows.

    Unreaped, its process id (which is also its group's id) cannot be reused, so signalling the
    group afterwards cannot hit an unrelated process.  Without ``waitid`` (macOS) it is reaped.
    """
    deadline = time.monotonic() + timeout
    waitid = getattr(os, "waitid", None)
    while True:
        if waitid is None:
            if proc.poll() is not None:
                return True
        else:
            try:
                if waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    return True
            except ChildProcessError:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def stop_tree(proc: subprocess.Popen[bytes], known: dict[int, tuple[int, str]]) -> None:
    """End an agent and everything it started (its group and every descendant); ``proc`` is reaped on return."""
    known.update(descendants(proc.pid))
    if not exited(proc, 0):
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


def pump_lines(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    try:
        for line in stream:
            lines.put(line)
    except (OSError, ValueError):
        pass
    finally:
        lines.put(None)


def feed_stdin(stream: IO[bytes], data: bytes) -> None:
    try:
        stream.write(data)
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            stream.close()
