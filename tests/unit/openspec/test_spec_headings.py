"""A main spec read from one split of its text agrees with OpenSpec's parser read section by section.

``parse_spec`` finds the headers with one ``re.split`` over the whole text and takes each
requirement and scenario from the pieces between them (and, for the common two-level shape, with
no walk at all).  The oracle here is OpenSpec's ``parseSpec`` written plainly over the section tree
of ``parse_sections`` (itself checked against a line-by-line parser in ``test_properties``):
Purpose and Requirements found anywhere, each child of Requirements a requirement whose statement is
read from its content up to the first header, each non-blank child of a requirement a scenario.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specflow.openspec.headings import fence_spans, headings
from specflow.openspec.jsonstr import stringify
from specflow.openspec.markdown import fence_mask, find_section, normalize, parse_sections
from specflow.openspec.requirements import extract_requirement_text
from specflow.openspec.show import show_spec_json, show_spec_text
from specflow.openspec.specs import ParsedSpec, Requirement, SpecParseError, parse_spec
from tests.unit.openspec.test_properties import markdown


def _parse_by_sections(content: str, name: str) -> ParsedSpec:
    sections = parse_sections(normalize(content).split("\n"))
    purpose = find_section(sections, "Purpose")
    requirements = find_section(sections, "Requirements")
    if purpose is None or not purpose.content:
        raise SpecParseError("Spec must have a Purpose section")
    if requirements is None:
        raise SpecParseError("Spec must have a Requirements section")
    found = tuple(
        Requirement(
            extract_requirement_text(r.title, r.content.split("\n")),
            tuple(c.content for c in r.children if c.content),
        )
        for r in requirements.children
    )
    return ParsedSpec(name, purpose.content, found)


def _outcome(parse: Callable[[str, str], ParsedSpec], text: str) -> ParsedSpec | str:
    try:
        return parse(text, "cap")
    except SpecParseError as exc:
        return str(exc)


#: Lines that make the shapes the split must get right: levels skipped and repeated, boundaries
#: (a ``#`` run and whitespace only), fenced headers, JavaScript's whitespace and line separators.
LINES = [
    "# Title",
    "## Purpose",
    "## purpose ",
    "## Requirements",
    "# REQUIREMENTS",
    "### Requirement: A",
    "### Requirement: B ###",
    "###\tRequirement: Tab",
    "#### Scenario: S",
    "#### Scenario: T",
    "##### Deeper",
    "###### Six",
    "####### Seven",
    "##",
    "## ",
    "###  ",
    "#### \u00a0",
    "### \u2028x",
    "### x\u2028",
    "#\u3000Wide space",
    "#nospace",
    "  ### indented",
    "```",
    "```md",
    "~~~",
    "~~~~",
    "  ```",
    "`inline` code",
    "The system SHALL do it.",
    "The system MUST also do it.",
    "**ID**: R-1",
    "**Note**: metadata only",
    "- **WHEN** it runs",
    "- **THEN** it works",
    "text with # inside",
    "",
    "",
    " ",
    "\t",
    "\ufeff",
    "\r",
    "é ünïcode 😀",
]
structured = st.lists(st.sampled_from(LINES), max_size=50).map("\n".join)
line_endings = st.sampled_from(["\n", "\r\n", "\r"])


@settings(max_examples=1500, deadline=None)
@given(st.one_of(structured, markdown))
def test_a_spec_parses_as_openspec_reads_it_section_by_section(text: str) -> None:
    assert _outcome(parse_spec, text) == _outcome(_parse_by_sections, text)


#: Statement and scenario lines for specs of the usual shape (``###`` requirements, ``####``
#: scenarios), read on the quick path: metadata, fences, header-like and blank lines among them.
STATEMENT_LINES = [
    "The system SHALL x.",
    "  indented MUST",
    "**ID**: R-1",
    "  **Note**: meta",
    "\ufeff**M**: v",
    "a **bold** word",
    "#nospace",
    "`code`",
    "```",
    "~~~",
    "issue #42",
    "second line",
    "",
    " ",
    "\u00a0",
]
SCENARIO_LINES = ["- **WHEN** x", "- **THEN** y", "", " ", "```", "# inside"]


@st.composite
def usual_specs(draw: st.DrawFn) -> str:
    parts = ["## Purpose", "P", "## Requirements"]
    for r in range(draw(st.integers(1, 6))):
        parts.append(draw(st.sampled_from([f"### Requirement: R{r}", "###  ", "### R"])))
        parts += draw(st.lists(st.sampled_from(STATEMENT_LINES), max_size=4))
        for _ in range(draw(st.integers(0, 3))):
            parts.append(draw(st.sampled_from(["#### Scenario: S", "####  ", "#### x"])))
            parts += draw(st.lists(st.sampled_from(SCENARIO_LINES), max_size=3))
    return "\n".join(parts)


@settings(max_examples=1000, deadline=None)
@given(usual_specs())
def test_specs_of_the_usual_shape_parse_as_openspec_reads_them(text: str) -> None:
    assert _outcome(parse_spec, text) == _outcome(_parse_by_sections, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=50), line_endings)
def test_line_endings_and_a_byte_order_mark_change_nothing(lines: list[str], newline: str) -> None:
    text = "\ufeff" + newline.join(lines)
    assert _outcome(parse_spec, text) == _outcome(_parse_by_sections, text)


@settings(max_examples=500, deadline=None)
@given(st.one_of(structured, markdown))
def test_fenced_stretches_cover_the_lines_the_fence_mask_marks(text: str) -> None:
    lines = normalize(text).split("\n")
    doc = "\n" + "\n".join(lines)
    starts = [1]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    spans = fence_spans(doc)
    covered = [any(s <= at < e for s, e in spans) for at in starts]
    assert covered == fence_mask(lines)


def test_two_level_spec_and_its_pieces() -> None:
    text = (
        "# cap\n\n## Purpose\nWhy it exists.\n\n## Requirements\n"
        "### Requirement: A\nThe system SHALL a.\n  second line  \n\n#### Scenario: One\n- x\n\n"
        "#### Scenario: Blank\n\n"
        "### Requirement: B\n\n### Requirement: C\n**ID**: C-1\n#### Scenario: Two\n- y"
    )
    spec = parse_spec(text, "cap")
    assert spec.overview == "Why it exists."
    assert spec.requirements == (
        Requirement("The system SHALL a.\nsecond line", ("- x",)),
        Requirement("Requirement: B", ()),
        Requirement("**ID**: C-1", ("- y",)),
    )
    h = headings(normalize(text))
    assert [h.title(k) for k in range(len(h.levels))][:3] == ["cap", "Purpose", "Requirements"]
    assert h.content(2) == text[text.index("### Requirement: A") :].strip()


def test_headers_in_fences_are_text() -> None:
    text = "## Purpose\nP\n## Requirements\n### Requirement: A\n```\n#### Scenario: not one\n```\nThe system SHALL a.\n"
    assert parse_spec(text, "cap").requirements == (Requirement("The system SHALL a.", ()),)
    assert fence_spans("\n" + text) == [(text.index("```") + 1, text.rindex("```") + 4)]


@pytest.mark.parametrize("line", ["## ", "##\t", "## \u2028", "##\u00a0"])
def test_a_run_without_a_title_ends_text_but_not_nesting(line: str) -> None:
    """OpenSpec's sections nest by header only: the boundary ends the text of A (and of
    Requirements), yet B, after it, is still a requirement."""
    text = f"## Purpose\nP\n## Requirements\n### Requirement: A\nThe system SHALL a.\n{line}\n### Requirement: B\nb\n"
    spec = parse_spec(text, "cap")
    assert spec.requirements == (Requirement("The system SHALL a.", ()), Requirement("b", ()))
    assert spec == _parse_by_sections(text, "cap")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=40))
def test_the_written_document_is_the_generic_writers(lines: list[str]) -> None:
    """``show_spec_text`` lays the JSON out by hand, as one join: the generic writer's bytes."""
    text = '## Purpose\nWhy "quoted" \\ and \t tabbed.\n## Requirements\n' + "\n".join(lines)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "openspec" / "specs" / "cap").mkdir(parents=True)
        (root / "openspec" / "specs" / "cap" / "spec.md").write_text(text, encoding="utf-8")
        assert show_spec_text(root, "cap") == stringify(show_spec_json(root, "cap"))
