"""JSON text as OpenSpec prints it: ``JSON.stringify(value, null, 2)``, UTF-8, two-space indent.

The same bytes as ``json.dumps(value, indent=2, ensure_ascii=False, default=...)``, written with
the C string encoder and list appends: the standard library falls back to its pure-Python encoder
whenever ``indent`` is set, which made pretty-printing a 5,000-requirement spec cost more than
parsing it.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

_INDENT = "  "


def stringify(value: Any, default: Callable[[Any], Any] = str) -> str:
    """``value`` as indented JSON text; ``default`` turns any other object into something JSON has."""
    out: list[str] = []
    _write(value, "\n", out, default)
    return "".join(out)


def _write(value: Any, newline: str, out: list[str], default: Callable[[Any], Any]) -> None:
    if isinstance(value, str):
        out.append(encode_basestring(value))
    elif isinstance(value, dict):
        _write_object(value, newline, out, default)
    elif isinstance(value, (list, tuple)):
        _write_array(value, newline, out, default)
    else:
        scalar = _scalar(value)
        if scalar is None:
            _write(default(value), newline, out, default)
        else:
            out.append(scalar)


def _write_object(value: dict[Any, Any], newline: str, out: list[str], default: Callable[[Any], Any]) -> None:
    if not value:
        out.append("{}")
        return
    inner = newline + _INDENT
    separator = "{" + inner
    append = out.append
    for key, item in value.items():
        append(separator + encode_basestring(key if type(key) is str else _key(key)) + ": ")
        separator = "," + inner
        if type(item) is str:
            append(encode_basestring(item))
        else:
            _write(item, inner, out, default)
    append(newline + "}")


def _write_array(
    value: list[Any] | tuple[Any, ...], newline: str, out: list[str], default: Callable[[Any], Any]
) -> None:
    if not value:
        out.append("[]")
        return
    inner = newline + _INDENT
    separator = "[" + inner
    append = out.append
    for item in value:
        append(separator)
        separator = "," + inner
        if type(item) is dict:
            _write_object(item, inner, out, default)
        else:
            _write(item, inner, out, default)
    append(newline + "]")


def _scalar(value: Any) -> str | None:
    """The JSON text of a number, boolean or null, as ``json`` writes it; None for anything else."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    return None


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    scalar = _scalar(key)
    if scalar is None:
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
    return scalar


__all__ = ["stringify"]
