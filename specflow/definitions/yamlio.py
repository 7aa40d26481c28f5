"""Reading YAML safely, with the line of every key kept for error messages.

This is the only module that imports ruamel.yaml.  Documents are parsed as YAML 1.2 (so ``on``,
``off``, ``yes`` and ``no`` stay strings), tags are refused (no Python objects are ever built),
and the result is plain data plus a map from key path to line number.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specflow.errors import DefinitionError

KeyPath = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """A parsed document: plain data and the 1-based line of each key path."""

    data: Any
    file: Path | str
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return self.lines.get((), None)


def _plain(node: Any, path: KeyPath, lines: dict[KeyPath, int], file: str) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar

    tag = getattr(node, "tag", None)
    tag_value = getattr(tag, "value", tag) if tag is not None else None
    if isinstance(node, TaggedScalar) or (
        isinstance(tag_value, str) and tag_value.startswith("!") and not tag_value.startswith("!!")
    ):
        raise DefinitionError(
            f"YAML tag {tag_value!r} is not allowed",
            file=file,
            line=lines.get(path),
            key_path=_dotted(path) or None,
            fix="remove the tag: definitions are plain data (strings, numbers, lists, maps)",
        )
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            try:
                line = node.lc.key(key)[0] + 1
            except (KeyError, TypeError, AttributeError):
                line = lines.get(path)
            sub = (*path, str(key))
            if line is not None:
                lines[sub] = line
            out[str(key)] = _plain(node[key], sub, lines, file)
        return out
    if isinstance(node, CommentedSeq):
        items: list[Any] = []
        for i, item in enumerate(node):
            sub = (*path, i)
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                lines[sub] = node.lc.item(i)[0] + 1
            items.append(_plain(item, sub, lines, file))
        return items
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return str(node)


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


dotted = _dotted


def parse_yaml(text: str, file: Path | str = "<string>") -> YamlDoc:
    """Parse ``text``; syntax errors become ``DefinitionError`` with file and line."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise DefinitionError(
            f"malformed YAML: {problem.strip()}",
            file=file,
            line=line,
            fix="fix the YAML syntax at that line (indentation, a missing ':' or quote)",
        ) from None
    except YAMLError as exc:
        raise DefinitionError(f"malformed YAML: {exc}", file=file) from None
    lines: dict[KeyPath, int] = {(): 1}
    data = _plain(node, (), lines, str(file))
    return YamlDoc(data=data, file=file, lines=lines)


def load_yaml(path: Path) -> YamlDoc:
    """Read and parse the YAML file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DefinitionError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise DefinitionError(
            f"{path} is a folder, not a YAML file", fix="name the file, e.g. openspec/workflows/team.yaml"
        ) from None
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"not UTF-8 text: {exc}", file=path) from None
    return parse_yaml(text, path)


def dump_yaml(data: Any) -> str:
    """Render plain data as block-style YAML (used for generated files)."""
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()
