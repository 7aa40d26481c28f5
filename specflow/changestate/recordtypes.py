"""What a change's records hold: ``state.json`` and the lines of ``history.jsonl``, typed, and the
JSON type each key specflow reads must have when a record is read back (a hand edit, a merge);
and where they are kept, in the change's ``.specflow`` folder, at which version."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal, NotRequired, TypedDict

STATE_DIR = ".specflow"
STATE_FILE = "state.json"
HISTORY_FILE = "history.jsonl"
#: Running totals of the history (costs, last event), kept by ``append_event`` so ``status`` reads
#: one small file instead of parsing every event; valid only for the history it was written with.
SUMMARY_FILE = "summary.json"
STATE_VERSION = 1

#: How a history event ended.  ``created``/``adopted``: the change came under a workflow;
#: ``succeeded``/``failed``: a phase ran; ``blocked``: a given step did not hold, nothing ran;
#: ``interrupted``: a run was killed mid-phase; ``approved``/``rejected``/``reverted``/``repos``/
#: ``discarded``/``reopened`` (a discarded change restored)/``restored`` (work an audit saved, put
#: back): a person acted.
Outcome = Literal[
    "created",
    "adopted",
    "approved",
    "rejected",
    "succeeded",
    "failed",
    "blocked",
    "interrupted",
    "reverted",
    "repos",
    "discarded",
    "restored",
    "reopened",
]

#: What ``specflow`` was doing to a change when it stopped: written before the agent starts.
InFlight = TypedDict(
    "InFlight",
    {
        "trigger": str,
        "from": str,
        "to": str,
        "scenario": str,
        "started": str,
        "pid": int,
        "host": str,
        "attempt": int,
        "checkpoint": int,
        "session_id": str | None,
        "agent_tree": dict[str, Any],
    },
    total=False,
)


class LastFailure(TypedDict):
    """Why the last attempt failed: shown by ``status`` and fed to the next prompt."""

    phase: str | None
    reasons: list[str]
    at: str
    session_id: str | None


class Approval(TypedDict):
    """A person's approval, bound to a digest of the artifacts it approved."""

    by: str
    at: str
    state: str
    note: str | None
    digest: str
    voided: NotRequired[str]
    """Why the approval no longer counts (a rejection, a step back before it); absent while it stands."""
    voided_at: NotRequired[str]


class Discarded(TypedDict):
    """Why and when a change was given up, and whether its branches went with it."""

    at: str
    by: str
    reason: str | None
    branches_deleted: bool


class Rejection(TypedDict):
    """A person sent the change back, saying why."""

    by: str
    note: str | None


class StateRecord(TypedDict, total=False):
    """``state.json``: where the change stands."""

    version: int
    workflow: str
    state: str
    created: str
    updated: str
    repos: list[str]
    approvals: list[Approval]
    in_flight: InFlight | None
    last_failure: LastFailure | None
    discarded: Discarded | None


#: One line of ``history.jsonl``.  Every event has ``time``, ``trigger``, ``from``, ``to`` and
#: ``outcome``; a phase attempt adds what it ran and found.
HistoryEvent = TypedDict(
    "HistoryEvent",
    {
        "time": str,
        "machine": str,
        "trigger": str | None,
        "from": str | None,
        "to": str | None,
        "outcome": Outcome,
        "scenario": str,
        "attempt": int,
        "workflow": str,
        "given": list[dict[str, Any]],
        "then": list[dict[str, Any]],
        "reasons": list[str],
        "reason": str,
        "gate": dict[str, Any],
        "checkpoint": Any,
        "prompt_sha256": str,
        "agent": dict[str, Any],
        "gate_violations": list[dict[str, Any]],
        "rejected": dict[str, Any],
        "record": str,
        "actions": list[dict[str, Any]],
        "duration_s": float,
        "approval": Approval,
        "rejection": Rejection,
        "started": str,
        "undo_checkpoint": int,
        "restored": dict[str, int],
        "repos": list[str],
        "cleanup_warning": str,
        "sandbox": str | None,
        "stopped_processes": list[int],
        "worktrees_removed": list[str],
        "approvals_voided": list[Approval],
        "discarded": Discarded,
        "moved_to": str,
        "branches_deleted": list[str],
        "branches_kept": list[str],
        "stopped": str,
        "commits": dict[str, str],
    },
    total=False,
)


#: Outcomes that count as an attempt at a phase (numbering, resuming a session).
ATTEMPTS: tuple[Outcome, ...] = ("failed", "interrupted", "succeeded")


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str_or_null(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _is_object_or_null(value: Any) -> bool:
    return value is None or isinstance(value, dict)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


FieldCheck = tuple[str, str, Callable[[Any], bool]]

#: The keys of ``state.json`` that specflow reads, with the JSON type each must have.
STATE_FIELDS: tuple[FieldCheck, ...] = (
    ("version", "a whole number", _is_int),
    ("workflow", "a string", _is_str),
    ("state", "a string", _is_str),
    ("created", "a string", _is_str),
    ("updated", "a string", _is_str),
    ("repos", "a list of strings", _is_strings),
    ("approvals", "a list of objects", _is_objects),
    ("in_flight", "an object or null", _is_object_or_null),
    ("last_failure", "an object or null", _is_object_or_null),
    ("discarded", "an object or null", _is_object_or_null),
)

#: The keys of a history line that specflow reads, with the JSON type each must have.
EVENT_FIELDS: tuple[FieldCheck, ...] = (
    ("time", "a string", _is_str),
    ("trigger", "a string or null", _is_str_or_null),
    ("from", "a string or null", _is_str_or_null),
    ("to", "a string or null", _is_str_or_null),
    ("outcome", "a string", _is_str),
    ("scenario", "a string", _is_str),
    ("attempt", "a whole number", _is_int),
    ("reasons", "a list of strings", _is_strings),
    ("agent", "an object", lambda v: isinstance(v, dict)),
    ("approval", "an object", lambda v: isinstance(v, dict)),
    ("gate_violations", "a list of objects", _is_objects),
    ("checkpoint", "an object, a number or null", lambda v: v is None or isinstance(v, dict | int)),
)


def json_type(value: Any) -> str:
    """How JSON calls the type of ``value``, with the value when short: ``a number (3)``."""
    if value is None:
        return "null"
    name = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}
    kind = name.get(type(value), type(value).__name__)
    shown = json.dumps(value)
    return f"{kind} ({shown})" if len(shown) <= 40 and not isinstance(value, dict | list) else kind


def line_of(text: str, key: str) -> int:
    """The line of ``text`` where ``key`` is first written as a key (1 when it cannot be found)."""
    needle = json.dumps(key) + ":"
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line.replace('" :', '":'):
            return number
    return 1
