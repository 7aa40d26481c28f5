"""JavaScript's view of text, for regexes and string helpers that must agree with OpenSpec's.

OpenSpec is written in JavaScript: its ``\\s`` includes NBSP and BOM, its ``.`` stops at U+2028, its
``trim()`` strips a slightly different set than Python's ``strip()``, and its ``length`` counts UTF-16
code units.  These constants and helpers reproduce that.

``lazy_compile`` is how the OpenSpec modules declare their regexes: compiled on first use, since
compiling them all at import (Unicode classes, ``re.I``) was half of what ``show`` or ``status``
spent importing (~24 ms), most of them for rules the command never applies.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator

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


class LazyPattern:
    """A ``re.Pattern`` compiled the first time it is used; ``compiled()`` gives the pattern itself
    (bind its ``match`` once before a hot loop)."""

    __slots__ = ("_compiled", "_flags", "_source")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self._source, self._flags)
        return self._compiled

    @property
    def pattern(self) -> str:
        return self._source

    def match(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled().match(string, pos, endpos)

    def fullmatch(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled().fullmatch(string, pos, endpos)

    def search(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[str] | None:
        return self.compiled().search(string, pos, endpos)

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str:
        return self.compiled().sub(repl, string, count)

    def finditer(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match[str]]:
        return self.compiled().finditer(string, pos, endpos)

    def findall(self, string: str, pos: int = 0, endpos: int = sys.maxsize) -> list[object]:
        return self.compiled().findall(string, pos, endpos)

    def split(self, string: str, maxsplit: int = 0) -> list[str | object]:
        return self.compiled().split(string, maxsplit)


def lazy_compile(source: str, flags: int = 0) -> LazyPattern:
    """``re.compile`` deferred to the pattern's first use."""
    return LazyPattern(source, flags)


__all__ = [
    "DOT",
    "JS_SPACE",
    "JS_WS",
    "LazyPattern",
    "S",
    "js_len",
    "js_trim",
    "js_trim_end",
    "js_trim_start",
    "lazy_compile",
]
