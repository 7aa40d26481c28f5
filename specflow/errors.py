"""The error hierarchy: every error a user can cause is a ``SpecflowError``.

The library raises these and never prints; the CLI turns them into a message and an exit code.
Each error says what was found, what was expected and how to fix it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SpecflowError(Exception):
    """Root of every error specflow raises on purpose (exit code 1 in the CLI)."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        if self.fix:
            return f"{self.message}\n  fix: {self.fix}"
        return self.message


class DefinitionError(SpecflowError):
    """A workflow, config or other definition file is invalid.

    Carries the file, line and key path so the message reads
    ``workflows/team.yaml:12: states.apply.workspace: unknown key 'wirte'``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        key_path: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.key_path = key_path
        where = ""
        if self.file:
            where = self.file + (f":{line}" if line else "") + ": "
        if key_path:
            where += f"{key_path}: "
        super().__init__(where + message, fix=fix)
        self.detail = message


class WorkflowError(DefinitionError):
    """A workflow definition failed to load or validate."""


class ConfigError(DefinitionError):
    """``specflow.yaml`` is invalid."""


class TemplateError(DefinitionError):
    """A prompt template is missing or failed to render."""


class ChangeIdError(SpecflowError):
    """A change id breaks OpenSpec's naming rules."""


class HubNotFoundError(SpecflowError):
    """No hub (a git repo with ``openspec/``) was found."""


class ChangeNotFoundError(SpecflowError):
    """The named change does not exist."""


class ChangeExistsError(SpecflowError):
    """A change with that id already exists."""


class StateError(SpecflowError):
    """A change's persisted state is unreadable or inconsistent."""


class LockedError(SpecflowError):
    """Another process is advancing the same change."""


class GuardFailed(SpecflowError):
    """A ``given`` step did not hold, so the transition was not attempted.

    ``results`` holds the blocked attempt (``specflow.engine.results.AdvanceResult``).
    """

    results: list[Any]

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.results = []


class TransitionError(SpecflowError):
    """No scenario allows the requested trigger from the change's state."""


class PhaseFailed(SpecflowError):
    """The phase ran but failed (agent error, gate violation or a ``then`` step).

    ``results`` holds the results of the transitions attempted, the failed one last.
    """

    results: list[Any]

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.results = []


class StepError(SpecflowError):
    """A step is unknown, ambiguous or badly defined."""


class AgentError(SpecflowError):
    """An agent is unknown, misconfigured, or could not be started."""


class SandboxError(AgentError):
    """The sandbox asked for cannot hold the agent (layer missing, or required and turned off)."""


class GitError(SpecflowError):
    """A git operation failed or would lose work."""


class OpenSpecError(SpecflowError):
    """An OpenSpec operation (validate, archive, adopt) refused or failed."""


__all__ = [
    "AgentError",
    "ChangeExistsError",
    "ChangeIdError",
    "ChangeNotFoundError",
    "ConfigError",
    "DefinitionError",
    "GitError",
    "GuardFailed",
    "HubNotFoundError",
    "LockedError",
    "OpenSpecError",
    "PhaseFailed",
    "SandboxError",
    "SpecflowError",
    "StateError",
    "StepError",
    "TemplateError",
    "TransitionError",
    "WorkflowError",
]
