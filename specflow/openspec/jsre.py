"""JavaScript's view of text, for regexes and string helpers that must agree with OpenSpec's.

OpenSpec is written in JavaScript: its ``\\s`` includes NBSP and BOM, its ``.`` stops at U+2028, its
``trim()`` strips a slightly different set than Python's ``strip()``, and its ``length`` counts UTF-16
code units.  These constants and helpers reproduce that (and compile nothing, so importing is free).
"""

from __future__ import annotations

#: Characters JavaScript's ``\\s`` and ``String.prototype.trim`` treat as whitespace.
JS_WS = (
    " \t\n\r\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
#: The same set as a regex character-class body (for ``[...]``).
JS_SPACE = " \\t\\n\\r\\v\\f\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
#: JavaScript ``\\s`` as a regex.
S = f"[{JS_SPACE}]"
#: JavaScript ``.`` (no ``u``/``s`` flags): anything but a line terminator.
DOT = "[^\\n\\r\\u2028\\u2029]"


def js_trim(text: str) -> str:
    """``String.prototype.trim``."""
    return text.strip(JS_WS)


def js_trim_end(text: str) -> str:
    """``String.prototype.trimEnd``."""
    return text.rstrip(JS_WS)


def js_trim_start(text: str) -> str:
    """``String.prototype.trimStart``."""
    return text.lstrip(JS_WS)


def js_len(text: str) -> int:
    """``String.prototype.length``: UTF-16 code units, so a character beyond the BMP counts 2."""
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


__all__ = ["DOT", "JS_SPACE", "JS_WS", "S", "js_len", "js_trim", "js_trim_end", "js_trim_start"]
