"""Half of a bulk job in a forked child, so ``validate --all`` of hundreds of items uses two cores.

Each item is independent (a change or a spec, read from disk), so a child takes every other item and
sends its results back through a pipe while this process does the rest.  The results are plain data
(tuples, lists, strings, numbers, None) sent with ``marshal``: it is built in, where ``pickle`` cost
``validate`` 1.5 ms to import.  Only on Linux,
with more than one CPU, in a process running a single thread (forking a threaded process could
leave a lock held in the child), and for enough items to repay the fork; otherwise, and whenever
the child fails, this process does every item itself, so the results never depend on it.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Fewer items than this are done here: a fork and a pipe cost more than they would save.
MIN_ITEMS = 64


def map_in_halves(fn: Callable[[T], R], items: Sequence[T], ahead: Sequence[int] = ()) -> list[R]:
    """``[fn(item) for item in items]``, every other item done by a forked child when that pays.

    The items at the positions ``ahead`` are done here before the fork, so what they load once
    (compiled patterns, files read and parsed) the child inherits instead of loading it again.
    ``fn`` must return plain data ``marshal`` can carry (no class instances, not even a NamedTuple).
    """
    if not _may_fork(len(items)):
        return [fn(item) for item in items]
    done: dict[int, R] = {n: fn(items[n]) for n in ahead}
    rest = [n for n in range(len(items)) if n not in done]
    mine, theirs = rest[0::2], rest[1::2]
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(fn, [items[n] for n in theirs], read_fd, write_fd)
    os.close(write_fd)
    done.update((n, fn(items[n])) for n in mine)
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    odds: list[R] | None = _results(data, len(theirs)) if status == 0 else None
    if odds is None:  # the child failed: do its half here (an error it met is raised here, as it would be)
        odds = [fn(items[n]) for n in theirs]
    done.update(zip(theirs, odds, strict=True))
    return [done[n] for n in range(len(items))]


def _may_fork(n: int) -> bool:
    if n < MIN_ITEMS or sys.platform != "linux" or _threads_running():
        return False
    return len(os.sched_getaffinity(0)) > 1


def _threads_running() -> bool:
    """Whether a thread besides this one runs (none can while ``threading`` was never imported)."""
    threading = sys.modules.get("threading")
    return threading is not None and threading.active_count() != 1


def _child(fn: Callable[[T], R], items: Sequence[T], read_fd: int, write_fd: int) -> NoReturn:
    """In the forked child: do ``items``, send the results, and leave without running any exit handler."""
    code = 1
    try:
        os.close(read_fd)
        data = marshal.dumps([fn(item) for item in items])
        with os.fdopen(write_fd, "wb") as out:
            out.write(data)
        code = 0
    finally:
        os._exit(code)


def _results(data: bytes, expected: int) -> list[R] | None:
    """The child's results, or None when they did not all arrive."""
    try:
        results = marshal.loads(data)  # our own child's bytes, through our own pipe
    except (EOFError, ValueError, TypeError):  # a cut-off stream: this process does the work instead
        return None
    return results if isinstance(results, list) and len(results) == expected else None
