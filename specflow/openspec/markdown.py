"""Line-based Markdown scanning as OpenSpec does it: fenced code masked, ``#`` sections nested.

OpenSpec is written in JavaScript, so its regexes see whitespace, ``.`` and ``trim()`` the
JavaScript way.  The helpers here reproduce those semantics (``JS_SPACE``, ``js_trim``,
``js_len`` for UTF-16 lengths) so every parser built on them reads a file exactly as OpenSpec does.
"""

from __future__ import annotations

from itertools import compress, repeat

from specflow.openspec.jsre import (  # re-exported: the parsers import them from here
    DOT,
    JS_SPACE,
    JS_WS,
    S,
    js_len,
    js_trim,
    js_trim_end,
    js_trim_start,
    lazy_compile,
)

_LINE_ENDINGS_RE = lazy_compile(r"\r\n?")


def normalize_newlines(content: str) -> str:
    """CRLF and lone CR to LF."""
    if "\r" not in content:
        return content
    return _LINE_ENDINGS_RE.sub("\n", content)


def normalize(content: str) -> str:
    """Strip a leading BOM and normalize line endings, as OpenSpec's parsers do on read."""
    if content.startswith("\ufeff"):
        content = content[1:]
    return normalize_newlines(content)


def fence_mask(lines: list[str], text: str | None = None) -> list[bool]:
    """True for each line inside a fenced code block, the fence lines included.

    An opening fence is three or more backticks or tildes after any indentation; the block
    closes at a line holding only a run of the same character at least as long.  ``text`` is any
    text holding every line (the lines joined, or the document they were split from, before or
    after its line endings were normalised), when the caller has it: it need not be joined again.
    """
    mask = [False] * len(lines)
    joined = "".join(lines) if text is None else text  # no line opens a fence without one of these runs
    if "```" not in joined and "~~~" not in joined:
        return mask
    active_char = ""
    active_len = 0
    for i, line in enumerate(lines):
        if active_char:
            mask[i] = True
            if active_char not in line:
                continue
            s = line.lstrip(JS_WS)
            if s.startswith(active_char * 3):
                run = len(s) - len(s.lstrip(active_char))
                if run >= active_len and not s[run:].strip(JS_WS):
                    active_char = ""
            continue
        if "`" not in line and "~" not in line:
            continue
        s = line.lstrip(JS_WS)
        head = s[:3]
        if head == "```" or head == "~~~":
            active_char = head[0]
            active_len = len(s) - len(s.lstrip(active_char))
            mask[i] = True
    return mask


#: A header (``group(2)``, its title) or, with ``group(2)`` None, a boundary: ``#`` run and a space, no title.
#: The ``#`` run is always the whole run (one to six), as in ``^(#{1,6})\s+(.+)$`` then ``^(#{1,6})\s``.
_HEADING_RE = lazy_compile(rf"^(#{{1,6}})(?={S})(?:{S}+({DOT}+)$)?")


class Outline:
    """Every unfenced ``#`` header of a document, flat: per section its level, title, lines and parent.

    The sections are numbered in document order (a depth-first walk of their tree);
    ``parents[k]`` is -1 for a top-level one.  Built with a few list appends per header, no object
    per section: a 5,000-requirement spec has 15,000 headers.
    """

    __slots__ = ("ends", "levels", "lines", "parents", "starts", "titles")

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.levels: list[int] = []
        self.titles: list[str] = []
        self.starts: list[int] = []  # 0-based index of the header line
        self.ends: list[int] = []  # 0-based index one past the section's last content line
        self.parents: list[int] = []

    def first(self, title: str) -> int:
        """The first section whose title equals ``title`` ignoring case, or -1."""
        want = title.lower()
        return next((k for k, t in enumerate(self.titles) if t.lower() == want), -1)

    def content(self, k: int) -> str:
        """The trimmed text under header ``k`` (sub-sections included)."""
        return "\n".join(self.lines[self.starts[k] + 1 : self.ends[k]]).strip(JS_WS)


def outline(lines: list[str], mask: list[bool] | None = None) -> Outline:
    """Nest every unfenced header (OpenSpec's ``parseSections``), as an ``Outline``.

    A header ends every open section of its level or deeper; a boundary (a ``#`` run and a space
    with no title) ends them too but opens none and leaves the nesting as it was.
    """
    if mask is None:
        mask = fence_mask(lines)
    out = Outline(lines)
    levels, titles, starts, ends, parents = out.levels, out.titles, out.starts, out.ends, out.parents
    n = len(lines)
    # the ancestors of the current section; a boundary ends those of its level or deeper that are
    # still open but leaves them ancestors (a later deeper header still nests under them)
    nest: list[int] = []
    numbers = list(compress(range(n), map(str.startswith, lines, repeat("#"))))  # found in C
    if True in mask:
        numbers = [i for i in numbers if not mask[i]]
    heading = _HEADING_RE.compiled().match
    for i, m in zip(numbers, map(heading, [lines[i] for i in numbers]), strict=True):
        if m is None:
            continue
        level = m.end(1)
        title = m.group(2)
        if title is None:
            for k in reversed(nest):
                if levels[k] < level:
                    break
                if ends[k] == n:
                    ends[k] = i
            continue
        while nest and levels[nest[-1]] >= level:
            k = nest.pop()
            if ends[k] == n:
                ends[k] = i
        parents.append(nest[-1] if nest else -1)
        nest.append(len(levels))
        levels.append(level)
        titles.append(title.strip(JS_WS))
        starts.append(i)
        ends.append(n)
    return out


class Section:
    """A ``#`` header and everything up to the next header of the same or a higher level.

    A plain slotted class, not a dataclass: a 5,000-requirement spec makes 15,000 of them.
    """

    __slots__ = ("_content", "children", "end", "level", "line", "lines", "title")

    def __init__(self, level: int, title: str, line: int, end: int, lines: list[str]) -> None:
        self.level = level
        self.title = title
        self.line = line  # 0-based index of the header line
        self.end = end  # 0-based index one past the section's last content line
        self.lines = lines
        self.children: list[Section] = []
        self._content: str | None = None

    def __repr__(self) -> str:
        return f"Section(level={self.level!r}, title={self.title!r}, line={self.line!r}, end={self.end!r})"

    @property
    def content(self) -> str:
        """The trimmed text under the header (sub-sections included)."""
        if self._content is None:
            self._content = "\n".join(self.lines[self.line + 1 : self.end]).strip(JS_WS)
        return self._content


def parse_sections(lines: list[str], mask: list[bool] | None = None) -> list[Section]:
    """Nest every unfenced header into a tree of sections (OpenSpec's ``parseSections``)."""
    o = outline(lines, mask)
    sections = [
        Section(level, title, start, end, lines)
        for level, title, start, end in zip(o.levels, o.titles, o.starts, o.ends, strict=True)
    ]
    roots: list[Section] = []
    for section, parent in zip(sections, o.parents, strict=True):
        (roots if parent == -1 else sections[parent].children).append(section)
    return roots


def find_section(sections: list[Section], title: str) -> Section | None:
    """The first section (depth first) whose title equals ``title`` ignoring case."""
    want = title.lower()
    for section in sections:
        if section.title.lower() == want:
            return section
        found = find_section(section.children, title)
        if found is not None:
            return found
    return None


def strip_fenced(lines: list[str], mask: list[bool] | None = None) -> list[str]:
    """The lines with every fenced line blanked (line numbers preserved)."""
    if mask is None:
        mask = fence_mask(lines)
    return ["" if m else line for line, m in zip(lines, mask, strict=True)]


__all__ = [
    "DOT",
    "JS_SPACE",
    "JS_WS",
    "Outline",
    "S",
    "Section",
    "fence_mask",
    "find_section",
    "js_len",
    "js_trim",
    "js_trim_end",
    "js_trim_start",
    "normalize",
    "normalize_newlines",
    "outline",
    "parse_sections",
    "strip_fenced",
]
