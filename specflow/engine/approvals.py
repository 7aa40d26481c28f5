"""Human approval of a proposal, bound to the exact artifacts that were approved.

An approval records who approved, when, in which state, and a digest of the change's artifacts.
If the artifacts change afterwards (an agent retry rewrote the proposal), the approval no longer
counts and must be given again.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from pathlib import Path

from specflow.engine.records import STATE_DIR, Approval, StateRecord, now_iso
from specflow.workspace.git import config_value

# The artifacts a person approves; the engine's own records are not part of it.
_APPROVED = ("proposal.md", "design.md", "tasks.md")
# A ticked checkbox in tasks.md is progress, not a new proposal: the digest reads every box as open,
# so a failed apply that ticked some tasks does not void the approval for its retry.
_TICKED = re.compile(rb"(?m)^([ \t]*(?:[-*+]|[0-9]{1,9}[.)])[ \t]*)\[[xX]\]")


def artifacts_digest(change_dir: Path) -> str:
    """sha256 over the proposal, design, tasks and delta specs, in a stable order."""
    h = hashlib.sha256()
    files = [change_dir / name for name in _APPROVED]
    specs = change_dir / "specs"
    if specs.is_dir():
        files.extend(sorted(p for p in specs.rglob("*") if p.is_file()))
    for p in files:
        if not p.is_file() or STATE_DIR in p.relative_to(change_dir).parts:
            continue
        data = p.read_bytes()
        if p.parent == change_dir and p.name == "tasks.md":
            data = _TICKED.sub(rb"\1[ ]", data)
        h.update(p.relative_to(change_dir).as_posix().encode() + b"\0")
        h.update(data + b"\0")
    return h.hexdigest()


def who_am_i(cwd: Path | None = None) -> str:
    """The approver's name: git's user.name, else the login name."""
    name = config_value("user.name", cwd)
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def make_approval(change_dir: Path, state: str, by: str, note: str | None) -> Approval:
    return Approval(by=by, at=now_iso(), state=state, note=note, digest=artifacts_digest(change_dir))


def current_approval(record: StateRecord, change_dir: Path) -> tuple[Approval | None, str]:
    """The approval that still holds for the change as it is now, or None and the reason."""
    approvals = record.get("approvals") or []
    if not approvals:
        return None, "nobody has approved the proposal yet"
    last = approvals[-1]
    if last.get("state") != record.get("state"):
        return None, (
            f"the last approval was given in state {last.get('state')!r}, the change is now in {record.get('state')!r}"
        )
    if last.get("digest") != artifacts_digest(change_dir):
        return None, f"the proposal changed after {last.get('by')} approved it at {last.get('at')}"
    return last, f"approved by {last.get('by')} at {last.get('at')}"
