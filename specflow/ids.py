"""Change ids, checked with OpenSpec's rules before they ever become paths.

A change id is kebab-case (``^[a-z0-9]+(?:-[a-z0-9]+)*$``) of at most 200 characters.  The messages
are OpenSpec's own (``openspec new change``), in OpenSpec's order, so the first one is exactly what
OpenSpec would say; specflow adds one of its own for path traversal.
"""

from __future__ import annotations

import re

from specflow.errors import ChangeIdError

CHANGE_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
MAX_CHANGE_ID = 200


def change_id_problems(change_id: str) -> list[str]:
    """One message per rule ``change_id`` breaks (empty when valid); the first is OpenSpec's."""
    if not change_id:
        return ["Change name cannot be empty"]
    problems: list[str] = []
    if len(change_id) > MAX_CHANGE_ID:
        problems.append(f"Change name is too long ({MAX_CHANGE_ID} characters max)")
    if CHANGE_ID_RE.match(change_id):
        return problems
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
    if re.search(r"[^a-z0-9-]", change_id):
        problems.append("Change name can only contain lowercase letters, numbers, and hyphens")
    if "/" in change_id or "\\" in change_id or ".." in change_id:
        problems.append("Change name cannot contain path separators or '..'")
    if len(problems) == (1 if len(change_id) > MAX_CHANGE_ID else 0):
        problems.append("Change name must follow kebab-case convention (e.g., add-auth, refactor-db)")
    return problems


def check_change_id(change_id: str) -> str:
    """Return ``change_id`` if it is valid, else raise ``ChangeIdError`` naming every rule broken."""
    problems = change_id_problems(change_id)
    if problems:
        raise ChangeIdError(
            f"invalid change id {change_id!r}: " + "; ".join(problems),
            fix="use kebab-case: lowercase letters and digits separated by single hyphens, e.g. 'add-user-auth'",
        )
    return change_id
