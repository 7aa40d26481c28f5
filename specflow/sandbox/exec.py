"""The re-exec helper: ``python -I -S`` runs it between specflow and the agent (Linux).

Why a helper and not ``preexec_fn``: code run between ``fork`` and ``exec`` in a process with
threads (the adapters' reader threads, a dashboard's server) may deadlock on a lock another thread
held at the fork, and CPython documents ``preexec_fn`` as unsafe there.  A fresh interpreter has
one thread; it costs about 10 ms (no ``site``, standard library only).

The helper stays as the agent's supervisor:

- ``PR_SET_PDEATHSIG``: it hears when specflow dies (even by ``kill -9``) and then ends the agent;
- ``PR_SET_CHILD_SUBREAPER``: every orphan of the agent (double forks, ``setsid nohup``) re-parents
  to it rather than to init, so when the agent exits, or specflow stops it, every process below
  is found and killed before specflow's audit starts;
- Landlock (when asked) is applied to itself before it forks the agent, so both are confined.

Usage: ``python -I -S -c BOOT PARENT_PID HOLD_FD LANDLOCK N PATH... ARGV...``
(``launch.helper_argv`` builds it); ``PARENT_PID`` is specflow's, checked once the death signal is
armed; ``HOLD_FD`` -1, or a pipe to read one byte from before the agent starts (EOF: specflow gave
the run up, the agent never starts), so the helper's own start overlaps specflow's checkpoint;
``LANDLOCK`` is ``off``, ``on`` or ``on-no-tcp``, followed by the N writable paths.  Under
bubblewrap no helper runs: the agent is the first process of its PID namespace there.
Only cheap modules are imported (no ``json``, ``re``, ``typing``): every phase pays this start.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time

from specflow.sandbox import landlock

TYPE_CHECKING = False  # typing itself costs more to import than the rest of the helper
if TYPE_CHECKING:
    import signal
    from types import FrameType
else:
    try:  # the C module: ``signal`` wraps it in enums, and importing enum is ~5 ms of every start
        import _signal as signal
    except ImportError:
        import signal

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
STOP_GRACE_S = 1.0
EXIT_SANDBOX_FAILED = 126
EXIT_NOT_FOUND = 127
EXIT_NOT_RELEASED = 125


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signum)


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(ctypes.c_int(option), ctypes.c_ulong(value), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}) failed: {os.strerror(err)}")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _below(root: int) -> list[int]:
    children = _children_map()
    found: list[int] = []
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo += children.get(pid, [])
    return found


def _reap_all() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def _kill(pid: int, sig: int) -> None:
    try:  # noqa: SIM105 - contextlib (and what it imports) would slow every start
        os.kill(pid, sig)
    except OSError:
        pass


def _no_children() -> bool:
    """True when nothing is left below: as a subreaper, any live descendant keeps a child of ours."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return True
    return False


def _end_everything(grace: float) -> None:
    """Stop every descendant: SIGTERM and a grace period, then SIGKILL until none is left."""
    if _no_children():
        return  # the common case, without reading /proc
    me = os.getpid()
    if grace > 0:
        for pid in _below(me):
            _kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and _below(me):
            _reap_all()
            time.sleep(0.02)
    for _ in range(1000):
        left = _below(me)
        if not left:
            break
        for pid in left:
            _kill(pid, signal.SIGKILL)
        _reap_all()
        time.sleep(0.005)
    _reap_all()


def _run_child(argv: list[str]) -> None:
    """In the forked child: become the agent (never returns)."""
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    try:  # noqa: SIM105 - no contextlib in the helper
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the supervisor gone, the agent goes too
    except OSError:
        pass
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        os.write(2, f"specflow sandbox: cannot start {argv[0]!r}: {exc.strerror or exc}\n".encode())
    os._exit(EXIT_NOT_FOUND)


def _exit_like(status: int) -> None:
    """Exit the way the agent did: its exit code, or the signal that killed it."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:  # noqa: SIM105 - no contextlib in the helper
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # SIGKILL and SIGSTOP have no handler to reset
        os.kill(os.getpid(), sig)
        time.sleep(1)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status))


def _wait_for_release(hold: int) -> None:
    """Block until specflow lets the agent start (one byte on ``hold``); exit if it never will."""
    try:
        go = os.read(hold, 1)
    except OSError:
        go = b""
    os.close(hold)
    if not go:
        os._exit(EXIT_NOT_RELEASED)


def supervise(parent: int, landlock_mode: str, writable: list[str], argv: list[str], hold: int = -1) -> None:
    """Confine this process (Landlock unless ``landlock_mode`` is ``off``), wait for the release
    when ``hold`` is a pipe, fork the agent, and stay until its whole tree is gone."""
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _raise_stop)
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    except OSError as exc:
        os.write(2, f"specflow sandbox: {exc}\n".encode())
        os._exit(EXIT_SANDBOX_FAILED)
    if os.getppid() != parent:
        os._exit(EXIT_SANDBOX_FAILED)  # specflow died before the death signal was armed
    if landlock_mode != "off":
        try:
            landlock.restrict_self(writable, deny_tcp=landlock_mode == "on-no-tcp")
        except OSError as exc:
            os.write(2, f"specflow sandbox: {exc.strerror or exc}\n".encode())
            os._exit(EXIT_SANDBOX_FAILED)
    try:
        if hold >= 0:
            _wait_for_release(hold)
        agent = os.fork()
        if agent == 0:
            _run_child(argv)
        # the supervisor keeps no copy of the agent's pipes: their end is the agent's end
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        status: int | None = None
        while status is None:
            try:
                pid, code = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid == agent:
                status = code
        _end_everything(0)
        _exit_like(status if status is not None else 0)
    except _Stop as stop:
        signal.signal(stop.signum, signal.SIG_IGN)
        _end_everything(STOP_GRACE_S)
        os._exit(128 + stop.signum)


def main() -> None:
    try:
        parent, hold, mode, count = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    except (IndexError, ValueError):
        os.write(2, b"specflow sandbox: usage: PARENT_PID HOLD_FD off|on|on-no-tcp N PATH... ARGV...\n")
        os._exit(2)
    writable, argv = sys.argv[5 : 5 + count], sys.argv[5 + count :]
    if not argv or len(writable) != count:
        os.write(2, b"specflow sandbox: no command given\n")
        os._exit(2)
    supervise(parent, mode, writable, argv, hold)
