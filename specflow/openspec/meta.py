"""``.openspec.yaml`` (per-change metadata) and ``openspec/config.yaml``, read as OpenSpec reads them.

Both files are tiny and flat, so they are read with ``flatyaml``'s small line-based reader.
Metadata is checked against OpenSpec's schema with OpenSpec's (zod) messages, because those
messages surface in ``validate`` output.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from specflow.openspec.discovery import Listing, is_file
from specflow.openspec.flatyaml import YamlSyntaxError, load_simple_yaml, load_top_level
from specflow.openspec.jsre import lazy_compile
from specflow.openspec.schemas import list_schemas, mtime_ns, registry, tasks_generates
from specflow.openspec.textfile import read_text

METADATA_FILE = ".openspec.yaml"
KEBAB_RE = lazy_compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_DATE_RE = lazy_compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_CONTROL_RE = lazy_compile("[\u0000-\u001f\u007f]")


# -- OpenSpec's metadata schema (zod messages) -------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _expected(kind: str, value: Any, missing: bool = False) -> str:
    got = "undefined" if missing else _type_name(value)
    return f"Invalid input: expected {kind}, received {got}"


_TOO_SMALL = "Too small: expected string to have >=1 characters"
_KEBAB = "must be kebab-case with lowercase letters, numbers, and single hyphen separators"


MetadataIssue = tuple[list[str | int], str]


def metadata_issue(data: Any) -> MetadataIssue | None:
    """The first problem OpenSpec's ``ChangeMetadataSchema`` reports for ``data``, or None."""
    if not isinstance(data, dict):
        return [], _expected("object", data)
    for rule in METADATA_RULES:
        found = rule(data)
        if found is not None:
            return found
    return None


def _schema_field(data: dict[str, Any]) -> MetadataIssue | None:
    if "schema" not in data:
        return ["schema"], _expected("string", None, missing=True)
    schema = data["schema"]
    if not isinstance(schema, str):
        return ["schema"], _expected("string", schema)
    return (["schema"], "schema is required") if not schema else None


def _created_field(data: dict[str, Any]) -> MetadataIssue | None:
    if "created" not in data:
        return None
    created = data["created"]
    if not isinstance(created, str):
        return ["created"], _expected("string", created)
    return None if _DATE_RE.match(created) else (["created"], "created must be YYYY-MM-DD format")


def _goal_field(data: dict[str, Any]) -> MetadataIssue | None:
    if "goal" not in data:
        return None
    goal = data["goal"]
    if not isinstance(goal, str):
        return ["goal"], _expected("string", goal)
    return None if goal else (["goal"], _TOO_SMALL)


def _affected_areas_field(data: dict[str, Any]) -> MetadataIssue | None:
    if "affected_areas" not in data:
        return None
    areas = data["affected_areas"]
    if not isinstance(areas, list):
        return ["affected_areas"], _expected("array", areas)
    for i, area in enumerate(areas):
        if not isinstance(area, str):
            return ["affected_areas", i], _expected("string", area)
        if not area:
            return ["affected_areas", i], _TOO_SMALL
    return None


def _initiative_field(data: dict[str, Any]) -> MetadataIssue | None:
    if "initiative" not in data:
        return None
    ini = data["initiative"]
    if not isinstance(ini, dict):
        return ["initiative"], _expected("object", ini)
    for key, label in (("store", "Store id"), ("id", "Initiative id")):
        if key not in ini:
            return ["initiative", key], _expected("string", None, missing=True)
        if not isinstance(ini[key], str):
            return ["initiative", key], _expected("string", ini[key])
        if not KEBAB_RE.match(ini[key]):
            return ["initiative", key], f"{label} {_KEBAB}"
    extra = [k for k in ini if k not in ("store", "id")]
    if extra:
        quoted = ", ".join(f'"{k}"' for k in extra)
        return ["initiative"], f"Unrecognized key{'s' if len(extra) > 1 else ''}: {quoted}"
    return None


def _marker_fields(data: dict[str, Any]) -> MetadataIssue | None:
    for key in ("skip_specs", "retire_capabilities"):
        if key in data and not isinstance(data[key], bool):
            return [key], _expected("boolean", data[key])
    return None


#: OpenSpec's schema, one field at a time, in the order zod reports the first problem.
METADATA_RULES: tuple[Callable[[dict[str, Any]], MetadataIssue | None], ...] = (
    _schema_field,
    _created_field,
    _goal_field,
    _affected_areas_field,
    _initiative_field,
    _marker_fields,
)


# -- schemas, config and markers ------------------------------------------------------------


_CONFIG_CACHE: dict[tuple[str, int, int], dict[str, Any]] = {}


def project_config(project_root: Path) -> dict[str, Any]:
    """``openspec/config.yaml`` as a dict (empty when absent or unreadable)."""
    base = os.path.join(str(project_root), "openspec")
    yaml_path, yml_path = os.path.join(base, "config.yaml"), os.path.join(base, "config.yml")
    key = (base, mtime_ns(yaml_path), mtime_ns(yml_path))
    hit = _CONFIG_CACHE.get(key)
    if hit is None:
        hit = _CONFIG_CACHE[key] = _read_project_config(yaml_path, yml_path)
    return hit


def _read_project_config(*paths: str) -> dict[str, Any]:
    for path in paths:
        try:
            text = read_text(path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return {}
        try:
            data = load_top_level(text)
        except YamlSyntaxError:
            return {}
        return data if isinstance(data, dict) else {}
    return {}


class Marker(NamedTuple):
    """A boolean metadata marker: honoured (``declared``) or why it cannot be (``invalid``)."""

    declared: bool = False
    invalid: str | None = None


class ChangeMeta:
    """A change's ``.openspec.yaml`` read once: its data, or why it is unusable."""

    def __init__(self, change_dir: Path, project_root: Path, listing: Listing | None = None) -> None:
        self.change_dir = change_dir
        self.project_root = project_root
        self.listing = listing  # the change's folders listed already in this run
        self.exists = False
        self.raw = ""
        self.data: Any = None
        self.yaml_error: str | None = None
        self.read_error: str | None = None

    @classmethod
    def load(cls, change_dir: Path, project_root: Path | None = None, listing: Listing | None = None) -> ChangeMeta:
        """Read the metadata of ``change_dir`` (``project_root`` defaults to three levels up).

        ``listing``: the change's folders listed already in this run (which files exist is read there).
        """
        root = project_root if project_root is not None else change_dir.parent.parent.parent
        meta = cls(change_dir, root, listing)
        try:
            meta.raw = read_text(os.path.join(change_dir, METADATA_FILE))
        except (FileNotFoundError, NotADirectoryError):
            return meta
        except OSError as exc:
            meta.exists = True
            meta.read_error = str(exc)
            return meta
        meta.exists = True
        try:
            meta.data = load_simple_yaml(meta.raw)
        except YamlSyntaxError as exc:
            meta.yaml_error = str(exc)
        return meta

    def marker(self, key: str) -> Marker:
        """OpenSpec's ``readBooleanMarker``: is ``key: true`` set and honourable?"""
        if not self.exists:
            return Marker()
        if self.read_error is not None:
            return _unhonorable(f"the metadata file cannot be read ({self.read_error})")
        if self.yaml_error is not None:
            mentioned = re.search(rf"^[ \t]*(['\"]?){re.escape(key)}\1[ \t]*:", self.raw, re.M)
            return _unhonorable("the file is not valid YAML") if mentioned else Marker()
        issue = metadata_issue(self.data)
        if issue is None:
            if self.data.get(key) is not True:
                return Marker()
            schema = self.data["schema"]
            if schema not in registry(str(self.project_root)).names:
                return _unhonorable(f"schema: unknown schema '{schema}'")
            return Marker(declared=True)
        data = self.data
        if isinstance(data, dict) and key in data and data[key] is not False:
            path, message = issue
            where = ".".join(str(p) for p in path) + ": " if path else ""
            return _unhonorable(where + message)
        return Marker()

    def schema_name(self) -> str:
        """The change's workflow schema; raise ``ValueError`` as OpenSpec does for bad metadata."""
        cached = self.__dict__.get("_schema")
        if cached is None:
            try:
                cached = (self._schema_name(), None)
            except ValueError as exc:
                cached = (None, str(exc))
            self.__dict__["_schema"] = cached
        if cached[0] is None:
            raise ValueError(cached[1])
        return str(cached[0])

    def _schema_name(self) -> str:
        if self.exists:
            if self.read_error is not None or self.yaml_error is not None:
                raise ValueError("invalid metadata")
            if metadata_issue(self.data) is not None:
                raise ValueError("invalid metadata")
            schema = str(self.data["schema"])
            if schema not in registry(str(self.project_root)).names:
                raise ValueError(f"Unknown schema '{schema}'")
            return schema
        config_schema = project_config(self.project_root).get("schema")
        if isinstance(config_schema, str) and config_schema:
            return config_schema
        return "spec-driven"

    def tracked_task_files(self) -> list[Path]:
        """The task files the change's schema tracks that exist (``[tasks.md]`` for spec-driven)."""
        try:
            generates = tasks_generates(self.schema_name(), str(self.project_root))
        except (ValueError, OSError):
            return []
        if not generates:
            return []
        if any(c in generates for c in "*?[{"):
            return sorted({p.resolve() for p in self.change_dir.glob(generates) if p.is_file()})
        path = os.path.join(self.change_dir, generates)
        return [Path(path)] if is_file(path, self.listing) else []

    def uses_builtin_spec_driven(self) -> bool:
        """True when the change resolves to OpenSpec's own ``spec-driven`` schema."""
        try:
            name = self.schema_name()
        except ValueError:
            return False
        for ext in (".yaml", ".yml"):
            if name.endswith(ext):
                name = name[: -len(ext)]
                break
        return name == "spec-driven" and name not in registry(str(self.project_root)).custom


def _unhonorable(reason: str) -> Marker:
    return Marker(declared=False, invalid=_CONTROL_RE.sub("?", reason))


__all__ = [
    "METADATA_FILE",
    "ChangeMeta",
    "Marker",
    "YamlSyntaxError",
    "list_schemas",
    "load_simple_yaml",
    "metadata_issue",
    "project_config",
]
