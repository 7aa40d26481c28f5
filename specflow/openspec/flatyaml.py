"""A small YAML reader for OpenSpec's flat files: ``.openspec.yaml``, ``config.yaml``, ``schema.yaml``.

It understands scalars, comments, block and flow lists and one level of nested map, which is all
those files hold.  Anything fancier (anchors, block scalars, documents) falls back to
``specflow.yamlio`` (the ruamel door), imported only then, so the answer is still
right, just slower, and ``validate`` never pays for that door (nor its ``dataclasses``) otherwise.
A leaf module: ``meta`` and ``schemas`` both read through it.
"""

from __future__ import annotations

from typing import Any

from specflow.errors import DefinitionError
from specflow.openspec.jsre import lazy_compile


class YamlSyntaxError(ValueError):
    """The text is not valid YAML."""


class _NotSimple(Exception):
    """The mini reader met YAML it does not handle; use the full parser."""


_INT_RE = lazy_compile(r"^[-+]?[0-9]+\Z")
_FLOAT_RE = lazy_compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_KEY_RE = lazy_compile(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*|\"[^\"\\]*\"|'[^']*')[ \t]*:(?:[ \t]+(.*))?\Z")


def _scalar(raw: str) -> Any:
    text = raw.strip()
    if not text:
        return None
    if text[0] in "'\"":
        return _quoted(text)
    if text[0] in "&*!|>%@`{[" or text.startswith("- ") or text == "-":
        raise _NotSimple
    if " #" in text:
        text = text.split(" #", 1)[0].rstrip()
    if ": " in text or text.endswith(":"):
        raise _NotSimple
    if text in ("~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT_RE.match(text):
        return int(text)
    if _FLOAT_RE.match(text) and any(c.isdigit() for c in text):
        return float(text)
    if text.lower() in (".inf", "+.inf", "-.inf", ".nan"):
        raise _NotSimple
    return text


def _quoted(text: str) -> str:
    q = text[0]
    end = text.find(q, 1)
    if q == "'":
        if "''" in text:
            raise _NotSimple
    elif "\\" in text:
        raise _NotSimple
    if end == -1:
        raise _NotSimple
    rest = text[end + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise YamlSyntaxError(f"unexpected text after a quoted scalar: {rest!r}")
    return text[1:end]


def _flow_list(text: str) -> list[Any]:
    body = text.strip()
    if " #" in body:
        body = body.split(" #", 1)[0].rstrip()
    if not (body.startswith("[") and body.endswith("]")):
        raise _NotSimple
    inner = body[1:-1].strip()
    if not inner:
        return []
    if any(c in inner for c in "[]{}\"'"):
        raise _NotSimple
    return [_scalar(part) for part in inner.split(",")]


def _key(raw: str) -> str:
    return raw[1:-1] if raw[:1] in "'\"" else raw


def load_simple_yaml(text: str) -> Any:
    """Parse flat YAML (see the module docstring); raise ``YamlSyntaxError`` or fall back."""
    try:
        return _load_simple(text)
    except _NotSimple:
        return _load_full(text)


def _load_full(text: str) -> Any:
    from specflow.yamlio import parse_yaml  # the ruamel door, for what the flat reader cannot read

    try:
        return parse_yaml(text).data
    except DefinitionError as exc:
        raise YamlSyntaxError(exc.detail) from None


def _load_simple(text: str) -> Any:
    if "\t" in text or text.startswith("%") or "\n---" in text or text.startswith("---"):
        raise _NotSimple
    lines = text.split("\n")
    out: dict[str, Any] = {}
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i].rstrip("\r")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        if line[0] == " ":
            raise _NotSimple
        m = _KEY_RE.match(line)
        if m is None:
            raise _NotSimple
        key = _key(m.group(1))
        if key in out:
            raise _NotSimple  # duplicate keys: let the full parser word the error
        value = m.group(2)
        i += 1
        if value is not None and value.strip() and not value.strip().startswith("#"):
            v = value.strip()
            out[key] = _flow_list(v) if v.startswith("[") else _scalar(v)
            continue
        # a nested block: list items or a one-level map
        block: list[str] = []
        while i < n:
            nxt = lines[i].rstrip("\r")
            s = nxt.strip()
            if not s or s.startswith("#"):
                i += 1
                continue
            if nxt[0] != " " and not nxt.startswith("- ") and nxt != "-":
                break
            block.append(nxt)
            i += 1
        out[key] = _block(block)
    if not out:
        return None
    return out


def _block(block: list[str]) -> Any:
    if not block:
        return None
    indent = len(block[0]) - len(block[0].lstrip(" "))
    first = block[0].strip()
    if first.startswith("- ") or first == "-":
        items: list[Any] = []
        for line in block:
            if len(line) - len(line.lstrip(" ")) != indent:
                raise _NotSimple
            s = line.strip()
            if not (s.startswith("- ") or s == "-"):
                raise _NotSimple
            items.append(_scalar(s[2:]) if s != "-" else None)
        return items
    mapping: dict[str, Any] = {}
    for line in block:
        if len(line) - len(line.lstrip(" ")) != indent:
            raise _NotSimple
        m = _KEY_RE.match(line.strip())
        if m is None or m.group(2) is None or not m.group(2).strip():
            raise _NotSimple
        key = _key(m.group(1))
        if key in mapping:
            raise _NotSimple
        v = m.group(2).strip()
        mapping[key] = _flow_list(v) if v.startswith("[") else _scalar(v)
    return mapping


def load_top_level(text: str) -> Any:
    """The top-level scalars of ``text``; a key whose value is not a plain scalar keeps its raw text."""
    # config.yaml is mostly comments and one block scalar; only top-level scalars matter here.
    out: dict[str, Any] = {}
    for line in text.split("\n"):
        if not line or line[0] in " #\t-" or line.startswith("---"):
            continue
        m = _KEY_RE.match(line.rstrip("\r"))
        if m is None:
            return load_simple_yaml(text)
        value = m.group(2)
        try:
            out[_key(m.group(1))] = _scalar(value) if value else None
        except _NotSimple:
            out[_key(m.group(1))] = value
    return out


__all__ = ["YamlSyntaxError", "load_simple_yaml", "load_top_level"]
