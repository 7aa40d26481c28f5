"""The side thread the snapshot and merge planning run work on: results, errors, one call at a time or a few."""

from __future__ import annotations

import threading

import pytest

from specflow.workspace.sidethread import SideThread


def test_a_call_runs_beside_the_caller_and_its_result_is_taken_later() -> None:
    release = threading.Event()
    with SideThread() as side:
        pending = side.submit(lambda n: (release.wait(10), n * 2, threading.current_thread())[1:], 21)
        release.set()  # the caller goes on while the call waits: it is not run in the caller's thread
        value, ran_on = pending.result()
    assert value == 42 and ran_on is not threading.current_thread()


def test_the_calls_exception_is_raised_where_the_result_is_taken() -> None:
    def fails() -> int:
        raise ValueError("broken on the side")

    with SideThread() as side:
        pending = side.submit(fails)
        with pytest.raises(ValueError, match="broken on the side"):
            pending.result()


def test_calls_never_overlap_and_leaving_the_block_waits_for_the_last() -> None:
    running: list[int] = []
    overlaps: list[int] = []
    started = {1: threading.Event(), 2: threading.Event()}
    release = {1: threading.Event(), 2: threading.Event()}
    done: list[int] = []

    def call(n: int) -> int:
        if running:
            overlaps.append(n)
        running.append(n)
        started[n].set()
        release[n].wait(10)
        running.remove(n)
        done.append(n)
        return n

    with SideThread() as side:
        first = side.submit(call, 1)
        started[1].wait(10)
        # the second submit waits while the first call runs: each is released from another thread
        threading.Timer(0.2, release[1].set).start()
        second = side.submit(call, 2)
        assert done == [1] and first.result() == 1
        started[2].wait(10)
        threading.Timer(0.2, release[2].set).start()
    assert done == [1, 2] and second.result() == 2 and overlaps == []


def test_a_wider_side_thread_runs_that_many_calls_at_once_and_waits_for_all() -> None:
    both_running = threading.Barrier(3, timeout=10)  # the two calls and the caller meet only if both run
    done: list[int] = []

    def call(n: int) -> int:
        both_running.wait()
        done.append(n)
        return n

    with SideThread(width=2) as side:
        first, second = side.submit(call, 1), side.submit(call, 2)
        both_running.wait()  # raises BrokenBarrierError if the second call waited for the first
    assert sorted(done) == [1, 2] and (first.result(), second.result()) == (1, 2)
