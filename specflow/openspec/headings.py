"""A whole document's unfenced ``#`` headers, found by one regex split, and the text between them.

The line-by-line ``outline`` splits a document into lines and matches each header line on its own;
a 5,000-requirement spec is 75,000 lines and 15,000 headers, and a main spec's parse spent most
of ``show`` there.  Here one ``re.split`` over the text cuts it at every header line in C, so the
text under a header is a piece of the split (a scenario's body is one ``strip``), and the offsets
of all pieces, when a section with sub-sections needs them, come from one ``accumulate``.  Headers
inside fenced code are found by the same rule as ``fence_mask`` and joined back into the text
around them.

The rules are ``outline``'s: a header is ``#{1,6}``, whitespace and a title (JavaScript's ``\\s``
and ``.``); a ``#`` run and whitespace without a title is a boundary, which ends sections but
opens none.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from itertools import accumulate, chain, compress, count

from specflow.openspec.jsre import DOT, JS_SPACE, JS_WS, lazy_compile

#: JavaScript's ``\\s`` without the newline: a header's whitespace never runs on to the next line.
_SPACE = "[" + JS_SPACE.replace("\\n", "") + "]"
#: A header or boundary line with the newline before it: (whole, ``#`` run, title or None).
_HEADING_RE = lazy_compile(rf"(\n(#{{1,6}})(?={_SPACE})(?:{_SPACE}+({DOT}+)$)?[^\n]*)", re.M)
#: The same where no line holds a character JavaScript's ``.`` refuses (``\r``, U+2028, U+2029):
#: a title is then whatever follows the first whitespace after the run (6 -> 4 ms on 15,000 headers).
_PLAIN_HEADING_RE = lazy_compile(rf"(\n(#{{1,6}}){_SPACE}([^\n]+)?)")
#: A line that can open or close a fence (after any whitespace, three backticks or tildes).
_FENCE_LINE_RE = lazy_compile(rf"\n{_SPACE}*(?:```|~~~)[^\n]*")


class Headings:
    """The headers of ``doc`` (the document with a newline put before it) in document order.

    ``levels[k]`` is header ``k``'s level and ``titles[k]`` its title, untrimmed (None for a
    boundary); ``after[k]`` is the text from the end of its line to the newline before the next
    header's line (it starts with the newline that ends its line, if any); ``offsets[2k + 1]`` is
    where its line's newline is in ``doc``, ``offsets[2k + 2]`` where ``after[k]`` starts.
    """

    __slots__ = ("_at_or_above", "_offsets", "after", "doc", "levels", "titles", "wholes")

    def __init__(self, doc: str, pieces: tuple[list[str], list[str], list[str], list[str | None]]) -> None:
        bodies, self.wholes, runs, self.titles = pieces
        self.doc = doc
        self.levels = list(map(len, runs))
        self.after = bodies[1:]
        self._offsets: list[int] | None = None
        self._at_or_above: dict[int, list[int]] = {}

    @property
    def offsets(self) -> list[int]:
        """Where each header line (its newline) and the text after it start in ``doc`` (see above)."""
        if self._offsets is None:
            self._offsets = _offsets(self.after, self.wholes, len(self.doc))
        return self._offsets

    def title(self, k: int) -> str:
        """Header ``k``'s title, trimmed (empty for a boundary)."""
        return (self.titles[k] or "").strip(JS_WS)

    def first(self, title: str) -> int:
        """The first header whose trimmed title equals ``title`` ignoring case, or -1."""
        want = title.lower()
        return next((k for k, t in enumerate(self.titles) if t is not None and t.strip(JS_WS).lower() == want), -1)

    def end(self, k: int) -> int:
        """The header that ends section ``k`` (the next one of its level or higher), or the count."""
        levels, level, n = self.levels, self.levels[k], len(self.levels)
        if k + 1 == n or levels[k + 1] <= level:
            return k + 1
        # the headers at ``level`` or higher, listed once per level in C: sibling sections' ends
        # are then a bisect each, not a walk (or a copy) of the rest of the document each
        at = self._at_or_above.get(level)
        if at is None:
            at = self._at_or_above[level] = list(compress(count(), map(level.__ge__, levels)))
        i = bisect_right(at, k)
        return at[i] if i < len(at) else n

    def content(self, k: int) -> str:
        """The trimmed text under header ``k``, its sub-sections included (OpenSpec's ``content``)."""
        e = self.end(k)
        if e == k + 1:
            return self.after[k].strip(JS_WS)
        return self.doc[self.offsets[2 * k + 2] : self.offsets[2 * e + 1]].strip(JS_WS)


def headings(text: str) -> Headings:
    """Every unfenced header of ``text`` (its line endings already ``\\n``)."""
    doc = "\n" + text
    plain = "\r" not in doc and "\u2028" not in doc and "\u2029" not in doc
    pieces = (_PLAIN_HEADING_RE if plain else _HEADING_RE).split(doc)
    bodies, wholes, runs, titles = pieces[0::4], pieces[1::4], pieces[2::4], pieces[3::4]
    # a fence needs a run of backticks or tildes: one character's search (memchr) rules most out
    if wholes and ("`" in doc or "~" in doc) and ("```" in doc or "~~~" in doc):
        fenced = _fenced(_offsets(bodies[1:], wholes, len(doc))[1:-1:2], fence_spans(doc))
        if fenced:
            bodies, wholes, runs, titles = _unfence(fenced, bodies, wholes, runs, titles)
    return Headings(doc, (bodies, wholes, runs, titles))


def fence_spans(doc: str) -> list[tuple[int, int]]:
    """The fenced stretches of ``doc`` (a newline put before the text): from the start of each
    opening fence's line to the end of its closing fence's line (or past the document's end).

    ``fence_mask``'s rule: a fence opens at a line of three or more backticks or tildes after any
    whitespace and closes at a line holding only a run of the same character at least as long.
    """
    spans: list[tuple[int, int]] = []
    active, length, start = "", 0, 0
    for m in _FENCE_LINE_RE.finditer(doc):
        s = m.group().lstrip(JS_WS)
        if not active:
            active, start = s[0], m.start() + 1
            length = len(s) - len(s.lstrip(active))
        elif s.startswith(active * 3):
            run = len(s) - len(s.lstrip(active))
            if run >= length and not s[run:].strip(JS_WS):
                spans.append((start, m.end()))
                active = ""
    if active:  # never closed: fenced to the end, a last empty line included
        spans.append((start, len(doc) + 1))
    return spans


def _offsets(after: list[str], wholes: list[str], size: int) -> list[int]:
    # the text before the first header line, then each header line and the text after it
    first = size - sum(map(len, after)) - sum(map(len, wholes))
    offsets = list(accumulate(map(len, chain.from_iterable(zip(wholes, after, strict=True))), initial=first))
    offsets.insert(0, 0)
    return offsets


def _fenced(starts: list[int], spans: list[tuple[int, int]]) -> list[int]:
    """The headers (by the offset of the newline before each) whose line lies in a fenced span."""
    out: list[int] = []
    for s, e in spans:
        out.extend(range(bisect_left(starts, s - 1), bisect_left(starts, e - 1)))
    return out


def _unfence(
    fenced: list[int], bodies: list[str], wholes: list[str], runs: list[str], titles: list[str | None]
) -> tuple[list[str], list[str], list[str], list[str | None]]:
    """The pieces with each fenced header line joined back into the text around it."""
    drop = set(fenced)
    out_bodies, out_wholes, out_runs, out_titles = [bodies[0]], [], [], []
    for i, whole in enumerate(wholes):
        if i in drop:
            out_bodies[-1] += whole + bodies[i + 1]
            continue
        out_wholes.append(whole)
        out_runs.append(runs[i])
        out_titles.append(titles[i])
        out_bodies.append(bodies[i + 1])
    return out_bodies, out_wholes, out_runs, out_titles


__all__ = ["Headings", "fence_spans", "headings"]
