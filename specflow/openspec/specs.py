"""Main specs: ``openspec/specs/<capability-path>/spec.md`` parsed and checked for structure.

A main spec needs ``## Purpose`` and ``## Requirements`` (titles matched ignoring case).  Each
``###`` child of Requirements is a requirement; each ``####`` child with a non-empty body is a
scenario.  Fenced code is ignored everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import compress, repeat
from operator import sub
from typing import NamedTuple

from specflow.openspec.headings import Headings, headings
from specflow.openspec.jsre import lazy_compile
from specflow.openspec.markdown import (
    DOT,
    JS_WS,
    S,
    fence_mask,
    js_trim,
    normalize,
    normalize_newlines,
)
from specflow.openspec.requirements import extract_requirement_text, normalize_requirement_name

PURPOSE_PLACEHOLDER_PREFIX = "TBD - created by archiving change "
PURPOSE_PLACEHOLDER_SUFFIX = ". Update Purpose after archive."


class SpecParseError(ValueError):
    """A spec lacks a section OpenSpec requires (the message is OpenSpec's)."""


class Requirement(NamedTuple):
    """A requirement as the spec parser reads it: statement and scenario bodies."""

    text: str
    scenarios: tuple[str, ...]


class ParsedSpec(NamedTuple):
    """A main spec: its name (capability id), Purpose text and requirements."""

    name: str
    overview: str
    requirements: tuple[Requirement, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The shape ``openspec show <spec> --json`` prints under ``requirements``."""
        return {
            "name": self.name,
            "overview": self.overview,
            "requirements": [
                {"text": r.text, "scenarios": [{"rawText": s} for s in r.scenarios]} for r in self.requirements
            ],
            "metadata": {"version": "1.0.0", "format": "openspec"},
        }


def parse_spec(content: str, name: str) -> ParsedSpec:
    """Parse a main spec; raise ``SpecParseError`` when Purpose or Requirements is missing."""
    h = headings(normalize(content))
    purpose_k = h.first("Purpose")
    purpose = h.content(purpose_k) if purpose_k != -1 else ""
    req_k = h.first("Requirements")
    if not purpose:
        raise SpecParseError("Spec must have a Purpose section")
    if req_k == -1:
        raise SpecParseError("Spec must have a Requirements section")
    return ParsedSpec(name, purpose, tuple(_requirements(h, req_k)))


def _requirements(h: Headings, req_k: int) -> list[Requirement]:
    """The requirements under header ``req_k``, each with its non-blank scenarios."""
    end = h.end(req_k)
    inner = h.levels[req_k + 1 : end]
    # ended by a header or the document (a boundary ends the text, but later headers still nest in it)
    plain = end == len(h.levels) or h.titles[end] is not None
    if plain and not inner:
        return []
    depths = set(inner)
    # a header's title is never empty, a boundary's is None: all() finds a boundary in C
    if plain and len(depths) <= 2 and inner[0] == min(depths) and all(h.titles[req_k + 1 : end]):
        return _two_level_requirements(h, req_k, end, inner[0])
    return [
        Requirement(_statement(h, k), tuple(filter(None, map(h.content, kids))))
        for k, kids in _requirement_headers(h, req_k)
    ]


def _two_level_requirements(h: Headings, req_k: int, end: int, level: int) -> list[Requirement]:
    """The common shape, read with no walk over the headers: each one in the section is a
    requirement (the shallower level, which the first has) or a scenario of the requirement before
    it, and none is a boundary; so each header's section ends at the next header, and its content
    is the one piece of text after it.  Built with ``map`` over the pieces (5,000 requirements).
    """
    first = req_k + 1
    reqs = list(compress(range(first, end), map(level.__eq__, h.levels[first:end])))
    contents = list(map(str.strip, h.after[first:end], repeat(JS_WS)))  # header j's is contents[j - first]
    # requirement k's scenarios are the headers after it up to the next requirement
    spans = map(slice, map(sub, reqs, repeat(first - 1)), map(sub, [*reqs[1:], end], repeat(first)))
    if "" in contents:  # a blank scenario is left out, and its header may be read as statement text
        scenarios = [tuple(filter(None, contents[s])) for s in spans]
        return list(map(Requirement, map(_statement, repeat(h), reqs), scenarios))
    scenarios = list(map(tuple, map(contents.__getitem__, spans)))
    # Requirement(text, scenarios), made in C: a NamedTuple's __new__ is a Python call each
    return list(map(tuple.__new__, repeat(Requirement), zip(_statements(h, reqs), scenarios, strict=True)))


def _statements(h: Headings, reqs: list[int]) -> list[str]:
    """The statements of requirements ``reqs``, each read from the piece up to its first scenario.

    Where no piece holds a line break, a ``#``, a ``*``, a backtick or a tilde, each is that piece
    trimmed (the next header's title is not blank: see ``_two_level_requirements``).  Otherwise a
    piece with no header, fence or ``**`` line is its lines trimmed, the blank ones left out; the
    rest are read as ``_statement`` reads them.
    """
    texts = list(map(str.strip, map(h.after.__getitem__, reqs), repeat(JS_WS)))
    every = "".join(texts)
    if "" not in texts and not any(c in every for c in "\n#*`~"):
        return texts
    out = []
    for k, text in zip(reqs, texts, strict=True):
        # a header (only the first line can be one: any other would have started a section), a
        # fence, or a line starting ``**`` (metadata) makes the piece more than its lines
        if (
            not text
            or text[0] == "#"
            or "```" in text
            or "~~~" in text
            or ("**" in text and _STARS_LINE_RE.search(text))
        ):
            out.append(_statement(h, k))
        elif "\n" in text:
            out.append("\n".join(filter(None, [line.strip(JS_WS) for line in text.split("\n")])))
        else:
            out.append(text)
    return out


#: A line starting with ``**`` after any whitespace.
_STARS_LINE_RE = lazy_compile(rf"^{S}*\*\*", re.M)


def _requirement_headers(h: Headings, req_k: int) -> list[tuple[int, list[int]]]:
    """The Requirements section's children (the requirements), each with its own children.

    A header's parent is the nearest header before it of a lower level; a boundary nests nothing
    and ends no nesting (a header after one that ended the section's text still nests in it).
    """
    levels, titles = h.levels, h.titles
    found: list[tuple[int, list[int]]] = []
    kids_of: dict[int, list[int]] = {}
    level = levels[req_k]
    nest = [req_k]  # the open ancestors; the Requirements header stays, every header inside is deeper
    for j in range(req_k + 1, len(levels)):
        if titles[j] is None:
            continue
        lv = levels[j]
        if lv <= level:
            break
        while levels[nest[-1]] >= lv:
            nest.pop()
        parent = nest[-1]
        nest.append(j)
        if parent == req_k:
            kids: list[int] = []
            found.append((j, kids))
            kids_of[j] = kids
        elif parent in kids_of:
            kids_of[parent].append(j)
    return found


def _statement(h: Headings, k: int) -> str:
    """Requirement ``k``'s statement as OpenSpec reads it: the lines of its content (trimmed, its
    sub-sections included) up to the first header line, else its title.

    Those lines are the piece after its header: a sub-section's header line stops the reading,
    unless trimming the content's end turned it into a bare ``#`` run (a header with a blank title
    and nothing after it), which is read as text; then the content itself is read.
    """
    e = h.end(k)
    if e == k + 1:  # no sub-section: the content is the piece
        lines = h.after[k].strip(JS_WS).split("\n")
    elif e == k + 2 and not h.title(k + 1) and not h.after[k + 1].strip(JS_WS):
        lines = h.content(k).split("\n")
    else:
        lines = h.after[k].lstrip(JS_WS).split("\n")
    return extract_requirement_text(h.title(k), lines)


# -- structure ---------------------------------------------------------------------------

_REQUIREMENTS_HEADER_RE = lazy_compile(rf"^##{S}+Requirements{S}*$", re.I | re.A)
_TOP_LEVEL_RE = lazy_compile(rf"^##{S}+")
_DELTA_HEADER_RE = lazy_compile(rf"^##{S}+(ADDED|MODIFIED|REMOVED|RENAMED){S}+Requirements{S}*$", re.I | re.A)
_STRICT_REQ_HEADER_RE = lazy_compile(rf"^###{S}+Requirement:{S}*({DOT}+){S}*$", re.I | re.A)


class StructureIssue(NamedTuple):
    """A structural defect of a main spec, with its 1-based line."""

    kind: str
    line: int
    message: str


def structure_issues(content: str) -> list[StructureIssue]:
    """Delta headers, requirements outside ``## Requirements`` and duplicate requirement names."""
    lines = normalize_newlines(content).split("\n")
    mask = fence_mask(lines, content)
    # only unfenced lines starting with ``##`` matter: found once, in C
    heads = [i for i in compress(range(len(lines)), map(str.startswith, lines, repeat("##"))) if not mask[i]]
    issues: list[StructureIssue] = []
    header = next((i for i in heads if _REQUIREMENTS_HEADER_RE.match(lines[i])), -1)
    end = len(lines)
    if header != -1:
        end = next((i for i in heads if i > header and _TOP_LEVEL_RE.match(lines[i])), end)
    seen: dict[str, int] = {}
    for i in heads:
        line = lines[i]
        trimmed = js_trim(line)
        if _DELTA_HEADER_RE.match(line):
            issues.append(
                StructureIssue(
                    "delta-header",
                    i + 1,
                    f'Main spec contains delta header "{trimmed}". Delta headers are only valid inside'
                    " openspec/changes/<name>/specs/<capability-path>/spec.md and truncate the parsed"
                    " ## Requirements section.",
                )
            )
            continue
        m = _STRICT_REQ_HEADER_RE.match(line) if line.startswith("###") else None
        if m is None:
            continue
        if not (header != -1 and header < i < end):
            issues.append(
                StructureIssue(
                    "requirement-outside-requirements",
                    i + 1,
                    f'Requirement header "{trimmed}" appears outside the main ## Requirements section.'
                    " Main specs only parse requirements inside that section, so this requirement is"
                    " currently invisible to validate, list, and archive.",
                )
            )
            continue
        name = normalize_requirement_name(m.group(1))
        if name in seen:
            issues.append(
                StructureIssue(
                    "duplicate-requirement",
                    i + 1,
                    f'Requirement header "{trimmed}" duplicates the requirement declared on line'
                    f" {seen[name]}. Requirement names must be unique so spec updates cannot discard"
                    " one block while updating another.",
                )
            )
        else:
            seen[name] = i + 1
    return issues


# -- placeholder Purpose ----------------------------------------------------------------

_PURPOSE_HEADER_RE = lazy_compile(r"^ {0,3}##(?!#)[ \t]+Purpose[ \t]*$", re.I | re.A)
_TOP_HEADER_RE = lazy_compile(r"^ {0,3}#{1,2}(?!#)[ \t]+")
_MARKER_PUNCT = frozenset(":-\u2013\u2014.,;()[]{}")


def _word_end(text: str, at: int) -> bool:
    if at >= len(text):
        return True
    ch = text[at]
    return not (ch == "_" or unicodedata.category(ch)[0] in "LNM")


def _punctuated(text: str, at: int) -> bool:
    while at < len(text) and text[at] in " \t":
        at += 1
    return at >= len(text) or text[at] == "\n" or text[at] in _MARKER_PUNCT


def _leading_marker(prose: str) -> bool:
    for marker in ("TBD", "TODO"):
        n = len(marker)
        if prose.startswith(marker) and _word_end(prose, n):
            return True
    for marker in ("tbd", "todo"):
        n = len(marker)
        if prose[:n].lower() == marker and _word_end(prose, n) and _punctuated(prose, n):
            return True
    return False


def _generated_prefix_index(text: str) -> int | None:
    at = text.find(PURPOSE_PLACEHOLDER_SUFFIX)
    while at != -1:
        prefix = text.rfind(PURPOSE_PLACEHOLDER_PREFIX, 0, at + len(PURPOSE_PLACEHOLDER_PREFIX))
        if prefix != -1 and prefix <= at:
            return prefix
        at = text.find(PURPOSE_PLACEHOLDER_SUFFIX, at + 1)
    return None


def purpose_placeholder(overview: str, content: str) -> tuple[bool, int | None]:
    """Whether the Purpose is an unwritten placeholder, and the line that holds it if known."""
    lines = normalize_newlines(overview).split("\n")
    mask = fence_mask(lines)
    prose = js_trim("\n".join(line for line, m in zip(lines, mask, strict=True) if not m))
    leading = _leading_marker(prose)
    if not leading and _generated_prefix_index(prose) is None:
        return False, None
    return True, _placeholder_line(content, leading)


def _placeholder_line(content: str, leading: bool) -> int | None:
    lines = normalize_newlines(content).split("\n")
    mask = fence_mask(lines)
    header = next((i for i, line in enumerate(lines) if not mask[i] and _PURPOSE_HEADER_RE.match(line)), -1)
    if header == -1:
        return None
    body: list[tuple[int, str]] = []
    for i in range(header + 1, len(lines)):
        if mask[i]:
            continue
        if _TOP_HEADER_RE.match(lines[i]):
            break
        if leading and js_trim(lines[i]):
            return i + 1
        body.append((i + 1, lines[i]))
    if leading:
        return None
    purpose = "\n".join(t for _, t in body)
    at = _generated_prefix_index(purpose)
    if at is None:
        return None
    offset = purpose[:at].count("\n")
    return body[offset][0] if offset < len(body) else None


# -- Purpose of a delta (seed for a new spec) -----------------------------------------

_PURPOSE_SECTION_RE = lazy_compile(rf"^##{S}+Purpose{S}*$", re.I | re.A)


def mask_html_comments(content: str) -> str:
    """Blank out ``<!-- ... -->`` spans (unterminated ones run to the end), keeping newlines."""
    out: list[str] = []
    index = 0
    while True:
        start = content.find("<!--", index)
        if start == -1:
            out.append(content[index:])
            return "".join(out)
        out.append(content[index:start])
        close = -1
        i = start + 4
        while i < len(content):
            if content.startswith("-->", i):
                close = i + 3
                break
            if content.startswith("--!>", i):
                close = i + 4
                break
            i += 1
        span = content[start:] if close == -1 else content[start:close]
        out.append(re.sub(r"[^\n]", " ", span))
        if close == -1:
            return "".join(out)
        index = close


def extract_purpose(content: str) -> str | None:
    """The body of ``## Purpose`` (None when absent or only code/comments)."""
    normalized = normalize_newlines(content)
    lines = normalized.split("\n")
    masked = mask_html_comments(normalized).split("\n") if "<!--" in normalized else lines
    fmask = fence_mask(masked)
    start = next((i for i, line in enumerate(masked) if not fmask[i] and _PURPOSE_SECTION_RE.match(line)), -1)
    if start == -1:
        return None
    end = len(masked)
    for i in range(start + 1, len(masked)):
        if not fmask[i] and _TOP_LEVEL_RE.match(masked[i]):
            end = i
            break
    prose = js_trim("\n".join(masked[i] for i in range(start + 1, end) if not fmask[i]))
    if not prose:
        return None
    body = js_trim("\n".join(lines[start + 1 : end]))
    return body or None


__all__ = [
    "PURPOSE_PLACEHOLDER_PREFIX",
    "PURPOSE_PLACEHOLDER_SUFFIX",
    "ParsedSpec",
    "Requirement",
    "SpecParseError",
    "StructureIssue",
    "extract_purpose",
    "mask_html_comments",
    "parse_spec",
    "purpose_placeholder",
    "structure_issues",
]
