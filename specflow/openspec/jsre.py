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
from collections.abc import Callable, Iterator
from typing import Any

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
    """A ``re.Pattern`` compiled the first time it is used; ``compiled()`` gives the pattern itself.

    Until then each method is a trampoline that compiles; from then on each is the compiled
    pattern's own bound method, so a rule's ``_RE.match(line)`` costs what ``re``'s does (a
    wrapper call per line was 5% of ``validate --all``).
    """

    __slots__ = (
        "_compiled",
        "_flags",
        "_source",
        "findall",
        "finditer",
        "fullmatch",
        "match",
        "search",
        "split",
        "sub",
    )

    match: Callable[..., re.Match[str] | None]
    fullmatch: Callable[..., re.Match[str] | None]
    search: Callable[..., re.Match[str] | None]
    sub: Callable[..., str]
    finditer: Callable[..., Iterator[re.Match[str]]]
    findall: Callable[..., list[Any]]
    split: Callable[..., list[str | Any]]

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags
        self._compiled: re.Pattern[str] | None = None
        for name in _METHODS:
            setattr(self, name, self._trampoline(name))

    def _trampoline(self, name: str) -> Callable[..., Any]:
        def first_use(*args: Any, **kwargs: Any) -> Any:
            return getattr(self.compiled(), name)(*args, **kwargs)

        return first_use

    def compiled(self) -> re.Pattern[str]:
        """The compiled pattern (compiled now if it was not yet)."""
        if self._compiled is None:
            self._compiled = pattern = re.compile(self._source, self._flags)
            for name in _METHODS:
                setattr(self, name, getattr(pattern, name))
        return self._compiled

    @property
    def pattern(self) -> str:
        """The source, as ``re.Pattern.pattern``."""
        return self._source


_METHODS = ("findall", "finditer", "fullmatch", "match", "search", "split", "sub")


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
