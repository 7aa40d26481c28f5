"""Human approval of a proposal, bound to the exact artifacts that were approved.

An approval records who approved, when, in which state, and a digest of the change's artifacts.
If the artifacts change afterwards (an agent retry rewrote the proposal), the approval no longer
counts and must be given again.  A rejection, or any step back to a state before the one it was
given in, voids it for good: even the same proposal must be approved again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

from specflow import digests
from specflow.changestate.records import now_iso
from specflow.changestate.recordtypes import STATE_DIR, Approval, StateRecord
from specflow.errors import StateError

# The artifacts a person approves; the engine's own records are not part of it.
_APPROVED = ("proposal.md", "design.md", "tasks.md")
# A ticked checkbox in tasks.md is progress, not a new proposal: the digest reads every box as open,
# so a failed apply that ticked some tasks does not void the approval for its retry.
_TICKED = re.compile(rb"(?m)^([ \t]*(?:[-*+]|[0-9]{1,9}[.)])[ \t]*)\[[xX]\]")


def artifacts_digest(change_dir: Path) -> str:
    """sha256 over the proposal, design, tasks and delta specs, in a stable order."""
    h = digests.sha256()
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


#: Triggers that say "no" to what was proposed: firing one voids the approvals, whatever its outcome.
REJECTIONS = ("reject",)


def make_approval(change_dir: Path, change_id: str, state: str, by: str, note: str | None) -> Approval:
    """An approval of the change as it is now; refused when there is no proposal to approve."""
    if not (change_dir / "proposal.md").is_file():
        raise StateError(
            f"change '{change_id}' has no proposal.md in {change_dir}: there is nothing to approve yet"
            f" (state {state!r})",
            fix=f"advance it until its proposal is written (specflow advance {change_id}), read it, then approve",
        )
    return Approval(by=by, at=now_iso(), state=state, note=note, digest=artifacts_digest(change_dir))


def _standing(record: StateRecord) -> list[Approval]:
    return [a for a in record.get("approvals") or [] if "voided" not in a]


def void_reason(
    states: Sequence[str], record: StateRecord, trigger: str, to_state: str, *, succeeded: bool
) -> str | None:
    """Why firing ``trigger`` towards ``to_state`` voids the standing approvals, or None.

    ``states`` are the workflow's states in their declared order: a state declared before the one
    an approval was given in is "back before the approval".
    """
    standing = _standing(record)
    if not standing:
        return None
    here = record.get("state")
    if trigger in REJECTIONS:
        return f"rejected ({trigger}: {here} -> {to_state})"
    given_in = standing[-1].get("state")
    if succeeded and to_state in states and given_in in states and states.index(to_state) < states.index(given_in):
        return f"the change went back from {here!r} to {to_state!r} ({trigger})"
    return None


def current_approval(record: StateRecord, change_dir: Path) -> tuple[Approval | None, str]:
    """The approval that still holds for the change as it is now, or None and the reason."""
    approvals = record.get("approvals") or []
    if not approvals:
        return None, "nobody has approved the proposal yet"
    last = approvals[-1]
    if "voided" in last:
        return None, f"the approval by {last.get('by')} at {last.get('at')} was voided: {last['voided']}"
    if last.get("state") != record.get("state"):
        return None, (
            f"the last approval was given in state {last.get('state')!r}, the change is now in {record.get('state')!r}"
        )
    if last.get("digest") != artifacts_digest(change_dir):
        return None, f"the proposal changed after {last.get('by')} approved it at {last.get('at')}"
    return last, f"approved by {last.get('by')} at {last.get('at')}"


class ApprovalView(TypedDict):
    """An approval as ``status`` shows it: does it hold, and the words to say so."""

    holds: bool
    voided: bool
    by: str
    at: str
    state: str
    text: str


def approval_view(record: StateRecord, change_dir: Path) -> ApprovalView | None:
    """The last approval and whether it still holds, in words (None when nobody approved)."""
    approvals = record.get("approvals") or []
    if not approvals:
        return None
    last = approvals[-1]
    by, at, state = str(last.get("by")), str(last.get("at"))[:19].replace("T", " "), str(last.get("state"))
    view = ApprovalView(holds=False, voided=True, by=by, at=at, state=state, text="")
    if "voided" in last:
        view["text"] = f"approval voided: {last['voided']} (after {by} approved it at {at})"
    elif last.get("state") != record.get("state"):
        view["voided"] = False
        view["text"] = f"approved by {by} at {at} (in {state})"
    elif last.get("digest") != artifacts_digest(change_dir):
        view["text"] = f"approval voided: the proposal changed after {by} approved it at {at}"
    else:
        view["holds"] = True
        view["voided"] = False
        view["text"] = f"approved by {by} at {at}"
    return view
