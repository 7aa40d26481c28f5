"""Line-based Markdown scanning as OpenSpec does it: fenced code masked, ``#`` sections nested.

OpenSpec is written in JavaScript, so its regexes see whitespace, ``.`` and ``trim()`` the
JavaScript way.  The helpers here reproduce those semantics (``JS_SPACE``, ``js_trim``,
``js_len`` for UTF-16 lengths) so every parser built on them reads a file exactly as OpenSpec does.
"""

from __future__ import annotations

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
    closes at a line holding only a run of the same character at least as long.  ``text`` is the
    lines joined, when the caller has it (a long spec need not be joined again).
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


_SECTION_RE = lazy_compile(rf"^(#{{1,6}}){S}+({DOT}+)$")
_BOUNDARY_RE = lazy_compile(rf"^(#{{1,6}}){S}")


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
    if mask is None:
        mask = fence_mask(lines)
    roots: list[Section] = []
    nest: list[Section] = []  # ancestors of the current section
    open_: list[Section] = []  # sections whose content is still running (levels increase)
    n = len(lines)
    boundary, header = _BOUNDARY_RE.compiled().match, _SECTION_RE.compiled().match
    for i in [i for i, line in enumerate(lines) if line[:1] == "#"]:
        line = lines[i]
        if mask[i]:
            continue
        m = header(line)  # a header is a boundary too; a boundary without a title only ends sections
        b = m or boundary(line)
        if b is None:
            continue
        level = len(b.group(1))
        while open_ and open_[-1].level >= level:
            open_.pop().end = i
        if m is None:
            continue
        section = Section(level, m.group(2).strip(JS_WS), i, n, lines)
        while nest and nest[-1].level >= level:
            nest.pop()
        if nest:
            nest[-1].children.append(section)
        else:
            roots.append(section)
        nest.append(section)
        open_.append(section)
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
    "parse_sections",
    "strip_fenced",
]
