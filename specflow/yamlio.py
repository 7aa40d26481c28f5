"""Reading YAML safely, with the line of every key kept for error messages.

This is the only module that imports ruamel.yaml.  Documents are parsed as YAML 1.2 (so ``on``,
``off``, ``yes`` and ``no`` stay strings), tags are refused (no Python objects are ever built),
and the result is plain data plus a map from key path to line number.

Parsing is bounded, because a few lines of YAML can otherwise cost minutes and gigabytes (an
"alias bomb") or overflow the stack (deep nesting): nesting depth is checked while the text is
scanned and composed, aliases are counted, and the size of the document once every alias is
expanded is measured before anything is expanded.  Each refusal names the file and line.
"""

from __future__ import annotations

import contextlib
import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.errors import DefinitionError
from specflow.structs import Struct, field

if TYPE_CHECKING:
    from ruamel.yaml.composer import Composer
    from ruamel.yaml.scanner import RoundTripScanner

KeyPath = tuple[str | int, ...]

MAX_DEPTH = 64
"""Collections nested in one another, counted through aliases; specflow's own files use fewer than ten."""
MAX_ALIASES = 100
"""Alias uses (``*name``) in one document."""
MAX_NODES = 100_000
"""Values in one document once every alias is expanded."""


class _LimitExceeded(Exception):
    """A bound of the parser was hit; ``parse_yaml`` turns it into a ``DefinitionError``."""

    def __init__(self, message: str, mark: Any, fix: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = mark.line + 1 if mark is not None else None
        self.fix = fix


def _too_deep(mark: Any, through_aliases: bool = False) -> _LimitExceeded:
    counted = " once its aliases (*name) are expanded" if through_aliases else ""
    return _LimitExceeded(
        f"nesting deeper than {MAX_DEPTH} levels{counted} (the limit is {MAX_DEPTH})",
        mark,
        "flatten the structure: specflow's files need only a few levels of nesting",
    )


class _Budget(Struct):
    """What one document has used of the bounds, kept as it is composed (ruamel-free)."""

    aliases: int = 0
    open: int = 0
    measured: dict[int, tuple[int, int]] = field(default_factory=dict)
    """``id(node)`` -> (values, depth) of each complete node, with its aliases expanded."""

    def enter(self, mark: Any) -> None:
        self.open += 1
        if self.open > MAX_DEPTH:
            raise _too_deep(mark)

    def alias(self, mark: Any) -> None:
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise _LimitExceeded(
                f"more than {MAX_ALIASES} aliases (*name) in one document (the limit is {MAX_ALIASES})",
                mark,
                "write the repeated values out, or share fewer of them through anchors (&name)",
            )

    def aliased(self, node: Any, anchor: str, mark: Any) -> None:
        if id(node) not in self.measured:
            raise _LimitExceeded(
                f"the alias *{anchor} refers to a collection that contains it",
                mark,
                "an alias may only repeat a value whose anchor (&name) is complete before it",
            )

    def close(self, node: Any, children: list[Any]) -> None:
        """Measure a complete node from its children's measures (an alias child counts in full)."""
        self.open -= 1
        sizes = [self.measured[id(c)] for c in children]
        values = 1 + sum(s[0] for s in sizes)
        depth = 1 + max((s[1] for s in sizes), default=0)
        if depth > MAX_DEPTH:
            raise _too_deep(node.start_mark, through_aliases=True)
        if values > MAX_NODES:
            raise _LimitExceeded(
                f"the document expands to more than {MAX_NODES} values once its aliases (*name)"
                f" are expanded (the limit is {MAX_NODES})",
                node.start_mark,
                "write the values out instead of repeating anchors (&name) inside anchors",
            )
        self.measured[id(node)] = (values, depth)


@functools.cache
def _bounded_parts() -> tuple[type[RoundTripScanner], type[Composer]]:
    """ruamel's scanner and composer, keeping to the bounds (built once ruamel is imported)."""
    from ruamel.yaml import composer, events, nodes, scanner  # the door of ruamel (with parse_yaml's)

    class BoundedScanner(scanner.RoundTripScanner):
        # refused while scanning: ruamel's look-ahead over thousands of open '[' costs seconds
        def fetch_flow_collection_start(self, token_class: Any, to_push: str) -> None:
            if self.flow_level >= MAX_DEPTH:
                raise _too_deep(self.reader.get_mark())
            super().fetch_flow_collection_start(token_class, to_push)

    class BoundedComposer(composer.Composer):
        def __init__(self, loader: Any = None) -> None:
            super().__init__(loader)
            self.budget = _Budget()

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.parser.peek_event()
            if isinstance(event, events.AliasEvent):
                self.budget.alias(event.start_mark)
                node = super().compose_node(parent, index)
                self.budget.aliased(node, event.anchor, event.start_mark)
                return node
            if isinstance(event, events.ScalarEvent):
                node = super().compose_node(parent, index)
                self.budget.measured[id(node)] = (1, 0)
                return node
            self.budget.enter(event.start_mark)
            node = super().compose_node(parent, index)
            is_map = isinstance(node, nodes.MappingNode)
            self.budget.close(node, [part for pair in node.value for part in pair] if is_map else node.value)
            return node

    return BoundedScanner, BoundedComposer


class YamlDoc(Struct):
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
    from ruamel.yaml import YAML, error  # the door of ruamel

    yaml = YAML(typ="rt", pure=True)
    yaml.Scanner, yaml.Composer = _bounded_parts()
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except _LimitExceeded as exc:
        raise DefinitionError(exc.message, file=file, line=exc.line, fix=exc.fix) from None
    except error.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise DefinitionError(
            f"malformed YAML: {problem.strip()}",
            file=file,
            line=line,
            fix="fix the YAML syntax at that line (indentation, a missing ':' or quote)",
        ) from None
    except error.YAMLError as exc:
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
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()
