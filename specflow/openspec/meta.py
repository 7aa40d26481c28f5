"""``.openspec.yaml`` (per-change metadata) and ``openspec/config.yaml``, read as OpenSpec reads them.

Both files are tiny and flat, so they are read with a small line-based reader that understands
scalars, comments, block and flow lists and one level of nested map.  Anything fancier (anchors,
block scalars, documents) falls back to ``specflow.definitions.yamlio`` so the answer is still right, just
slower.  Metadata is checked against OpenSpec's schema with OpenSpec's (zod) messages, because
those messages surface in ``validate`` output.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from specflow.openspec.schemas import list_schemas, mtime_ns, registry, tasks_generates

METADATA_FILE = ".openspec.yaml"
KEBAB_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_CONTROL_RE = re.compile("[\u0000-\u001f\u007f]")


class YamlSyntaxError(ValueError):
    """The text is not valid YAML."""


class _NotSimple(Exception):
    """The mini reader met YAML it does not handle; use the full parser."""


# -- a minimal YAML reader -----------------------------------------------------------------

_INT_RE = re.compile(r"^[-+]?[0-9]+\Z")
_FLOAT_RE = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_KEY_RE = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*|\"[^\"\\]*\"|'[^']*')[ \t]*:(?:[ \t]+(.*))?\Z")


def _scalar(raw: str) -> Any:
    text = raw.strip()
    if not text:
        return None
    if text[0] in "'\"":
        return _quoted(text)
    if text[0] in "&*!|>%@`{[" or text.startswith("- ") or text == "-":
        raise _NotSimple
    if " #" in text:
        text = text.split(" #", 1)[0].rstrip()
    if ": " in text or text.endswith(":"):
        raise _NotSimple
    if text in ("~", "null", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if _INT_RE.match(text):
        return int(text)
    if _FLOAT_RE.match(text) and any(c.isdigit() for c in text):
        return float(text)
    if text.lower() in (".inf", "+.inf", "-.inf", ".nan"):
        raise _NotSimple
    return text


def _quoted(text: str) -> str:
    q = text[0]
    end = text.find(q, 1)
    if q == "'":
        if "''" in text:
            raise _NotSimple
    elif "\\" in text:
        raise _NotSimple
    if end == -1:
        raise _NotSimple
    rest = text[end + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise YamlSyntaxError(f"unexpected text after a quoted scalar: {rest!r}")
    return text[1:end]


def _flow_list(text: str) -> list[Any]:
    body = text.strip()
    if " #" in body:
        body = body.split(" #", 1)[0].rstrip()
    if not (body.startswith("[") and body.endswith("]")):
        raise _NotSimple
    inner = body[1:-1].strip()
    if not inner:
        return []
    if any(c in inner for c in "[]{}\"'"):
        raise _NotSimple
    return [_scalar(part) for part in inner.split(",")]


def _key(raw: str) -> str:
    return raw[1:-1] if raw[:1] in "'\"" else raw


def load_simple_yaml(text: str) -> Any:
    """Parse flat YAML (see the module docstring); raise ``YamlSyntaxError`` or fall back."""
    try:
        return _load_simple(text)
    except _NotSimple:
        return _load_full(text)


def _load_full(text: str) -> Any:
    from specflow.definitions.yamlio import parse_yaml
    from specflow.errors import DefinitionError

    try:
        return parse_yaml(text).data
    except DefinitionError as exc:
        raise YamlSyntaxError(exc.detail) from None


def _load_simple(text: str) -> Any:
    if "\t" in text or text.startswith("%") or "\n---" in text or text.startswith("---"):
        raise _NotSimple
    lines = text.split("\n")
    out: dict[str, Any] = {}
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i].rstrip("\r")
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        if line[0] == " ":
            raise _NotSimple
        m = _KEY_RE.match(line)
        if m is None:
            raise _NotSimple
        key = _key(m.group(1))
        if key in out:
            raise _NotSimple  # duplicate keys: let the full parser word the error
        value = m.group(2)
        i += 1
        if value is not None and value.strip() and not value.strip().startswith("#"):
            v = value.strip()
            out[key] = _flow_list(v) if v.startswith("[") else _scalar(v)
            continue
        # a nested block: list items or a one-level map
        block: list[str] = []
        while i < n:
            nxt = lines[i].rstrip("\r")
            s = nxt.strip()
            if not s or s.startswith("#"):
                i += 1
                continue
            if nxt[0] != " " and not nxt.startswith("- ") and nxt != "-":
                break
            block.append(nxt)
            i += 1
        out[key] = _block(block)
    if not out:
        return None
    return out


def _block(block: list[str]) -> Any:
    if not block:
        return None
    indent = len(block[0]) - len(block[0].lstrip(" "))
    first = block[0].strip()
    if first.startswith("- ") or first == "-":
        items: list[Any] = []
        for line in block:
            if len(line) - len(line.lstrip(" ")) != indent:
                raise _NotSimple
            s = line.strip()
            if not (s.startswith("- ") or s == "-"):
                raise _NotSimple
            items.append(_scalar(s[2:]) if s != "-" else None)
        return items
    mapping: dict[str, Any] = {}
    for line in block:
        if len(line) - len(line.lstrip(" ")) != indent:
            raise _NotSimple
        m = _KEY_RE.match(line.strip())
        if m is None or m.group(2) is None or not m.group(2).strip():
            raise _NotSimple
        key = _key(m.group(1))
        if key in mapping:
            raise _NotSimple
        v = m.group(2).strip()
        mapping[key] = _flow_list(v) if v.startswith("[") else _scalar(v)
    return mapping


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


def metadata_issue(data: Any) -> tuple[list[str | int], str] | None:
    """The first problem OpenSpec's ``ChangeMetadataSchema`` reports for ``data``, or None."""
    if not isinstance(data, dict):
        return [], _expected("object", data)
    if "schema" not in data:
        return ["schema"], _expected("string", None, missing=True)
    schema = data["schema"]
    if not isinstance(schema, str):
        return ["schema"], _expected("string", schema)
    if not schema:
        return ["schema"], "schema is required"
    if "created" in data:
        created = data["created"]
        if not isinstance(created, str):
            return ["created"], _expected("string", created)
        if not _DATE_RE.match(created):
            return ["created"], "created must be YYYY-MM-DD format"
    if "goal" in data:
        goal = data["goal"]
        if not isinstance(goal, str):
            return ["goal"], _expected("string", goal)
        if not goal:
            return ["goal"], _TOO_SMALL
    if "affected_areas" in data:
        areas = data["affected_areas"]
        if not isinstance(areas, list):
            return ["affected_areas"], _expected("array", areas)
        for i, area in enumerate(areas):
            if not isinstance(area, str):
                return ["affected_areas", i], _expected("string", area)
            if not area:
                return ["affected_areas", i], _TOO_SMALL
    if "initiative" in data:
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
    for key in ("skip_specs", "retire_capabilities"):
        if key in data and not isinstance(data[key], bool):
            return [key], _expected("boolean", data[key])
    return None


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
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:
            return {}
        try:
            data = _config_top_level(text)
        except YamlSyntaxError:
            return {}
        return data if isinstance(data, dict) else {}
    return {}


def _config_top_level(text: str) -> Any:
    # config.yaml is mostly comments and one block scalar; only top-level scalars matter here.
    out: dict[str, Any] = {}
    for line in text.split("\n"):
        if not line or line[0] in " #\t-" or line.startswith("---"):
            continue
        m = _KEY_RE.match(line.rstrip("\r"))
        if m is None:
            return load_simple_yaml(text)
        value = m.group(2)
        try:
            out[_key(m.group(1))] = _scalar(value) if value else None
        except _NotSimple:
            out[_key(m.group(1))] = value
    return out


class Marker(NamedTuple):
    """A boolean metadata marker: honoured (``declared``) or why it cannot be (``invalid``)."""

    declared: bool = False
    invalid: str | None = None


@dataclass
class ChangeMeta:
    """A change's ``.openspec.yaml`` read once: its data, or why it is unusable."""

    change_dir: Path
    project_root: Path
    exists: bool = False
    raw: str = ""
    data: Any = None
    yaml_error: str | None = None
    read_error: str | None = None

    @classmethod
    def load(cls, change_dir: Path, project_root: Path | None = None) -> ChangeMeta:
        """Read the metadata of ``change_dir`` (``project_root`` defaults to three levels up)."""
        root = project_root if project_root is not None else change_dir.parent.parent.parent
        meta = cls(change_dir, root)
        try:
            with open(os.path.join(change_dir, METADATA_FILE), encoding="utf-8", errors="replace") as fh:
                meta.raw = fh.read()
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
        return [Path(path)] if os.path.isfile(path) else []

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
