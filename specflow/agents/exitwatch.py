"""When the agent writing an output stream has begun to exit: nothing it does can change any more.

A process exits in two parts.  First every one of its threads stops for good: the kernel marks each
``PF_EXITING``, none runs the program's code again, no write of its own is still under way, and
its main thread becomes a zombie holding its exit status.  Then the kernel frees its memory, and
only after that closes its files and tells its parent.  For Claude Code the second part takes
about 30 ms (its runtime maps hundreds of megabytes), and both the end of its output (EOF) and
its exit status wait for it.  Read from ``/proc``, the first part is seen as it happens.

The agent is named when its first output arrives: the one child of the launched process (the
sandbox helper's agent, or bubblewrap's, whose monitor holds the pipe too but never writes to it)
holding the write end of the stream's pipe, with its start time, so a reused pid is never taken
for it.  Once the agent has given its result the watch is armed, and the stream's reader asks it,
while nothing arrives, whether the agent has ended.  Once it has begun to exit, the reader reads
what is left in the pipe and ends the stream, and the adapter ends what is left of the tree at
once, without waiting for the kernel to free that memory, so the audit starts while it does; the
agent's exit status is read from its zombie main thread.  Once it is gone (reaped by its
supervisor first), the stream ends too, even while a process it left holds the pipe open, and the
supervisor's exit passes its status on.

Linux only, and only where it can be told for certain: exactly one child holding the pipe, every
thread of it readable.  Anywhere else the watch never fires, and the stream ends at its EOF.
"""

from __future__ import annotations

import os

from specflow.agents.proctree import stat_fields

#: The kernel's flag on a thread that has begun to exit (``include/linux/sched.h``).
PF_EXITING = 0x00000004
#: In ``/proc/PID/task/TID/stat`` after the command's closing parenthesis: the state is field
#: 0, the flags field 6, the start time field 19, the exit status (as ``waitpid`` reports it;
#: Linux 3.5+) field 49.
_STATE, _FLAGS, _START, _EXIT_CODE = 0, 6, 19, 49


class ExitWatch:
    """Whether the agent writing to one pipe has ended, and its exit status where it was read."""

    def __init__(self, root: int, pipe_fd: int) -> None:
        self.root = root
        self.pipe = f"pipe:[{os.fstat(pipe_fd).st_ino}]"
        self.armed = False
        self.status: int | None = None
        """The agent's wait status (as ``os.waitpid`` gives it), read as it began to exit; None
        until then, and when its supervisor reaped it first (the supervisor passes it on)."""
        self._agent: tuple[int, bytes] | None = None  # pid and start time (clock ticks since boot)
        self._known = False

    def identify(self) -> None:
        """Note which process writes the stream, when its first output arrives (while it runs, and
        before any command it starts could hold the pipe too): the one child of ``root`` holding it."""
        if self._known:
            return
        self._known = True
        writers = [pid for pid in children(self.root) if _holds(pid, self.pipe)]
        if len(writers) == 1:
            fields = stat_fields(f"/proc/{writers[0]}/stat")
            if fields is not None:
                self._agent = (writers[0], fields[_START])

    def arm(self) -> None:
        """Start watching: the agent has given its result, so its exit is what comes next."""
        self.armed = True

    def exited(self) -> bool:
        """True once the agent has begun to exit (``status`` set) or is gone; never before ``arm``,
        nor when no single writer was identified (the stream's EOF tells then)."""
        if not self.armed or self._agent is None:
            return False
        pid, started = self._agent
        state = _exit_state(pid, started)
        if state == _RUNNING:
            return False
        if state != _GONE:
            self.status = state
        return True


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (single-threaded, as the sandbox's helper and ``bwrap`` are);
    none on a kernel without ``/proc/PID/task/TID/children``, where the watch then never fires."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as fh:
            return [int(child) for child in fh.read().split()]
    except OSError:
        return []


def _holds(pid: int, pipe: str) -> bool:
    """Whether process ``pid`` has ``pipe`` open (False when its files cannot be read)."""
    folder = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(folder)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"{folder}/{fd}") == pipe:
                return True
        except OSError:
            continue
    return False


_RUNNING = -1
_GONE = -2


def exit_begun(pid: int) -> int | None:
    """Process ``pid``'s wait status when every thread of it has begun to exit and its main
    thread is a zombie; None while any thread may still run its code, or when it cannot be read."""
    fields = stat_fields(f"/proc/{pid}/stat")
    if fields is None:
        return None
    state = _exit_state(pid, fields[_START])
    return state if state >= 0 else None


def _exit_state(pid: int, started: bytes) -> int:
    """The wait status of process ``pid`` (started at ``started``) once every thread of it has
    begun to exit and its main thread is a zombie; ``_GONE`` when it was reaped (its pid gone, or
    another process's); ``_RUNNING`` while any thread may still run its code."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return _GONE
    leader: list[bytes] | None = None
    for tid in threads:
        fields = stat_fields(f"/proc/{pid}/task/{tid}/stat")
        if tid == str(pid):
            if fields is None or len(fields) <= _EXIT_CODE or fields[_START] != started:
                return _GONE
            leader = fields
        elif fields is None:
            continue  # a thread that has finished exiting
        if not int(fields[_FLAGS]) & PF_EXITING:
            return _RUNNING
    if leader is None:
        return _GONE
    if leader[_STATE] not in (b"Z", b"X"):
        return _RUNNING
    return int(leader[_EXIT_CODE])


__all__ = ["PF_EXITING", "ExitWatch", "children", "exit_begun"]
