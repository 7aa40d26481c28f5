"""``specflow guard``: a Claude Code PreToolUse hook that refuses writes outside the phase's gate.

Claude Code runs the hook before every Write, Edit, MultiEdit and NotebookEdit call, with the call
as JSON on stdin (``tool_name``, ``tool_input``, ``cwd``, ...).  The gate comes from ``--gate FILE``
or the ``SPECFLOW_GATE`` environment variable (``GatePolicy.to_json()``).  A call whose target,
resolved against the hook's ``cwd`` with symlinks followed, lies outside the gate is refused with a
``permissionDecision: deny`` that tells the agent what it may write instead.  Anything else gets no
answer at all, so Claude Code's own permission rules still decide (an ``allow`` would override
them).  When the hook cannot tell — no gate, unreadable input — it refuses (exit code 2): a
guard that fails open is no guard.

Run as ``python -m specflow.agents.claude.hook [--gate FILE]`` or ``specflow guard [--gate FILE]``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from specflow.workspace.gates import GatePolicy

# Claude Code starts this module once per writing tool call: it imports neither typing nor
# dataclasses (with inspect), which would double its start.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

GATE_ENV = "SPECFLOW_GATE"
#: Prefix of every refusal, so the stream parser can tell a guard refusal from a tool error.
GUARD_PREFIX = "specflow gate:"
#: The tools that write files, and the input field naming the file each one writes.
WRITE_TOOLS: dict[str, str] = {
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "NotebookEdit": "notebook_path",
}


class GuardInputError(Exception):
    """The hook was given something it cannot judge (no gate, malformed input)."""


class Decision:
    """A refusal: the reason goes back to the agent."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Decision) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(self.reason)

    def __repr__(self) -> str:
        return f"Decision(reason={self.reason!r})"

    def to_hook_output(self) -> dict[str, Any]:
        """The PreToolUse answer Claude Code understands."""
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": self.reason,
            }
        }


def _phase_words(gate: GatePolicy) -> str:
    if gate.phase and gate.change_id:
        return f"the {gate.phase} phase of change {gate.change_id}"
    if gate.phase:
        return f"the {gate.phase} phase"
    return "this phase"


def refusal_reason(gate: GatePolicy, tool: str, path: str) -> str:
    """What the agent is told when a write is refused: why, and what it may write instead."""
    return (
        f"{GUARD_PREFIX} {tool} of {path} refused: it is outside what {_phase_words(gate)} may"
        f" write.\n{gate.describe()}\n"
        "Do not try to write it another way (the workspace is audited and out-of-gate changes are"
        " reverted); if the work needs it, say so in your final answer."
    )


def decide(hook_input: Mapping[str, Any], gate: GatePolicy) -> Decision | None:
    """The guard's verdict on one PreToolUse call: a refusal, or None to let it through."""
    tool = str(hook_input.get("tool_name") or "")
    field = WRITE_TOOLS.get(tool)
    if field is None:
        return None
    tool_input = hook_input.get("tool_input")
    if not isinstance(tool_input, Mapping):
        tool_input = {}
    path = tool_input.get(field)
    if not isinstance(path, str) or not path.strip():
        return Decision(f"{GUARD_PREFIX} {tool} without a '{field}' refused.\n{gate.describe()}")
    cwd_value = hook_input.get("cwd")
    cwd = Path(cwd_value) if isinstance(cwd_value, str) and cwd_value else Path.cwd()
    if gate.allows(path, cwd=cwd):
        return None
    return Decision(refusal_reason(gate, tool, path))


def load_gate(gate_file: str | None, environ: Mapping[str, str]) -> GatePolicy:
    """The gate from ``--gate FILE``, else from ``$SPECFLOW_GATE``."""
    if gate_file:
        try:
            text = Path(gate_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise GuardInputError(f"cannot read the gate file {gate_file}: {exc}") from None
        source = gate_file
    elif environ.get(GATE_ENV):
        text, source = environ[GATE_ENV], f"${GATE_ENV}"
    else:
        raise GuardInputError(f"no gate: pass --gate FILE or set {GATE_ENV}")
    try:
        return GatePolicy.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise GuardInputError(f"the gate in {source} is not a valid gate: {exc}") from None


def run_hook(
    stdin: IO[str],
    stdout: IO[str],
    stderr: IO[str],
    *,
    gate_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Answer one PreToolUse call: 0 (with a deny answer, or none), or 2 when it cannot judge."""
    env = os.environ if environ is None else environ
    try:
        gate = load_gate(gate_file, env)
        try:
            hook_input = json.loads(stdin.read())
        except json.JSONDecodeError as exc:
            raise GuardInputError(f"the hook input is not JSON: {exc}") from None
        if not isinstance(hook_input, dict):
            raise GuardInputError("the hook input is not a JSON object")
        decision = decide(hook_input, gate)
    except (GuardInputError, RecursionError) as exc:
        # Exit code 2 blocks the call; Claude Code hands stderr to the model.
        stderr.write(f"{GUARD_PREFIX} refused: specflow guard could not check this call: {exc}\n")
        return 2
    except Exception as exc:  # a guard that fails open is no guard: any surprise refuses the call
        stderr.write(f"{GUARD_PREFIX} refused: specflow guard failed on this call ({type(exc).__name__}: {exc})\n")
        return 2
    if decision is not None:
        stdout.write(json.dumps(decision.to_hook_output()) + "\n")
    return 0


USAGE = f"usage: specflow guard [--gate FILE]  (the gate as JSON; default: ${GATE_ENV})"


def _parse_args(argv: Sequence[str]) -> str | None:
    """The ``--gate`` file, or None for the environment's; a usage error exits 2 (refused).

    Read by hand, not with argparse: the guard starts once per writing tool call.
    """
    args = list(argv)
    if args and args[0] in ("-h", "--help"):
        sys.stdout.write(USAGE + "\nClaude Code PreToolUse hook: refuse writes outside the phase's gate.\n")
        raise SystemExit(0)
    if not args:
        return None
    if len(args) == 2 and args[0] == "--gate":
        return args[1]
    if len(args) == 1 and args[0].startswith("--gate="):
        return args[0].removeprefix("--gate=")
    sys.stderr.write(f"{GUARD_PREFIX} refused: unexpected arguments {' '.join(args)!r}; {USAGE}\n")
    raise SystemExit(2)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m specflow.agents.claude.hook [--gate FILE]``."""
    gate_file = _parse_args(sys.argv[1:] if argv is None else argv)
    return run_hook(sys.stdin, sys.stdout, sys.stderr, gate_file=gate_file)


if __name__ == "__main__":
    sys.exit(main())
