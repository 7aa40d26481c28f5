"""The cycle collector paused for a bulk parse, and put back as it was."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from specflow.openspec.gcpause import paused_gc


@pytest.fixture
def collector() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_paused_within_and_back_after(collector: None) -> None:
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_is_back_after_an_error(collector: None) -> None:
    gc.enable()
    with pytest.raises(ValueError, match="boom"), paused_gc():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused(collector: None) -> None:
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()
