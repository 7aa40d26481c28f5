"""Change ids, checked with OpenSpec's rules before they ever become paths."""

from __future__ import annotations

import re

from specflow.errors import ChangeIdError

CHANGE_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_CHANGE_ID = 200


def change_id_problems(change_id: str) -> list[str]:
    """Return one message per OpenSpec naming rule that ``change_id`` breaks (empty: valid)."""
    problems: list[str] = []
    if not change_id:
        return ["Change name cannot be empty"]
    if len(change_id) > MAX_CHANGE_ID:
        problems.append(f"Change name must be at most {MAX_CHANGE_ID} characters")
    if "/" in change_id or "\\" in change_id or ".." in change_id:
        problems.append("Change name cannot contain path separators or '..'")
    if re.search(r"[A-Z]", change_id):
        problems.append("Change name must be lowercase (use kebab-case)")
    if re.search(r"\s", change_id):
        problems.append("Change name cannot contain spaces (use hyphens instead)")
    if "_" in change_id:
        problems.append("Change name cannot contain underscores (use hyphens instead)")
    if change_id.startswith("-"):
        problems.append("Change name cannot start with a hyphen")
    if change_id.endswith("-"):
        problems.append("Change name cannot end with a hyphen")
    if "--" in change_id:
        problems.append("Change name cannot contain consecutive hyphens")
    if not problems and not CHANGE_ID_RE.match(change_id):
        problems.append(
            "Change name must contain only lowercase letters, numbers, and single hyphens"
        )
    return problems


def check_change_id(change_id: str) -> str:
    """Return ``change_id`` if it is valid, else raise ``ChangeIdError`` naming every rule broken."""
    problems = change_id_problems(change_id)
    if problems:
        raise ChangeIdError(
            f"invalid change id {change_id!r}: " + "; ".join(problems),
            fix="use kebab-case: lowercase letters and digits separated by single hyphens,"
            " e.g. 'add-user-auth'",
        )
    return change_id
