"""The schema of ``specflow.yaml`` (pydantic): used only to validate the file.

At run time the configuration is the plain records of ``specflow.definitions.config``, built from the
validated data, so commands that find a cached configuration never import pydantic.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from specflow.definitions.model_check import validate_doc
from specflow.errors import ConfigError
from specflow.yamlio import YamlDoc


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class AgentSchema(_Model):
    """A named agent: which adapter runs it and with what settings."""

    adapter: str = "command"
    command: list[str] | None = None
    """argv for the ``command`` adapter; the prompt arrives on stdin."""
    binary: str | None = None
    """Path of the agent's executable (the ``claude-code`` adapter)."""
    model: str | None = None
    max_turns: int | None = Field(default=None, ge=1)
    timeout: float | None = Field(default=None, gt=0)
    budget_usd: float | None = Field(default=None, gt=0)
    env: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    sandbox: Literal["auto", "landlock", "bubblewrap", "seatbelt", "off"] | None = None
    """The sandbox layer for this agent; default: the hub's ``sandbox``."""
    network: Literal["any", "loopback", "none"] | None = None
    writable: list[str] = Field(default_factory=list)
    """Extra paths this agent's program must write (its caches, its config), ``~`` expanded."""


class RepoSchema(_Model):
    """A component repo of the hub."""

    path: str
    base: str | None = None
    """Base branch; by default the branch the repo has checked out."""
    setup: str | None = None
    test: str | None = None
    links: list[str] | None = None
    """Hub folders linked into each worktree; by default ``openspec`` plus the hub's ``shared``."""


class NotifySchema(_Model):
    """How a person hears that a change needs them (``specflow ui`` and ``status --watch`` notify)."""

    desktop: bool = True
    webhook: str | None = Field(default=None, pattern=r"^https?://")
    """A URL that receives a POST of ``{"text": "..."}`` (chat tools' incoming webhooks accept it)."""


class QueueSchema(_Model):
    """The durable queue (``specflow worker``, ``advance --queue``): where its database is."""

    database: str | None = Field(default=None, pattern=r"^(postgres(ql)?(\+psycopg)?|sqlite)://")
    """A PostgreSQL URL shared by every machine; default: SQLite under the hub's ``.specflow/``."""


class HubSchema(_Model):
    """Everything ``specflow.yaml`` may say.  Every key is optional."""

    default_workflow: str = "openspec"
    default_agent: str = "claude-code"
    agents: dict[str, AgentSchema] = Field(default_factory=dict)
    steps: list[str] = Field(default_factory=list)
    """Python modules (importable from the hub) that declare steps with ``@specflow.step``."""
    repos: dict[str, RepoSchema] = Field(default_factory=dict)
    shared: list[str] = Field(default_factory=list)
    """Hub folders linked into every worktree besides ``openspec``."""
    worktrees_dir: str = ".specflow/worktrees"
    command_timeout: float = Field(default=600.0, gt=0)
    """Time limit, in seconds, for commands run by steps and setup scripts."""
    notify: NotifySchema = Field(default_factory=NotifySchema)
    sandbox: Literal["auto", "landlock", "bubblewrap", "seatbelt", "off"] = "auto"
    """The layer around every agent's process tree; ``auto`` takes the strongest that works here."""
    require_sandbox: bool = False
    """Refuse to run an agent that no sandbox layer can hold."""
    network: Literal["any", "loopback", "none"] = "any"
    lease_seconds: float = Field(default=120.0, ge=1)
    """How long a machine's lease on a change whose branches are on a remote lasts; renewed every third."""
    queue: QueueSchema = Field(default_factory=QueueSchema)

    @field_validator("repos")
    @classmethod
    def _repo_names(cls, v: dict[str, RepoSchema]) -> dict[str, RepoSchema]:
        for name in v:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) or name == "hub":
                raise ValueError(f"repo name {name!r} must be letters, digits, '.', '_' or '-' and not 'hub'")
        return v


def validate_config(doc: YamlDoc) -> dict[str, Any]:
    """``specflow.yaml`` checked against the schema, as plain data (``ConfigError`` naming file, line
    and key path otherwise)."""
    return validate_doc(HubSchema, doc, ConfigError).model_dump()
