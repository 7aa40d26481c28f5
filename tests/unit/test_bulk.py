"""Half of a bulk job in a forked child: the same results, in order, whatever the child does."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from specflow.openspec.bulk import MIN_ITEMS, map_in_halves
from tests.conftest import wait_until

forks = pytest.mark.skipif(
    sys.platform != "linux" or len(os.sched_getaffinity(0)) < 2, reason="forks only on Linux with two CPUs or more"
)


@pytest.fixture
def no_other_thread() -> None:
    """This process runs no thread but the main one, as ``map_in_halves`` needs to fork.

    An earlier test's thread may still be ending (the reaper of a background run waits for its
    process to exit); any still running after 30 s is named.
    """
    others: list[threading.Thread] = []

    def alone() -> bool:
        others[:] = [t for t in threading.enumerate() if t is not threading.main_thread()]
        return not others

    try:
        wait_until(alone, "the threads of earlier tests to end", timeout_s=30)
    except AssertionError:
        pytest.fail(f"threads still running: {[t.name for t in others]}")


@forks
@pytest.mark.usefixtures("no_other_thread")
def test_a_child_does_every_other_item_and_the_results_keep_their_order() -> None:
    items = list(range(MIN_ITEMS + 7))
    results = map_in_halves(lambda n: (n * n, os.getpid()), items)
    assert [square for square, _ in results] == [n * n for n in items]
    assert {pid for _, pid in results[0::2]} == {os.getpid()}
    assert os.getpid() not in {pid for _, pid in results[1::2]}


def test_a_few_items_are_done_here() -> None:
    results = map_in_halves(lambda n: os.getpid(), list(range(MIN_ITEMS - 1)))
    assert set(results) == {os.getpid()}


def test_a_process_running_threads_never_forks() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        results = map_in_halves(lambda n: os.getpid(), list(range(2 * MIN_ITEMS)))
    finally:
        release.set()
        other.join()
    assert set(results) == {os.getpid()}


@forks
@pytest.mark.usefixtures("no_other_thread")
def test_what_fails_in_the_child_is_done_again_here_and_raises_here() -> None:
    parent = os.getpid()

    def fn(n: int) -> int:
        if n == 5 and os.getpid() != parent:
            raise RuntimeError("only the child fails")
        return n

    items = list(range(MIN_ITEMS))
    assert map_in_halves(fn, items) == items  # the child's half, failed there, is done here

    def broken(n: int) -> int:
        if n == 7:
            raise ValueError("item 7 is bad")
        return n

    with pytest.raises(ValueError, match="item 7 is bad"):
        map_in_halves(broken, items)
