"""Property tests: the parsers never raise on arbitrary Markdown; archive keeps specs valid and is idempotent."""

from __future__ import annotations

import contextlib
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specflow.openspec.archive import archive_change
from specflow.openspec.deltas import parse_delta_spec
from specflow.openspec.markdown import DOT, JS_WS, S, Section, fence_mask, normalize, parse_sections
from specflow.openspec.merge import build_updated_spec
from specflow.openspec.mergechecks import MergeError
from specflow.openspec.meta import YamlSyntaxError, load_simple_yaml
from specflow.openspec.requirements import extract_requirements_section, scenario_names
from specflow.openspec.specs import SpecParseError, parse_spec, purpose_placeholder, structure_issues
from specflow.openspec.tasks import count_tasks, parse_tasks
from specflow.openspec.validate import validate_spec_content

FRAGMENTS = [
    "## ADDED Requirements",
    "## MODIFIED Requirements",
    "## REMOVED Requirements",
    "## RENAMED Requirements",
    "## Purpose",
    "## Requirements",
    "### Requirement: ",
    "#### Scenario: ",
    "###",
    "#",
    "```",
    "~~~",
    "- ",
    "* ",
    "1. ",
    "[ ]",
    "[x]",
    "FROM: ",
    "TO: ",
    "`",
    "**ID**:",
    "SHALL",
    "MUST",
    "TBD",
    "<!--",
    "-->",
    "\n",
    "\n",
    "\n",
    "\r\n",
    "\r",
    "\t",
    " ",
    "\u00a0",
    "\ufeff",
    "\u2028",
    "A",
    "b",
    "é",
    "😀",
]
markdown = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(markdown)
def test_parsers_never_raise(text: str) -> None:
    lines = normalize(text).split("\n")
    fence_mask(lines)
    parse_sections(lines)
    plan = parse_delta_spec(text)
    assert plan.entry_count >= 0
    extract_requirements_section(text)
    structure_issues(text)
    purpose_placeholder(text, text)
    scenario_names(text)
    tasks = parse_tasks(text)
    assert count_tasks(text) == (tasks.total, tasks.done)
    try:
        spec = parse_spec(text, "cap")
        assert spec.name == "cap"
    except SpecParseError:
        pass
    validate_spec_content("cap", text)
    with contextlib.suppress(MergeError):
        build_updated_spec("cap", text, text, "change")
    with contextlib.suppress(YamlSyntaxError):
        load_simple_yaml(text)


names = (
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=3, max_size=12)
    .map(lambda s: " ".join(s.split()).capitalize())
    .filter(lambda s: len(s) >= 3)
)


_HEADER = re.compile(rf"^(#{{1,6}}){S}+({DOT}+)$")
_BOUNDARY = re.compile(rf"^(#{{1,6}}){S}")


def _sections_as_first_written(lines: list[str]) -> list[tuple[Any, ...]]:
    """OpenSpec's ``parseSections`` as specflow first wrote it, line by line with two stacks: the oracle.

    Each section is ``(level, title, line, end, children)``.
    """
    mask = fence_mask(lines)
    found: list[list[Any]] = []
    roots: list[list[Any]] = []
    nest: list[list[Any]] = []
    open_: list[list[Any]] = []
    for i, line in enumerate(lines):
        if mask[i] or not line.startswith("#"):
            continue
        m = _HEADER.match(line)
        b = m or _BOUNDARY.match(line)
        if b is None:
            continue
        level = len(b.group(1))
        while open_ and open_[-1][0] >= level:
            open_.pop()[3] = i
        if m is None:
            continue
        section: list[Any] = [level, m.group(2).strip(JS_WS), i, len(lines), []]
        while nest and nest[-1][0] >= level:
            nest.pop()
        (nest[-1][4] if nest else roots).append(section)
        nest.append(section)
        open_.append(section)
        found.append(section)

    def frozen(s: list[Any]) -> tuple[Any, ...]:
        return (s[0], s[1], s[2], s[3], [frozen(c) for c in s[4]])

    return [frozen(r) for r in roots]


def _sections(sections: list[Section]) -> list[tuple[Any, ...]]:
    return [(s.level, s.title, s.line, s.end, _sections(s.children)) for s in sections]


HEADER_LINES = ["# A", "## B", "### C", "#### D", "##### E", "####### F", "## ", "### ", "#\t", "x", "", "```", "~~~"]
outlines = st.lists(st.sampled_from(HEADER_LINES), max_size=40).map("\n".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(markdown, outlines))
def test_headers_nest_as_the_line_by_line_parser_nested_them(text: str) -> None:
    lines = normalize(text).split("\n")
    assert _sections(parse_sections(lines)) == _sections_as_first_written(lines)


def _req(name: str, scenarios: list[str], word: str = "SHALL") -> str:
    text = f"### Requirement: {name}\nThe system {word} handle {name.lower()}.\n"
    for s in scenarios:
        text += f"\n#### Scenario: {s}\n- **WHEN** it runs\n- **THEN** it works\n"
    return text


@st.composite
def spec_and_delta(draw: st.DrawFn) -> tuple[str, str]:
    pool = draw(st.lists(names, min_size=4, max_size=12, unique_by=lambda s: s.lower()))
    n_existing = draw(st.integers(min_value=2, max_value=len(pool) - 2))
    existing, fresh = pool[:n_existing], pool[n_existing:]
    spec = (
        "# cap Specification\n\n## Purpose\nThis capability exists so the property tests have a real purpose.\n\n"
        "## Requirements\n" + "\n".join(_req(n, ["First", "Second"]) for n in existing)
    )
    kinds = st.sampled_from(["modify", "remove", "rename", "keep"])
    ops = draw(st.lists(kinds, min_size=len(existing), max_size=len(existing)))
    if all(o == "remove" for o in ops):
        ops[0] = "keep"
    added = fresh[: draw(st.integers(min_value=0, max_value=len(fresh)))]
    renames = fresh[len(added) :]
    parts = {"ADDED": [_req(n, ["Works"]) for n in added], "MODIFIED": [], "REMOVED": [], "RENAMED": []}
    for name, op in zip(existing, ops, strict=True):
        if op == "modify":
            parts["MODIFIED"].append(_req(name, ["First", "Second", "Third"], "MUST"))
        elif op == "remove":
            parts["REMOVED"].append(f"- ### Requirement: {name}\n")
        elif op == "rename" and renames:
            parts["RENAMED"].append(f"- FROM: `### Requirement: {name}`\n- TO: `### Requirement: {renames.pop()}`\n")
    delta = "".join(f"## {k} Requirements\n" + "\n".join(v) + "\n" for k, v in parts.items() if v)
    if not delta:
        delta = "## ADDED Requirements\n" + _req("Always added", ["Works"])
    return spec, delta


@settings(max_examples=150, deadline=None)
@given(spec_and_delta())
def test_merge_keeps_specs_valid_and_is_idempotent(case: tuple[str, str]) -> None:
    spec, delta = case
    assert validate_spec_content("cap", spec).valid(strict=True)
    once = build_updated_spec("cap", delta, spec, "change")
    assert validate_spec_content("cap", once.rebuilt).valid(strict=True), once.rebuilt
    twice = build_updated_spec("cap", delta, once.rebuilt, "change")
    assert twice.counts.total == 0
    assert twice.rebuilt == once.rebuilt


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_and_delta())
def test_archive_then_validate_and_archive_again(case: tuple[str, str]) -> None:
    spec, delta = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "openspec/specs/cap").mkdir(parents=True)
        (root / "openspec/specs/cap/spec.md").write_text(spec)
        for cid in ("first", "second"):
            d = root / "openspec/changes" / cid / "specs/cap"
            d.mkdir(parents=True)
            (d / "spec.md").write_text(delta)
        archive_change(root, "first", yes=True, today=date(2026, 1, 2))
        after = (root / "openspec/specs/cap/spec.md").read_bytes()
        assert validate_spec_content("cap", after.decode()).valid(strict=True)
        result = archive_change(root, "second", yes=True, today=date(2026, 1, 2))
        assert (root / "openspec/specs/cap/spec.md").read_bytes() == after
        assert result.totals is not None and result.totals.total == 0
        assert sorted(p.name for p in (root / "openspec/changes/archive").iterdir()) == [
            "2026-01-02-first",
            "2026-01-02-second",
        ]
