"""Calls on threads beside the caller's, their results (or exceptions) taken later.

What a merge's planning needs of a ``ThreadPoolExecutor``: the worktree scanned while the branch
is read, the base checkout's staged changes asked and the merge commit made while the merge is
computed.  Without ``concurrent.futures`` and the ``logging`` it imports: ~4 ms of every
``specflow advance``'s start.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")


class Pending(Generic[_T]):
    """A call running on its own thread; ``result()`` waits for it and returns or raises what it did."""

    def __init__(self, call: Callable[[], _T]) -> None:
        self._call = call
        self._value: list[_T] = []
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="specflow-side")
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value.append(self._call())
        except BaseException as exc:  # handed to whoever takes the result, as a future does
            self._error = exc

    def wait(self) -> None:
        self._thread.join()

    def result(self) -> _T:
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value[0]


class SideThread:
    """Runs submitted calls beside the caller, at most ``width`` at once (one by default: in the order
    submitted, never two together); leaving the block waits for every one."""

    def __init__(self, width: int = 1) -> None:
        self._width = width
        self._running: list[Pending[Any]] = []

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Pending[_T]:
        if len(self._running) >= self._width:
            self._running.pop(0).wait()
        pending = Pending(lambda: fn(*args, **kwargs))
        self._running.append(pending)
        return pending

    def __enter__(self) -> SideThread:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for pending in self._running:
            pending.wait()
        self._running.clear()
