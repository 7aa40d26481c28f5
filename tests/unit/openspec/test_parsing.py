"""Markdown scanning, requirement blocks, delta specs and main specs."""

from __future__ import annotations

import pytest

from specflow.openspec.deltas import parse_delta_spec
from specflow.openspec.markdown import fence_mask, find_section, js_len, js_trim, normalize, parse_sections
from specflow.openspec.requirements import (
    count_empty_scenarios,
    count_scenarios,
    describe_scenario_balance,
    diff_scenario_names,
    extract_requirement_body,
    extract_requirements_section,
    fold_requirement_name,
    normalize_requirement_name,
    scenario_names,
)
from specflow.openspec.specs import SpecParseError, parse_spec, purpose_placeholder, structure_issues
from tests.unit.openspec.ostree import AUTH_SPEC, req


def test_fence_mask_follows_openspec() -> None:
    lines = ["a", "```py", "# x", "``", "```", "b", "~~~~", "```", "~~~", "~~~~~", "c", "  ```", "x"]
    assert fence_mask(lines) == [False, True, True, True, True, False, True, True, True, True, False, True, True]


def test_sections_nest_and_content_runs_to_same_level() -> None:
    lines = normalize("# T\r\n## Purpose\r\nWhy.\r\n## Requirements\r\n### R\r\nbody\r\n#### S\r\nx\r\n").split("\n")
    roots = parse_sections(lines)
    assert [s.title for s in roots] == ["T"]
    reqs = find_section(roots, "requirements")
    assert reqs is not None and [c.title for c in reqs.children] == ["R"]
    assert reqs.children[0].content == "body\n#### S\nx"
    assert find_section(roots, "Nope") is None


def test_javascript_string_semantics() -> None:
    assert js_trim("\ufeff x \u00a0") == "x"
    assert js_trim("\x1c x") == "\x1c x"  # not JS whitespace
    assert js_len("a\U0001f600") == 3


def test_requirement_names() -> None:
    assert normalize_requirement_name("  Foo ###  ") == "Foo"
    assert normalize_requirement_name("C#") == "C#"
    assert normalize_requirement_name("Foo\u00a0###") == "Foo\u00a0###"
    assert fold_requirement_name("Log  In") == fold_requirement_name("log in")


def test_requirement_body_and_scenarios() -> None:
    body = ["", "**ID**: R-1", "The system SHALL work", "and MUST log.", "```", "# not a header", "```"]
    body += ["#### Scenario: A", "- x"]
    assert extract_requirement_body(body) == "The system SHALL work\nand MUST log."
    assert extract_requirement_body(["**ID**: R-1", "**Rule**: MUST"]) == "**ID**: R-1\n**Rule**: MUST"
    assert count_scenarios(["text", "#### Scenario: A", "- x", "#### Scenario: Empty", "", "### Next"]) == 1
    assert count_scenarios(["```", "#### Scenario: fenced", "```"]) == 0
    # a fenced block under a scenario header is that scenario's body
    assert count_scenarios(["#### Scenario: Code", "```", "#### Scenario: fenced", "```"]) == 1
    assert count_empty_scenarios(["#### Scenario: E", "### next"]) == 1


def test_scenario_names_and_balance() -> None:
    cur = req("X", "The system SHALL x.", "A", "B")
    inc = req("X", "The system SHALL x.", "A", "C", "D", "E", "F")
    assert scenario_names(cur) == ("A", "B")
    assert scenario_names("### Requirement: Y\n#### Scenario: Closed ####\n#### Edge case\n") == ("Closed", "Edge case")
    diff = diff_scenario_names(cur, inc)
    assert diff.missing == ["B"] and diff.added == ["C", "D", "E", "F"]
    assert describe_scenario_balance(diff) == (
        "The modified block has 5 scenarios; the current spec has 2 scenarios."
        ' It adds 4 scenarios not in the current spec: "C", "D", "E" and 1 more.'
    )


def test_requirements_section_split() -> None:
    parts = extract_requirements_section(AUTH_SPEC)
    assert parts.header_line == "## Requirements"
    assert [b.name for b in parts.blocks] == ["Login", "Logout"]
    assert parts.blocks[0].raw.startswith("### Requirement: Login\n") and not parts.blocks[0].raw.endswith("\n")
    empty = extract_requirements_section("# x\n\n## Purpose\nP\n")
    assert empty.blocks == [] and empty.before == "# x\n\n## Purpose\nP\n\n"


def test_delta_spec_every_form() -> None:
    plan = parse_delta_spec(
        "## ADDED Requirements\n" + req("A") + "### Divider\n"
        "## modified requirements\n"
        + req("B")
        + "## REMOVED Requirements\n### Requirement: C\n- ### Requirement: D\n* `### Requirement: E`\n"
        "## RENAMED Requirements\n- FROM: `### Requirement: F`\n- TO: `### Requirement: G`\nTO: ### Requirement: H\n"
        "## ADDED Requirements\n"
        + req("I")
        + "## Notes\n"
        + req("J")
        + "```\n## REMOVED Requirements\n### Requirement: K\n```\n"
    )
    assert [b.name for b in plan.added] == ["A", "I"]
    assert [b.name for b in plan.modified] == ["B"]
    assert plan.removed == ["C", "D", "E"]
    assert [(r.src, r.dst) for r in plan.renamed] == [("F", "G")]
    assert [(u.side, u.name) for u in plan.unpaired_renames] == [("TO", "H")]
    assert [(s.header, s.section) for s in plan.skipped_headers] == [("Divider", "ADDED Requirements")]
    assert [(o.name, o.section) for o in plan.orphans] == [("J", "Notes")]
    assert plan.section_names() == [
        "## ADDED Requirements",
        "## MODIFIED Requirements",
        "## REMOVED Requirements",
        "## RENAMED Requirements",
    ]
    assert "### Divider" in plan.added[0].raw  # absorbed into the block, as OpenSpec does


def test_delta_spec_crlf_bom_and_names_case_sensitive() -> None:
    plan = parse_delta_spec("\ufeff## ADDED Requirements\r\n### Requirement: Foo ###\r\nThe system SHALL.\r\n")
    assert [b.name for b in plan.added] == ["Foo"]
    assert parse_delta_spec("nothing").has_sections is False


def test_parse_spec_and_errors() -> None:
    spec = parse_spec(AUTH_SPEC, "auth")
    assert spec.overview.startswith("Authentication")
    assert [r.text for r in spec.requirements] == [
        "The system SHALL let users log in with a password.",
        "The system SHALL end the session on logout.",
    ]
    assert len(spec.requirements[0].scenarios) == 1
    with pytest.raises(SpecParseError, match="Purpose section"):
        parse_spec("## Requirements\n", "x")
    with pytest.raises(SpecParseError, match="Requirements section"):
        parse_spec("## Purpose\nP\n", "x")
    assert parse_spec("## Purpose\nP\n## Requirements\n### Loose\n", "x").requirements[0].text == "Loose"


def test_structure_issues() -> None:
    text = "### Requirement: Early\n## Purpose\nP\n## Requirements\n" + req("A") + req("A ###")
    text += "## ADDED Requirements\n"
    kinds = [i.kind for i in structure_issues(text)]
    assert kinds == ["requirement-outside-requirements", "duplicate-requirement", "delta-header"]


@pytest.mark.parametrize(
    ("purpose", "placeholder"),
    [
        ("TBD", True),
        ("TODO write this later", True),
        ("todo: later", True),
        ("tbd.", True),
        ("Todo el sistema funciona", False),
        ("TBDs are fine words", False),
        ("TBD - created by archiving change x. Update Purpose after archive.", True),
        ("A real purpose that explains the capability.", False),
    ],
)
def test_placeholder_purpose(purpose: str, placeholder: bool) -> None:
    content = f"# x\n\n## Purpose\n{purpose}\n\n## Requirements\n"
    found, line = purpose_placeholder(purpose, content)
    assert found is placeholder
    assert line == (4 if placeholder else None)
