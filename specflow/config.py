"""The hub's configuration, ``specflow.yaml``: agents, component repos, step modules, defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from specflow.errors import ConfigError

CONFIG_FILE = "specflow.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class AgentConfig(_Model):
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


class RepoConfig(_Model):
    """A component repo of the hub."""

    path: str
    base: str | None = None
    """Base branch; by default the branch the repo has checked out."""
    setup: str | None = None
    test: str | None = None
    links: list[str] | None = None
    """Hub folders linked into each worktree; by default ``openspec`` plus the hub's ``shared``."""


class HubConfig(_Model):
    """Everything ``specflow.yaml`` may say.  Every key is optional."""

    default_workflow: str = "openspec"
    default_agent: str = "claude-code"
    agents: dict[str, AgentConfig] = Field(default_factory=dict)
    steps: list[str] = Field(default_factory=list)
    """Python modules (importable from the hub) that declare steps with ``@specflow.step``."""
    repos: dict[str, RepoConfig] = Field(default_factory=dict)
    shared: list[str] = Field(default_factory=list)
    """Hub folders linked into every worktree besides ``openspec``."""
    worktrees_dir: str = ".specflow/worktrees"
    command_timeout: float = Field(default=600.0, gt=0)
    """Time limit, in seconds, for commands run by steps and setup scripts."""

    @field_validator("repos")
    @classmethod
    def _repo_names(cls, v: dict[str, RepoConfig]) -> dict[str, RepoConfig]:
        import re

        for name in v:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) or name == "hub":
                raise ValueError(
                    f"repo name {name!r} must be letters, digits, '.', '_' or '-' and not 'hub'"
                )
        return v

    def agent(self, name: str) -> AgentConfig:
        """The configuration of agent ``name``; an adapter name alone is an agent with defaults."""
        if name in self.agents:
            return self.agents[name]
        return AgentConfig(adapter=name)


def load_config(hub_root: Path) -> HubConfig:
    """Read ``specflow.yaml`` from the hub; a missing file means every default.

    A file that validated before is rebuilt from ``specflow.defcache`` without re-validation.
    """
    from specflow import defcache

    path = hub_root / CONFIG_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return HubConfig()
    key = defcache.make_key("config", path, raw, [])
    cached = defcache.load(hub_root, "config", path, key)
    if cached is not None:
        return _construct(cached)
    config = _validate(path)
    defcache.store(hub_root, "config", path, key, config.model_dump(mode="json"))
    return config


def _validate(path: Path) -> HubConfig:
    from specflow.errors import DefinitionError
    from specflow.schema import validate_doc
    from specflow.yamlio import load_yaml

    try:
        doc = load_yaml(path)
    except DefinitionError as exc:
        raise ConfigError(exc.detail, file=exc.file, line=exc.line, fix=exc.fix) from None
    if doc.data is None:
        return HubConfig()
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping at the top level", file=path, line=1)
    return validate_doc(HubConfig, doc, ConfigError)


def _construct(data: dict[str, Any]) -> HubConfig:
    """A ``HubConfig`` from cached, already validated data."""
    agents = {name: AgentConfig.model_construct(**a) for name, a in data["agents"].items()}
    repos = {name: RepoConfig.model_construct(**r) for name, r in data["repos"].items()}
    return HubConfig.model_construct(**{**data, "agents": agents, "repos": repos})
