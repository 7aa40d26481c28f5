"""``stringify`` writes the bytes ``json.dumps(indent=2, ensure_ascii=False)`` writes, faster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from specflow.openspec.jsonstr import stringify

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@given(_VALUES)
def test_same_text_as_json_dumps(value: Any) -> None:
    assert stringify(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_non_ascii_is_written_as_is_and_other_objects_through_default() -> None:
    doc = {"title": "Café 抹茶 😀", "path": Path("/tmp/x"), "pair": (1, 2.5), 3: None, "empty": [{}, []]}
    assert stringify(doc) == json.dumps(doc, indent=2, ensure_ascii=False, default=str)
    assert '"title": "Café 抹茶 😀"' in stringify(doc)


def test_keys_json_cannot_write_are_refused() -> None:
    with pytest.raises(TypeError):
        stringify({(1, 2): "tuple key"})
