"""The hub's configuration, ``specflow.yaml``: agents, component repos, step modules, defaults.

The file is validated by ``specflow.definitions.config_model`` (pydantic, unknown keys refused, errors with
file and line); what the rest of specflow uses are the plain frozen records below.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from specflow.definitions import cache as defcache
from specflow.errors import ConfigError, DefinitionError
from specflow.structs import Struct, asdict, field
from specflow.yamlio import load_yaml

CONFIG_FILE = "specflow.yaml"


class AgentConfig(Struct, frozen=True):
    """A named agent: which adapter runs it and with what settings."""

    adapter: str = "command"
    command: list[str] | None = None
    """argv for the ``command`` adapter; the prompt arrives on stdin."""
    binary: str | None = None
    """Path of the agent's executable (the ``claude-code`` adapter)."""
    model: str | None = None
    max_turns: int | None = None
    timeout: float | None = None
    budget_usd: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    sandbox: str | None = None
    """The sandbox layer for this agent; default: the hub's ``sandbox``."""
    network: str | None = None
    writable: list[str] = field(default_factory=list)
    """Extra paths this agent's program must write (its caches, its config), ``~`` expanded."""


class RepoConfig(Struct, frozen=True):
    """A component repo of the hub."""

    path: str
    base: str | None = None
    """Base branch; by default the branch the repo has checked out."""
    setup: str | None = None
    test: str | None = None
    links: list[str] | None = None
    """Hub folders linked into each worktree; by default ``openspec`` plus the hub's ``shared``."""


class NotifyConfig(Struct, frozen=True):
    """How a person hears that a change needs them: a desktop notification, a webhook."""

    desktop: bool = True
    webhook: str | None = None
    """A URL that receives a POST of ``{"text": "..."}``."""


class QueueConfig(Struct, frozen=True):
    """The durable queue: its database (default: SQLite under the hub's ``.specflow/``)."""

    database: str | None = None


class HubConfig(Struct, frozen=True):
    """Everything ``specflow.yaml`` may say.  Every key is optional."""

    default_workflow: str = "openspec"
    default_agent: str = "claude-code"
    agents: dict[str, AgentConfig] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)
    """Python modules (importable from the hub) that declare steps with ``@specflow.step``."""
    repos: dict[str, RepoConfig] = field(default_factory=dict)
    shared: list[str] = field(default_factory=list)
    """Hub folders linked into every worktree besides ``openspec``."""
    worktrees_dir: str = ".specflow/worktrees"
    command_timeout: float = 600.0
    """Time limit, in seconds, for commands run by steps and setup scripts."""
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    sandbox: str = "auto"
    """The layer around every agent's process tree (auto, landlock, bubblewrap, seatbelt, off)."""
    require_sandbox: bool = False
    """Refuse to run an agent that no sandbox layer can hold."""
    network: str = "any"
    """What network agents may use (any, loopback, none), enforced by the sandbox layer."""
    lease_seconds: float = 120.0
    """How long a machine's lease on a change whose branches are on a remote lasts; renewed every third."""
    queue: QueueConfig = field(default_factory=QueueConfig)

    def agent(self, name: str) -> AgentConfig:
        """The configuration of agent ``name``; an adapter name alone is an agent with defaults."""
        if name in self.agents:
            return self.agents[name]
        return AgentConfig(adapter=name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HubConfig:
        """Build from validated data (``config_schema.HubSchema`` dumped, or the cache)."""
        agents = {name: AgentConfig(**a) for name, a in (data.get("agents") or {}).items()}
        repos = {name: RepoConfig(**r) for name, r in (data.get("repos") or {}).items()}
        notify = NotifyConfig(**(data.get("notify") or {}))
        queue = QueueConfig(**(data.get("queue") or {}))
        return cls(**{**data, "agents": agents, "repos": repos, "notify": notify, "queue": queue})


def load_config(hub_root: Path, *, cache: bool = True) -> HubConfig:
    """Read ``specflow.yaml`` from the hub; a missing file means every default.

    A file that validated before is rebuilt from ``specflow.definitions.cache`` without re-validation.
    ``cache=False`` reads and validates it without touching the hub's cache (a folder that is
    not a hub of the user's, such as the example shipped inside the package).
    """
    path = hub_root / CONFIG_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return HubConfig()
    if not cache:
        return _validate(path)
    key = defcache.make_key("config", path, raw, [])
    cached = defcache.load(hub_root, "config", path, key)
    if cached is not None:
        return HubConfig.from_dict(cached)
    config = _validate(path)
    defcache.store(hub_root, "config", path, key, config.to_dict())
    return config


def _validate(path: Path) -> HubConfig:
    from specflow.definitions.config_model import validate_config  # the door of pydantic

    try:
        doc = load_yaml(path)
    except DefinitionError as exc:
        raise ConfigError(exc.detail, file=exc.file, line=exc.line, fix=exc.fix) from None
    if doc.data is None:
        return HubConfig()
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping at the top level", file=path, line=1)
    config = HubConfig.from_dict(validate_config(doc))
    _check_worktrees_dir(config.worktrees_dir, path, doc.line_of(("worktrees_dir",)))
    return config


def _check_worktrees_dir(value: str, path: Path, line: int | None) -> None:
    """The worktrees folder must lie inside the hub's own area: never beside it, nor in .git or openspec/."""
    hub = Path(os.path.abspath(path.parent))
    where = Path(os.path.normpath(hub / value))
    inside = hub in where.parents
    reserved = inside and where.relative_to(hub).parts[0] in (".git", "openspec")
    if inside and not reserved:
        return
    found = "the hub itself" if where == hub else str(where)
    raise ConfigError(
        f"{value!r} would put specflow's worktrees at {found}, outside the hub's own area"
        " (the audit of every change owns that folder: nothing else may live there)",
        file=path,
        line=line,
        key_path="worktrees_dir",
        fix="use a folder inside the hub, e.g. the default '.specflow/worktrees' (git-ignored through"
        " .git/info/exclude), or remove the key",
    )
