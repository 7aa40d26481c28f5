"""Change ids: OpenSpec's rules and messages (the first message is exactly OpenSpec's)."""

from __future__ import annotations

import pytest

from specflow.errors import ChangeIdError
from specflow.ids import change_id_problems, check_change_id


@pytest.mark.parametrize(
    ("cid", "first"),
    [
        ("", "Change name cannot be empty"),
        ("a" * 201, "Change name is too long (200 characters max)"),
        ("Add-Auth", "Change name must be lowercase (use kebab-case)"),
        ("add auth", "Change name cannot contain spaces (use hyphens instead)"),
        ("add_auth", "Change name cannot contain underscores (use hyphens instead)"),
        ("-add", "Change name cannot start with a hyphen"),
        ("add-", "Change name cannot end with a hyphen"),
        ("add--auth", "Change name cannot contain consecutive hyphens"),
        ("add.auth", "Change name can only contain lowercase letters, numbers, and hyphens"),
    ],
)
def test_first_problem_is_openspecs_message(cid: str, first: str) -> None:
    assert change_id_problems(cid)[0] == first
    with pytest.raises(ChangeIdError) as info:
        check_change_id(cid)
    assert first in info.value.message and info.value.fix


def test_every_rule_broken_is_named() -> None:
    assert change_id_problems("../X_y") == [
        "Change name must be lowercase (use kebab-case)",
        "Change name cannot contain underscores (use hyphens instead)",
        "Change name can only contain lowercase letters, numbers, and hyphens",
        "Change name cannot contain path separators or '..'",
    ]


@pytest.mark.parametrize("cid", ["a", "add-auth", "2026-01-01-fix", "x" * 200])
def test_valid_ids(cid: str) -> None:
    assert change_id_problems(cid) == [] and check_change_id(cid) == cid
