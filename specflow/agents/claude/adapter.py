"""The ``claude-code`` adapter: one phase attempt run by the real Claude Code CLI, headless.

The CLI runs as ``claude -p --output-format stream-json --verbose`` with the rendered prompt on
stdin, in the phase's workspace, with settings generated from the phase's gate
(``specflow.agents.claude.settings``: ``dontAsk`` mode, ``Edit(//...)`` allow rules, the
``specflow guard`` PreToolUse hook) and ``--setting-sources ""`` so no user or project settings
file can widen the gate.  Its stream is parsed line by line as it arrives
(``specflow.agents.claude.stream``), events go to the callback, and the raw stream is kept as the
attempt's transcript in ``request.transcript_dir`` (Claude Code keeps its own in
``$HOME/.claude/projects/<cwd slug>/<session>.jsonl``, which ``--resume`` reads).

A failed attempt is a result, not an exception: a non-zero exit, an error result
(``error_max_turns``, ``error_max_budget_usd``, ``error_during_execution``), a crash or a run past
the time limit — which kills Claude Code and every process it started.  Only a binary that cannot
be found or started, or bad adapter options, raise ``AgentError``.

The adapter's options and the command line they shape are ``specflow.agents.claude.options``'s;
the run itself, from its launch to its result, is a ``ClaudeSession``
(``specflow.agents.claude.session``).
"""

from __future__ import annotations

import os
from pathlib import Path

from specflow.agents.base import AgentEvent, AgentRequest, AgentResult, EventCallback, ignore_event
from specflow.agents.claude.binary import find_binary
from specflow.agents.claude.options import ClaudeOptions
from specflow.agents.claude.session import ClaudeSession
from specflow.errors import AgentError

#: Environment variables that would turn off hooks (bare / safe mode) or refuse a nested run.
DROPPED_ENV = ("CLAUDE_CODE_SIMPLE", "CLAUDE_CODE_SAFE_MODE", "CLAUDECODE")


class ClaudeCodeAdapter:
    """Runs a phase attempt with the real Claude Code CLI, inside the phase's gate."""

    name = "claude-code"

    def run(self, request: AgentRequest, on_event: EventCallback = ignore_event) -> AgentResult:
        """Run Claude Code once; raise ``AgentError`` only if it cannot be started at all."""
        return self.start(request, on_event).finish(request.prompt)

    def start(self, request: AgentRequest, on_event: EventCallback = ignore_event) -> ClaudeSession:
        """Start Claude Code for ``request``; it waits for its prompt on stdin, which ``finish`` sends.

        Claude Code writes nothing in its working directory before it has read its prompt (only
        under its own ``~/.claude``), so the phase's checkpoint is taken while its runtime loads.
        """
        options = ClaudeOptions.from_mapping(request.options)
        env = self._environment(request, on_event)
        binary = find_binary(options.binary, env)
        if options.unknown:
            on_event(
                AgentEvent(
                    "warning",
                    "unknown claude-code options ignored: " + ", ".join(options.unknown),
                    {"unknown": list(options.unknown)},
                )
            )
        if not Path(request.cwd).is_dir():
            raise AgentError(
                f"the phase's working directory {request.cwd} does not exist",
                fix="check the change's workspace (specflow workspace <id>) and run the phase again",
            )
        return ClaudeSession(request, options, binary, env, on_event)

    # -- pieces ----------------------------------------------------------------------------

    @staticmethod
    def _environment(request: AgentRequest, on_event: EventCallback) -> dict[str, str]:
        env = {**os.environ, **request.env}
        for name in DROPPED_ENV:
            if env.pop(name, None) is not None and name != "CLAUDECODE":
                on_event(AgentEvent("warning", f"{name} is set; it was removed (it turns off hooks)"))
        env.update(
            {
                "SPECFLOW_GATE": request.gate.to_json(),
                "SPECFLOW_CHANGE": request.change_id,
                "SPECFLOW_PHASE": request.phase,
                "SPECFLOW_HUB": str(request.hub),
            }
        )
        return env


__all__ = ["ClaudeCodeAdapter"]
