"""Line-based Markdown scanning as OpenSpec does it: fenced code masked, ``#`` sections nested.

OpenSpec is written in JavaScript, so its regexes see whitespace, ``.`` and ``trim()`` the
JavaScript way.  The helpers here reproduce those semantics (``JS_SPACE``, ``js_trim``,
``js_len`` for UTF-16 lengths) so every parser built on them reads a file exactly as OpenSpec does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from specflow.openspec.jsre import (  # re-exported: the parsers import them from here
    DOT,
    JS_SPACE,
    JS_WS,
    S,
    js_len,
    js_trim,
    js_trim_end,
    js_trim_start,
)

_LINE_ENDINGS_RE = re.compile(r"\r\n?")


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


def fence_mask(lines: list[str]) -> list[bool]:
    """True for each line inside a fenced code block, the fence lines included.

    An opening fence is three or more backticks or tildes after any indentation; the block
    closes at a line holding only a run of the same character at least as long.
    """
    mask = [False] * len(lines)
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


_SECTION_RE = re.compile(rf"^(#{{1,6}}){S}+({DOT}+)$")
_BOUNDARY_RE = re.compile(rf"^(#{{1,6}}){S}")


@dataclass
class Section:
    """A ``#`` header and everything up to the next header of the same or a higher level."""

    level: int
    title: str
    line: int  # 0-based index of the header line
    end: int  # 0-based index one past the section's last content line
    lines: list[str] = field(repr=False)
    children: list[Section] = field(default_factory=list)
    _content: str | None = field(default=None, repr=False)

    @property
    def content(self) -> str:
        """The trimmed text under the header (sub-sections included)."""
        if self._content is None:
            self._content = js_trim("\n".join(self.lines[self.line + 1 : self.end]))
        return self._content


def parse_sections(lines: list[str], mask: list[bool] | None = None) -> list[Section]:
    """Nest every unfenced header into a tree of sections (OpenSpec's ``parseSections``)."""
    if mask is None:
        mask = fence_mask(lines)
    roots: list[Section] = []
    nest: list[Section] = []  # ancestors of the current section
    open_: list[Section] = []  # sections whose content is still running (levels increase)
    n = len(lines)
    for i, line in enumerate(lines):
        if not line.startswith("#") or mask[i]:
            continue
        b = _BOUNDARY_RE.match(line)
        if b is None:
            continue
        level = len(b.group(1))
        while open_ and open_[-1].level >= level:
            open_.pop().end = i
        m = _SECTION_RE.match(line)
        if m is None:
            continue
        section = Section(level, js_trim(m.group(2)), i, n, lines)
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
