"""The scripted demo agent: ``python -m specflow.demo.agent``.

A ``command`` agent that plays every phase of the built-in ``openspec`` workflow on the example
hub shipped with specflow (``examples/hub/``), so ``specflow demo`` runs end to end with no API
key and no network.  It does real work, deterministically and fast:

- explore: reads the specs and the code and answers with exploration notes (stdout);
- propose: writes ``proposal.md``, ``design.md``, ``tasks.md`` and a delta spec that passes
  OpenSpec's strict validation;
- apply: changes code and tests in each repo's worktree, ticks every task in the hub's
  ``tasks.md`` through the worktree's ``openspec`` link, runs the tests and commits on the
  change's branch.  On its *first* attempt it also edits a living spec directly, outside its
  gate, as an over-eager agent would: the sandbox refuses the write at the system call (the
  agent reports ``Refused ...`` and carries on), or, where no sandbox layer runs, specflow's
  audit puts the file back and fails the attempt, and the retry, seeing "Why the last attempt
  failed" in its prompt, stays inside;
- archive: brings the hub's ``shared/api.md`` up to date.

It reads the prompt on stdin and ``SPECFLOW_PHASE``, ``SPECFLOW_CHANGE``, ``SPECFLOW_HUB``,
``SPECFLOW_GATE`` and ``SPECFLOW_CWD`` from the environment; its stdout is the final answer and
each stderr line (``Read ...``, ``Write ...``, ``Edit ...``, ``Bash ...``) is a progress event.

This module is the agent's entry point: it reads what specflow hands it, runs the phase and
answers; it holds the archive phase too.  The other phases are ``agent_explore``,
``agent_propose`` and ``agent_apply``; the ``Run`` they share is ``agent_tools``'.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from specflow.demo.agent_apply import apply
from specflow.demo.agent_explore import explore
from specflow.demo.agent_propose import propose
from specflow.demo.agent_tools import DemoAgentError, Run

# -- archive ----------------------------------------------------------------------------------


def archive(run: Run) -> str:
    """Bring the shared API doc up to date; specflow merges the deltas itself."""
    doc = run.hub / "shared" / "api.md"
    if not doc.is_file():
        return "Nothing to update: the hub has no shared/api.md.\n"
    text = run.read(doc)
    row = '| GET    | `/greet`  | `200 {"greeting": "Hello, <name>!"}` | `openspec/specs/greetings/`    |\n'
    if "`/greet`" not in text:
        anchor = "| *      | other"
        if anchor not in text:
            run.write(doc, text.rstrip("\n") + "\n" + row)
        else:
            run.edit(doc, anchor, row + anchor)
    return (
        "Updated `shared/api.md`: it lists `GET /greet` with its answer and its spec.\n"
        "`CLAUDE.md` needs no change: conventions and commands are the same.\n"
    )


PHASES: dict[str, Callable[[Run], str]] = {
    "explore": explore,
    "propose": propose,
    "apply": apply,
    "archive": archive,
}


def main(environ: Mapping[str, str] | None = None) -> int:
    """Run the phase named by ``SPECFLOW_PHASE``; 0 on success, 1 when the agent fails."""
    env = os.environ if environ is None else environ
    missing = [k for k in ("SPECFLOW_PHASE", "SPECFLOW_CHANGE", "SPECFLOW_HUB") if not env.get(k)]
    if missing:
        sys.stderr.write(
            f"demo agent: {', '.join(missing)} not set; specflow runs this agent"
            " (python -m specflow.demo.agent) with the prompt on stdin\n"
        )
        return 2

    def log(line: str) -> None:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    phase = env["SPECFLOW_PHASE"]
    try:
        gate = json.loads(env.get("SPECFLOW_GATE") or "{}")
    except json.JSONDecodeError:
        gate = {}
    run = Run(
        phase=phase,
        change_id=env["SPECFLOW_CHANGE"],
        hub=Path(env["SPECFLOW_HUB"]),
        cwd=Path(env.get("SPECFLOW_CWD") or os.getcwd()),
        gate=gate if isinstance(gate, dict) else {},
        prompt=sys.stdin.read(),
        log=log,
    )
    handler = PHASES.get(phase)
    if handler is None:
        log(f"demo agent: no script for phase {phase!r} (known: {', '.join(PHASES)})")
        return 1
    try:
        answer = handler(run)
    except (DemoAgentError, OSError, subprocess.SubprocessError) as exc:
        log(f"demo agent: {exc}")
        return 1
    sys.stdout.write(answer)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
