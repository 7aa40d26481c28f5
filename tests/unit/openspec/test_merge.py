"""Applying a delta to a main spec in memory (OpenSpec's buildUpdatedSpec)."""

from __future__ import annotations

import pytest

from specflow.openspec.merge import build_updated_spec
from specflow.openspec.mergechecks import MergeError
from specflow.openspec.mergeops import spec_skeleton
from tests.unit.openspec.ostree import AUTH_SPEC, req


def _names(text: str) -> list[str]:
    return [line[len("### Requirement: ") :] for line in text.splitlines() if line.startswith("### Requirement: ")]


def test_order_positions_and_counts() -> None:
    delta = (
        "## ADDED Requirements\n"
        + req("Audit", "The system SHALL audit.")
        + "## RENAMED Requirements\n- FROM: `### Requirement: Login`\n- TO: `### Requirement: Sign in`\n"
        + "## MODIFIED Requirements\n"
        + req("Sign in", "The system SHALL sign in.", "Valid credentials", "Remember me")
        + "## REMOVED Requirements\n- ### Requirement: Logout\n"
    )
    built = build_updated_spec("auth", delta, AUTH_SPEC, "c")
    assert _names(built.rebuilt) == ["Sign in", "Audit"]
    assert built.counts.to_json() == {"added": 1, "modified": 1, "removed": 1, "renamed": 1}
    assert built.rebuilt.endswith("\n") and "\n\n\n" not in built.rebuilt


def test_new_spec_skeleton_and_purpose() -> None:
    built = build_updated_spec("billing", "## ADDED Requirements\n" + req("Pay"), None, "add-pay")
    assert built.rebuilt.startswith(
        "# billing Specification\n\n## Purpose\nTBD - created by archiving change add-pay."
        " Update Purpose after archive.\n\n## Requirements\n\n### Requirement: Pay\n"
    )
    purpose = "## Purpose\nBilling for every account on the platform, monthly and yearly.\n\n"
    built = build_updated_spec("billing", purpose + "## ADDED Requirements\n" + req("Pay"), None, "add-pay")
    assert "## Purpose\nBilling for every account" in built.rebuilt and built.warnings == []
    assert spec_skeleton("x", "c").count("\n") == 6


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        ("## MODIFIED Requirements\n" + req("Nope"), '"### Requirement: Nope" - not found'),
        ("## ADDED Requirements\n" + req("Login"), 'ADDED failed for header "### Requirement: Login" - already exists'),
        ("## REMOVED Requirements\n### Requirement: login\n", 'not found, but "### Requirement: Login" exists'),
        ("## RENAMED Requirements\nFROM: ### Requirement: X\nTO: ### Requirement: Y\n", "source not found"),
        ("## RENAMED Requirements\nFROM: ### Requirement: Login\nTO: ### Requirement: Logout\n", "already exists"),
        ("## ADDED Requirements\n" + req("logout"), "differs only in case or spacing"),
        ("## MODIFIED Requirements\n" + req("Login", "The system SHALL.", "Other"), "contains scenario(s)"),
        ("## ADDED Requirements\n" + req("A") + req("A"), "duplicate requirement in ADDED"),
        ("## ADDED Requirements\n" + req("A") + "## REMOVED Requirements\n### Requirement: A\n", "(ADDED and REMOVED)"),
        ("## RENAMED Requirements\nTO: ### Requirement: Y\n", "has no matching FROM:"),
        ("# nothing\n", "Delta parsing found no operations for auth"),
    ],
)
def test_refusals(delta: str, message: str) -> None:
    with pytest.raises(MergeError) as info:
        build_updated_spec("auth", delta, AUTH_SPEC, "c")
    assert message in str(info.value)


def test_new_spec_refuses_modified_and_warns_removed() -> None:
    with pytest.raises(MergeError, match="target spec does not exist"):
        build_updated_spec("x", "## MODIFIED Requirements\n" + req("A"), None, "c")
    delta = "## REMOVED Requirements\n### Requirement: Old\n## ADDED Requirements\n" + req("A")
    built = build_updated_spec("x", delta, None, "c")
    assert built.warnings == ["x - 1 REMOVED requirement(s) ignored for new spec (nothing to remove)."]


def test_reapplying_is_a_no_op() -> None:
    delta = "## ADDED Requirements\n" + req("Audit", "The system SHALL audit.")
    once = build_updated_spec("auth", delta, AUTH_SPEC, "c")
    twice = build_updated_spec("auth", delta, once.rebuilt, "c")
    assert twice.counts.total == 0 and twice.rebuilt == once.rebuilt


def test_structurally_invalid_target() -> None:
    broken = AUTH_SPEC + "\n## ADDED Requirements\n"
    with pytest.raises(MergeError, match="structurally invalid"):
        build_updated_spec("auth", "## ADDED Requirements\n" + req("A"), broken, "c")


def test_checks_only_mode_builds_no_text() -> None:
    built = build_updated_spec("auth", "## ADDED Requirements\n" + req("A"), AUTH_SPEC, "c", compose=False)
    assert built.rebuilt == "" and built.counts.added == 1


def test_case_twins_follow_the_merge_not_the_spec_as_it_was() -> None:
    rename = "## RENAMED Requirements\n- FROM: `### Requirement: Login`\n- TO: `### Requirement: Sign In`\n"
    # the renamed-away name no longer blocks an addition that differs from it only in case
    built = build_updated_spec("auth", rename + "## ADDED Requirements\n" + req("login"), AUTH_SPEC, "c")
    assert _names(built.rebuilt) == ["Sign In", "Logout", "login"]
    # the name the rename put in does
    with pytest.raises(MergeError) as refused:
        build_updated_spec("auth", rename + "## ADDED Requirements\n" + req("sign in"), AUTH_SPEC, "c")
    assert str(refused.value) == (
        'auth ADDED failed for header "### Requirement: sign in" - "### Requirement: Sign In" already exists and'
        " differs only in case or spacing; use MODIFIED with that exact header to change it, or choose a distinct"
        " name"
    )
