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


class NoChangeIdError(SpecflowError):
    """A command needs a change id, none was given, and no change's worktree names one (a usage error)."""

    exit_code = 2


class ChangeNotFoundError(SpecflowError):
    """The named change does not exist."""


class ChangeExistsError(SpecflowError):
    """A change with that id already exists."""


class StateError(SpecflowError):
    """A change's persisted state is unreadable or inconsistent."""


class LockedError(SpecflowError):
    """Another process is advancing the same change."""


class LeaseHeldError(LockedError):
    """Another machine holds the change's lease (a ref on the hub's remote) and it has not expired."""


class RemoteError(SpecflowError):
    """A change's branches cannot be pushed or pulled (no such remote, diverged branches, local changes)."""


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


class SetupError(SpecflowError):
    """The hub or this machine is not ready for a phase: a repo, branch, link or agent program is missing."""


class SandboxError(AgentError):
    """The sandbox asked for cannot hold the agent (layer missing, or required and turned off)."""


class GitError(SpecflowError):
    """A git operation failed or would lose work."""


class OpenSpecError(SpecflowError):
    """An OpenSpec operation (validate, archive, adopt) refused or failed."""


class WorkspaceError(SpecflowError):
    """A worktree could not be created, set up, merged or removed, or a request was refused."""


class DemoError(SpecflowError):
    """The demo cannot start (folder not empty, no git) or a step failed for good."""


class ItemError(OpenSpecError):
    """``show`` or ``validate`` cannot resolve or produce an item; ``code`` is OpenSpec's status code."""

    def __init__(self, code: str, message: str, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.code = code


class ShowError(ItemError):
    """``show`` could not produce the item (the message is OpenSpec's, the code its ``show_error``)."""

    def __init__(self, message: str) -> None:
        super().__init__("show_error", message)


class ArchiveBlocked(OpenSpecError):
    """Archive refused; ``code`` is OpenSpec's diagnostic code (``archive_tasks_incomplete`` ...)."""

    def __init__(self, code: str, message: str, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.code = code
        self.issues: list[dict[str, Any]] = []

    def diagnostic(self) -> dict[str, str]:
        """OpenSpec's ``status`` entry: ``{severity, code, message[, fix]}``."""
        out = {"severity": "error", "code": self.code, "message": self.message}
        if self.fix:
            out["fix"] = self.fix
        return out


class ArchiveCancelled(OpenSpecError):
    """The person asked said no; nothing was changed (OpenSpec prints "Archive cancelled.")."""

    exit_code = 0


class ServerError(SpecflowError):
    """The dashboard cannot be served (the port is taken, the host is unknown)."""


class QueueError(SpecflowError):
    """The durable queue cannot be used: its extra is not installed, or its database is out of reach."""


__all__ = [
    "AgentError",
    "ArchiveBlocked",
    "ArchiveCancelled",
    "ChangeExistsError",
    "ChangeIdError",
    "ChangeNotFoundError",
    "ConfigError",
    "DefinitionError",
    "DemoError",
    "GitError",
    "GuardFailed",
    "HubNotFoundError",
    "ItemError",
    "LeaseHeldError",
    "LockedError",
    "NoChangeIdError",
    "OpenSpecError",
    "PhaseFailed",
    "QueueError",
    "RemoteError",
    "SandboxError",
    "ServerError",
    "SetupError",
    "ShowError",
    "SpecflowError",
    "StateError",
    "StepError",
    "TemplateError",
    "TransitionError",
    "WorkflowError",
    "WorkspaceError",
]
