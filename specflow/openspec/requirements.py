"""Requirement blocks: names, bodies, scenarios, and the ``## Requirements`` section of a spec.

These are the pieces OpenSpec's delta reader, validator and archive share (its
``requirement-blocks`` and ``requirement-text`` modules): a block is a ``### Requirement: <name>``
header plus every line up to the next requirement or ``## `` header, kept verbatim so archive can
write it back byte for byte.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping
from functools import lru_cache
from itertools import compress, repeat
from typing import NamedTuple

from specflow.openspec.jsre import lazy_compile
from specflow.openspec.markdown import (
    DOT,
    JS_WS,
    S,
    fence_mask,
    js_trim,
    js_trim_end,
    normalize,
    normalize_newlines,
)

#: ``### Requirement: <name>`` (case-insensitive, space after ``###`` optional).
REQUIREMENT_HEADER_RE = lazy_compile(rf"^###{S}*Requirement:{S}*({DOT}+){S}*$", re.I | re.A)
_REQUIREMENTS_HEADER_RE = lazy_compile(rf"^##{S}+Requirements{S}*$", re.I | re.A)
_TOP_LEVEL_RE = lazy_compile(rf"^##{S}+")
_CLOSING_HASHES_RE = lazy_compile(r"[ \t]+#+[ \t]*$")
_WS_RUN_RE = lazy_compile(rf"{S}+")
_METADATA_LINE_RE = lazy_compile(r"^\*\*[^*]+\*\*:")
_HEADER_LINE_RE = lazy_compile(rf"^#{{1,6}}{S}")
SCENARIO_HEADER_RE = lazy_compile(rf"^####{S}+")
_SCENARIO_BODY_END_RE = lazy_compile(rf"^#{{1,4}}{S}")
_SCENARIO_PREFIX_RE = lazy_compile(rf"^Scenario:{S}*", re.I | re.A)
_SHALL_MUST_RE = lazy_compile(r"\b(SHALL|MUST)\b", re.A)


@lru_cache(maxsize=1 << 16)
def normalize_requirement_name(name: str) -> str:
    """The requirement's name: trimmed, without a closing ``###`` run (``Foo ###`` is ``Foo``).

    Cached: every rule and the archive dry run look the same names up again (a thousand
    changes asked ~45,000 times for ~10,000 names).
    """
    if "#" in name:
        name = _CLOSING_HASHES_RE.sub("", name, count=1)
    return js_trim(name)


@lru_cache(maxsize=1 << 16)
def fold_requirement_name(name: str) -> str:
    """Case- and whitespace-folded name, used only to detect near-miss spellings."""
    return _WS_RUN_RE.sub(" ", normalize_requirement_name(name).lower())


def requirement_header_name(line: str) -> str | None:
    """The normalized name if ``line`` is a ``### Requirement:`` header, else None."""
    if not line.startswith("###"):
        return None
    m = REQUIREMENT_HEADER_RE.match(line)
    return normalize_requirement_name(m.group(1)) if m else None


class RequirementBlock(NamedTuple):
    """One requirement as written: its header line, its name and its raw text (header included)."""

    header_line: str
    name: str
    raw: str


def contains_shall_or_must(text: str) -> bool:
    """True when ``text`` holds ``SHALL`` or ``MUST`` as a whole word."""
    return ("SHALL" in text or "MUST" in text) and _SHALL_MUST_RE.search(text) is not None


def extract_requirement_body(body_lines: list[str], mask: list[bool] | None = None) -> str:
    """The requirement statement: unfenced, non-blank lines before the first header.

    ``**Key**: value`` metadata lines are skipped unless nothing else is there.  ``mask`` is
    ``fence_mask(body_lines)`` when the caller has it.
    """
    if mask is None:
        mask = fence_mask(body_lines)
    captured: list[str] = []
    metadata: list[str] = []
    for i, line in enumerate(body_lines):
        if mask[i]:
            continue
        if line.startswith("#") and _HEADER_LINE_RE.match(line):
            break
        trimmed = line.strip(JS_WS)
        if not trimmed:
            continue
        if trimmed.startswith("**") and _METADATA_LINE_RE.match(trimmed):
            metadata.append(trimmed)
            continue
        captured.append(trimmed)
    if captured:
        return "\n".join(captured)
    return "\n".join(metadata)


def extract_requirement_text(header_title: str, body_lines: list[str], mask: list[bool] | None = None) -> str:
    """The statement, or the header's title when the body is empty (the spec parser's view)."""
    return extract_requirement_body(body_lines, mask) or js_trim(header_title)


def _scenario_bodies(body_lines: list[str], mask: list[bool] | None = None) -> list[str]:
    if mask is None:
        mask = fence_mask(body_lines)
    bodies: list[str] = []
    n = len(body_lines)
    for i, line in enumerate(body_lines):
        if mask[i] or not line.startswith("####") or not SCENARIO_HEADER_RE.match(line):
            continue
        end = i + 1
        while end < n and (
            mask[end] or not body_lines[end].startswith("#") or not _SCENARIO_BODY_END_RE.match(body_lines[end])
        ):
            end += 1
        bodies.append("\n".join(body_lines[i + 1 : end]))
    return bodies


def count_scenarios(body_lines: list[str], mask: list[bool] | None = None) -> int:
    """Scenarios (``####`` headers with a non-empty body) in a requirement's body lines.

    ``mask`` is ``fence_mask(body_lines)`` when the caller has it.
    """
    return sum(1 for b in _scenario_bodies(body_lines, mask) if js_trim(b))


def count_empty_scenarios(body_lines: list[str], mask: list[bool] | None = None) -> int:
    """``####`` headers in a requirement's body lines that have nothing under them."""
    return sum(1 for b in _scenario_bodies(body_lines, mask) if not js_trim(b))


@lru_cache(maxsize=8192)
def scenario_names(raw: str) -> tuple[str, ...]:
    """The name of every scenario in a requirement block (``#### Scenario: X`` gives ``X``)."""
    if "####" not in raw:
        return ()
    lines = normalize_newlines(raw).split("\n")
    mask = fence_mask(lines, raw)
    names: list[str] = []
    for i, line in enumerate(lines):
        if mask[i] or not line.startswith("####"):
            continue
        m = SCENARIO_HEADER_RE.match(line)
        if m is None:
            continue
        name = line[m.end() :]
        name = _CLOSING_HASHES_RE.sub("", name, count=1)
        name = _SCENARIO_PREFIX_RE.sub("", name, count=1)
        names.append(js_trim(name))
    return tuple(names)


class ScenarioDiff(NamedTuple):
    """Scenario names a MODIFIED block drops (``missing``) and introduces (``added``)."""

    missing: list[str]
    added: list[str]
    current_count: int
    incoming_count: int


def _unmatched(names: tuple[str, ...], against: tuple[str, ...]) -> list[str]:
    remaining: dict[str, int] = {}
    for name in against:
        remaining[name] = remaining.get(name, 0) + 1
    out: list[str] = []
    for name in names:
        left = remaining.get(name, 0)
        if left > 0:
            remaining[name] = left - 1
        else:
            out.append(name)
    return out


def diff_scenario_names(current_raw: str, incoming_raw: str) -> ScenarioDiff:
    """Compare the scenarios of the current block and a MODIFIED one (multiplicity-aware)."""
    cur = scenario_names(current_raw)
    inc = scenario_names(incoming_raw)
    return ScenarioDiff(_unmatched(cur, inc), _unmatched(inc, cur), len(cur), len(inc))


def describe_scenario_balance(diff: ScenarioDiff) -> str:
    """The sentence OpenSpec appends when a MODIFIED block drops scenarios."""

    def count(n: int) -> str:
        return f"{n} {'scenario' if n == 1 else 'scenarios'}"

    scale = f"The modified block has {count(diff.incoming_count)}; the current spec has {count(diff.current_count)}."
    if not diff.added:
        return f"{scale} It adds none."
    listed = ", ".join(f'"{n}"' for n in diff.added[:3])
    rest = len(diff.added) - 3
    names = f"{listed} and {rest} more" if rest > 0 else listed
    return f"{scale} It adds {count(len(diff.added))} not in the current spec: {names}."


class RequirementsSection(NamedTuple):
    """A spec split around its ``## Requirements`` section, ready to be rebuilt."""

    before: str
    header_line: str
    preamble: str
    blocks: list[RequirementBlock]
    after: str


class RequirementIndex(NamedTuple):
    """A spec's requirements keyed once: what every merge into (or check against) it looks up.

    ``by_name`` maps each normalised name to its block (a repeated name keeps its first position
    and its last block, as a dict built in document order does); ``by_fold`` maps a case- and
    space-folded name to the normalised names that fold to it, in ``by_name`` order.
    """

    ordered: tuple[str, ...]
    by_name: Mapping[str, RequirementBlock]
    by_fold: Mapping[str, tuple[str, ...]]


def index_requirements(blocks: list[RequirementBlock]) -> RequirementIndex:
    """Key ``blocks`` by normalised name, once (a 1,000-requirement spec costs a few ms)."""
    ordered = tuple(normalize_requirement_name(b.name) for b in blocks)
    by_name = dict(zip(ordered, blocks, strict=True))
    by_fold: dict[str, list[str]] = {}
    for key in by_name:
        by_fold.setdefault(fold_requirement_name(key), []).append(key)
    return RequirementIndex(ordered, by_name, {k: tuple(v) for k, v in by_fold.items()})


def parse_blocks(lines: list[str], mask: list[bool]) -> tuple[list[str], list[RequirementBlock]]:
    """Split section body lines into preamble lines and requirement blocks.

    A block runs from its ``### Requirement:`` header to the next one or the next ``##`` header
    (unfenced both); the headers are found in one pass over the lines that start with ``##``.
    """
    n = len(lines)
    req_match, top_match = REQUIREMENT_HEADER_RE.compiled().match, _TOP_LEVEL_RE.compiled().match
    starts: list[tuple[int, re.Match[str]]] = []
    stops: list[int] = []
    for i in compress(range(n), map(str.startswith, lines, repeat("##"))):
        if mask[i]:
            continue
        m = req_match(lines[i]) if lines[i].startswith("###") else None
        if m is not None:
            starts.append((i, m))
            stops.append(i)
        elif top_match(lines[i]) is not None:
            stops.append(i)
    preamble = lines[: starts[0][0]] if starts else list(lines)
    blocks: list[RequirementBlock] = []
    for start, m in starts:
        k = bisect_right(stops, start)
        end = stops[k] if k < len(stops) else n
        body = "\n".join(lines[start:end])
        blocks.append(RequirementBlock(lines[start], normalize_requirement_name(m.group(1)), js_trim_end(body)))
    return preamble, blocks


def extract_requirements_section(content: str) -> RequirementsSection:
    """Split a main spec around ``## Requirements`` (OpenSpec's ``extractRequirementsSection``)."""
    lines = normalize(content).split("\n")
    mask = fence_mask(lines, content)
    header_index = -1
    for i, line in enumerate(lines):
        if not mask[i] and line.startswith("##") and _REQUIREMENTS_HEADER_RE.match(line):
            header_index = i
            break
    if header_index == -1:
        before = js_trim_end(content)
        return RequirementsSection(before + "\n\n" if before else "", "## Requirements", "", [], "\n")
    end = len(lines)
    top = _TOP_LEVEL_RE.match
    for i in compress(
        range(header_index + 1, len(lines)), map(str.startswith, lines[header_index + 1 :], repeat("##"))
    ):
        if not mask[i] and top(lines[i]):
            end = i
            break
    before = "\n".join(lines[:header_index])
    body_lines = lines[header_index + 1 : end]
    preamble, blocks = parse_blocks(body_lines, mask[header_index + 1 : end])
    after = "\n".join(lines[end:])
    return RequirementsSection(
        before=before + "\n" if js_trim_end(before) else before,
        header_line=lines[header_index],
        preamble=js_trim_end("\n".join(preamble)),
        blocks=blocks,
        after=after if after.startswith("\n") else "\n" + after,
    )


__all__ = [
    "REQUIREMENT_HEADER_RE",
    "SCENARIO_HEADER_RE",
    "RequirementBlock",
    "RequirementIndex",
    "RequirementsSection",
    "ScenarioDiff",
    "contains_shall_or_must",
    "count_empty_scenarios",
    "count_scenarios",
    "describe_scenario_balance",
    "diff_scenario_names",
    "extract_requirement_body",
    "extract_requirement_text",
    "extract_requirements_section",
    "fold_requirement_name",
    "index_requirements",
    "normalize_requirement_name",
    "parse_blocks",
    "requirement_header_name",
    "scenario_names",
]
