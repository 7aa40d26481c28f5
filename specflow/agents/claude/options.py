"""The ``claude-code`` adapter's own options, checked, and the command line of one run.

The options are what ``agents.<name>.options`` in ``specflow.yaml`` says of the adapter — not
Claude Code's settings file, which ``specflow.agents.claude.settings`` generates from the gate.
They sit below the adapter and its session with the command line they shape, which the
benchmark builds without the adapter:

``binary``            the Claude Code executable (also ``agents.<name>.binary``)
``hook``              false to leave out the guard hook (the permission rules alone hold the gate)
``allow_bash``        false to limit Bash to read-only commands in writing phases too
``allowed_tools``     extra permission allow rules, e.g. ``["WebFetch(domain:docs.python.org)"]``
``disallowed_tools``  tools to remove, e.g. ``["WebSearch"]``
``deny``              extra permission deny rules
``extra_args``        more CLI arguments (flags that would weaken the gate are refused)
``resume_fallback``   false to fail, instead of starting afresh, when the session to resume is gone
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from specflow.agents.base import AgentRequest
from specflow.agents.claude.settings import gate_note
from specflow.errors import AgentError
from specflow.structs import Struct, field

#: Flags that would skip the hook, bypass permissions or replace the generated settings.
FORBIDDEN_ARGS = frozenset(
    {
        "--bare",
        "--dangerously-skip-permissions",
        "--allow-dangerously-skip-permissions",
        "--permission-mode",
        "--permission-prompt-tool",
        "--settings",
        "--setting-sources",
        "--safe-mode",
        "--add-dir",
        "--allowedTools",
        "--allowed-tools",
        "--mcp-config",
        "--plugin-dir",
        "--plugin-url",
        "-p",
        "--print",
        "--output-format",
        "--input-format",
    }
)
KNOWN_OPTIONS = frozenset(
    {
        "binary",
        "hook",
        "allow_bash",
        "allowed_tools",
        "disallowed_tools",
        "deny",
        "extra_args",
        "resume_fallback",
    }
)
#: Keys the engine may pass through from the agent configuration that this adapter ignores.
_IGNORED_OPTIONS = frozenset({"command", "adapter", "model", "max_turns", "timeout", "budget_usd", "env"})


def _str_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise AgentError(
        f"claude-code option {name!r} must be a list of strings, not {value!r}",
        fix=f'write it as {name}: ["..."] under the agent\'s options in specflow.yaml',
    )


def _flag(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    raise AgentError(
        f"claude-code option {name!r} must be true or false, not {value!r}",
        fix=f"write {name}: true or {name}: false under the agent's options in specflow.yaml",
    )


class ClaudeOptions(Struct, frozen=True):
    """The adapter's options, checked."""

    binary: str | None = None
    hook: bool = True
    allow_bash: bool = True
    allowed_tools: tuple[str, ...] = ()
    disallowed_tools: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()
    resume_fallback: bool = True
    unknown: tuple[str, ...] = field(default=())

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> ClaudeOptions:
        extra = _str_list(options.get("extra_args"), "extra_args")
        for arg in extra:
            flag = arg.split("=", 1)[0]
            if flag in FORBIDDEN_ARGS:
                raise AgentError(
                    f"claude-code option extra_args may not contain {flag!r}: specflow sets it to"
                    " keep the agent inside the phase's gate",
                    fix=f"remove {flag!r} from extra_args in specflow.yaml",
                )
        binary = options.get("binary")
        return cls(
            binary=str(binary) if binary else None,
            hook=_flag(options.get("hook"), "hook", True),
            allow_bash=_flag(options.get("allow_bash"), "allow_bash", True),
            allowed_tools=tuple(_str_list(options.get("allowed_tools"), "allowed_tools")),
            disallowed_tools=tuple(_str_list(options.get("disallowed_tools"), "disallowed_tools")),
            deny=tuple(_str_list(options.get("deny"), "deny")),
            extra_args=tuple(extra),
            resume_fallback=_flag(options.get("resume_fallback"), "resume_fallback", True),
            unknown=tuple(sorted(k for k in options if k not in KNOWN_OPTIONS and k not in _IGNORED_OPTIONS)),
        )


def command(
    binary: Path,
    request: AgentRequest,
    options: ClaudeOptions,
    settings_file: Path,
    phase_args: Iterable[str],
    resume: str | None,
) -> list[str]:
    """The argv of one run (the prompt goes to stdin)."""
    argv = [
        str(binary),
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--setting-sources",
        "",
        "--settings",
        str(settings_file),
        "--strict-mcp-config",
        *phase_args,
        "--append-system-prompt",
        gate_note(request.gate),
    ]
    if request.model:
        argv += ["--model", request.model]
    if request.max_turns:
        argv += ["--max-turns", str(int(request.max_turns))]
    if request.budget_usd:
        argv += ["--max-budget-usd", repr(float(request.budget_usd))]
    if resume:
        argv += ["--resume", resume]
    argv += list(options.extra_args)
    return argv


__all__ = ["ClaudeOptions", "command"]
