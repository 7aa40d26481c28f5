"""Markdown and code as safe HTML for the dashboard: the one module that imports markdown-it and Pygments.

Everything rendered here was written by an agent or a person, so raw HTML in Markdown is
escaped, never passed through, and link targets are checked by markdown-it's own validator.
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import DiffLexer

from specflow.structs import Struct

CSS_CLASS = "hl"
_FILE_HEADER = re.compile(r"^diff --git a/(.+?) b/(.+)$", re.MULTILINE)


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown_html(text: str) -> str:
    """``text`` (Markdown) as HTML, with any raw HTML in it escaped."""
    return str(_markdown().render(text))


@cache
def _formatter() -> Any:
    return HtmlFormatter(cssclass=CSS_CLASS)


def code_css() -> str:
    """The stylesheet of highlighted code."""
    return str(_formatter().get_style_defs(f".{CSS_CLASS}"))


def diff_html(patch: str) -> str:
    """A unified diff, highlighted."""
    return str(highlight(patch, DiffLexer(), _formatter()))


class FileDiff(Struct, frozen=True):
    """One file's part of a patch, highlighted."""

    path: str
    added: int
    removed: int
    html: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "added": self.added, "removed": self.removed, "html": self.html}


def split_patch(patch: str) -> list[FileDiff]:
    """A multi-file patch as one highlighted ``FileDiff`` per file, in the patch's order."""
    starts = [m.start() for m in _FILE_HEADER.finditer(patch)]
    out: list[FileDiff] = []
    for i, start in enumerate(starts):
        part = patch[start : starts[i + 1] if i + 1 < len(starts) else len(patch)]
        m = _FILE_HEADER.match(part)
        path = m.group(2) if m else "?"
        added = removed = 0
        for line in part.splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        out.append(FileDiff(path, added, removed, diff_html(part)))
    return out


def text_html(text: str) -> str:
    """Plain text, escaped, in a ``pre``."""
    return f"<pre>{html.escape(text)}</pre>"


__all__ = ["FileDiff", "code_css", "diff_html", "markdown_html", "split_patch", "text_html"]
