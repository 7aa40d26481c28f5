"""Workflow schemas OpenSpec knows (built in, user-level, project-local) and the task file each tracks.

Looked up once and cached, keyed by the schema folders' mtimes, so each lookup costs two ``stat``
calls and a schema added while a process runs is still seen.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from specflow.openspec.flatyaml import load_simple_yaml

BUILTIN_SCHEMAS = ("spec-driven",)


_DATA_DIRS: dict[tuple[str | None, str | None], str] = {}


def global_data_dir() -> str:
    """OpenSpec's user-level data folder (``$XDG_DATA_HOME/openspec``), where user schemas live."""
    env = os.environ
    key = (env.get("XDG_DATA_HOME"), env.get("HOME"))
    hit = _DATA_DIRS.get(key)
    if hit is None:
        if key[0]:
            hit = os.path.join(key[0], "openspec")
        else:
            hit = os.path.join(os.path.expanduser("~"), ".local", "share", "openspec")
        _DATA_DIRS[key] = hit
    return hit


def mtime_ns(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


def _schema_dirs(base: str) -> dict[str, str]:
    try:
        entries = list(os.scandir(base))
    except OSError:
        return {}
    found: dict[str, str] = {}
    for e in sorted(entries, key=lambda e: e.name):
        name = e.name
        if name.startswith((".fork-staging-", ".init-staging-")):
            continue
        if ".fork-backup-" in name or ".init-backup-" in name:
            continue
        schema = os.path.join(e.path, "schema.yaml")
        try:
            if e.is_dir() and os.path.exists(schema):
                found[name] = schema
        except OSError:
            continue
    return found


class _Schemas:
    def __init__(self, names: list[str], custom: dict[str, str]) -> None:
        self.names = names
        self.custom = custom  # name -> schema.yaml (project-local wins over user-level)
        self.generates: dict[str, str | None] = {}


_SCHEMAS_CACHE: dict[tuple[str, str, int, int], _Schemas] = {}


# per thread (each thread has its own context), like a threading.local without importing threading
_PINS: ContextVar[dict[str, _Schemas] | None] = ContextVar("specflow_schema_pins", default=None)


@contextmanager
def pinned() -> Iterator[None]:
    """Within the block, look the schemas up once per project (for bulk validate and list)."""
    token = _PINS.set({})
    try:
        yield
    finally:
        _PINS.reset(token)


def registry(project_root: str) -> _Schemas:
    """The schemas visible from ``project_root`` (cached by the schema folders' mtimes)."""
    pins = _PINS.get()
    if pins is not None:
        hit = pins.get(project_root)
        if hit is None:
            hit = pins[project_root] = _lookup(project_root)
        return hit
    return _lookup(project_root)


def _lookup(project_root: str) -> _Schemas:
    user = os.path.join(global_data_dir(), "schemas")
    project = os.path.join(project_root, "openspec", "schemas")
    key = (project, user, mtime_ns(project), mtime_ns(user))
    hit = _SCHEMAS_CACHE.get(key)
    if hit is None:
        user_found = _schema_dirs(user)
        project_found = _schema_dirs(project)
        custom = {**user_found, **project_found}
        names = sorted(set(BUILTIN_SCHEMAS) | set(custom))
        hit = _SCHEMAS_CACHE[key] = _Schemas(names, custom)
    return hit


def list_schemas(project_root: Path) -> list[str]:
    """Every workflow schema OpenSpec would accept: built in, user-level and project-local."""
    return list(registry(str(project_root)).names)


def tasks_generates(schema: str, project_root: str) -> str | None:
    """The ``generates`` glob of the artifact the schema's ``apply.tracks`` names (tasks.md)."""
    reg = registry(project_root)
    if schema in reg.generates:
        return reg.generates[schema]
    custom = reg.custom.get(schema)
    if custom is None:
        if schema not in BUILTIN_SCHEMAS:
            raise ValueError(f"Unknown schema '{schema}'")
        result: str | None = "tasks.md"
    else:
        with open(custom, encoding="utf-8", errors="replace") as fh:
            data = load_simple_yaml(fh.read())
        if not isinstance(data, dict):
            raise ValueError("invalid schema")
        result = None
        apply = data.get("apply")
        tracks = apply.get("tracks") if isinstance(apply, dict) else None
        for art in data.get("artifacts") or []:
            if not isinstance(art, dict):
                continue
            if (tracks is not None and art.get("generates") == tracks) or (tracks is None and art.get("id") == "tasks"):
                gen = art.get("generates")
                result = str(gen) if gen else None
                break
    reg.generates[schema] = result
    return result


__all__ = ["BUILTIN_SCHEMAS", "global_data_dir", "list_schemas", "mtime_ns", "pinned", "registry", "tasks_generates"]
