"""Prompt templates: found on the search path, rendered in a sandbox with strict undefined.

This is the only module that imports jinja2, on first use (``_jinja2``): a template that only
fills in ``{{ field }}`` values is filled in directly, as Jinja would, without loading it.
Templates come from the hub's
``openspec/templates/``, then ``$XDG_DATA_HOME/specflow/templates/``, then the built-ins.  A
template that fails to parse or render raises ``TemplateError`` naming the template and line.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from specflow.definitions.resources import search_path
from specflow.errors import TemplateError


def _jinja2() -> ModuleType:
    """jinja2 with its sandbox and ``meta``: the door of jinja2 (~15 ms to import)."""
    import jinja2.meta
    import jinja2.sandbox

    return jinja2


class PromptRenderer:
    """Renders prompt templates and small template strings (such as gate globs)."""

    def __init__(self, hub_root: Path | None) -> None:
        self.hub_root = hub_root
        self.dirs = search_path("templates", hub_root)

    @cached_property
    def env(self) -> Any:
        jinja2 = _jinja2()
        cache = None
        if self.hub_root is not None and (self.hub_root / ".specflow").is_dir():
            # compiled templates are reused across runs; jinja checks each source's mtime
            folder = self.hub_root / ".specflow" / "cache" / "templates"
            folder.mkdir(parents=True, exist_ok=True)
            cache = jinja2.FileSystemBytecodeCache(str(folder))
        return jinja2.sandbox.SandboxedEnvironment(
            bytecode_cache=cache,
            loader=jinja2.FileSystemLoader([str(d) for d in self.dirs]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def find(self, name: str) -> Path | None:
        """The file that template ``name`` resolves to, or None."""
        if ".." in Path(name).parts or Path(name).is_absolute():
            return None
        for d in self.dirs:
            p = d / name
            if p.is_file():
                return p
        return None

    def _wrap(self, exc: Exception, name: str) -> TemplateError:
        path = self.find(name) or name
        line: int | None = None
        if isinstance(exc, _jinja2().TemplateSyntaxError):
            # the error may lie in a template this one imports or includes
            path = exc.filename or (self.find(exc.name) if exc.name else None) or path
            line = exc.lineno
            return TemplateError(
                f"template syntax error: {exc.message}",
                file=path,
                line=line,
                fix="fix the Jinja2 syntax at that line",
            )
        # a render-time error: find the template's line in the traceback
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(path):
                line = tb.tb_lineno
            tb = tb.tb_next
        msg = str(exc)
        fix = "use only the context variables documented in the README (e.g. change.id, gate.description)"
        if type(exc).__name__ == "UndefinedError":
            msg = f"undefined variable: {msg}"
        elif type(exc).__name__ == "SecurityError":
            msg = f"unsafe operation refused by the sandbox: {msg}"
            fix = "templates may only read their context"
        else:
            msg = f"{type(exc).__name__}: {msg}"
        return TemplateError(msg, file=path, line=line, fix=fix)

    def check(self, name: str) -> list[str]:
        """Parse template ``name`` and every template it imports or includes.

        Returns the names checked; raises ``TemplateError`` naming the file and line of a syntax
        error, or a missing template.
        """
        jinja2 = _jinja2()
        seen: list[str] = []
        todo = [name]
        while todo and len(seen) < 100:
            current = todo.pop()
            if current in seen:
                continue
            seen.append(current)
            path = self.find(current)
            if path is None:
                raise TemplateError(
                    f"template {current!r} not found" + (f" (used by {name!r})" if current != name else ""),
                    fix="create it in openspec/templates/",
                )
            try:
                self.env.get_template(current)
                ast = self.env.parse(path.read_text(encoding="utf-8"), current, str(path))
            except jinja2.TemplateNotFound as exc:
                raise TemplateError(
                    f"template {exc.name!r} not found", fix="create it in openspec/templates/"
                ) from None
            except jinja2.TemplateSyntaxError as exc:
                raise self._wrap(exc, name) from None
            todo.extend(t for t in jinja2.meta.find_referenced_templates(ast) if isinstance(t, str))
        return seen

    def render(self, name: str, context: dict[str, Any]) -> str:
        """Render template ``name`` with ``context``."""
        path = self.find(name)
        if path is not None:
            simple = _render_simple(path.read_text(encoding="utf-8"), context)
            if simple is not None:
                return simple
        try:
            template = self.env.get_template(name)
            return str(template.render(**context))
        except _jinja2().TemplateNotFound:
            raise TemplateError(
                f"template {name!r} not found (searched {', '.join(str(d) for d in self.dirs)})",
                fix="create it in the hub's openspec/templates/",
            ) from None
        except TemplateError:
            raise
        except Exception as exc:
            raise self._wrap(exc, name) from None

    def check_string(self, source: str) -> None:
        self.env.parse(source)

    def render_string(self, source: str, context: dict[str, Any]) -> str:
        """Render a one-line template such as a gate glob ``openspec/changes/{{ change.id }}/**``."""
        simple = _render_simple(source, context)
        if simple is not None:
            return simple
        try:
            return str(self.env.from_string(source).render(**context))
        except Exception as exc:
            raise TemplateError(f"cannot render {source!r}: {exc}") from None


_FIELD = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")


def _render_simple(source: str, context: dict[str, Any]) -> str | None:
    """Plain ``{{ a.b }}`` substitution without Jinja, or None if ``source`` needs Jinja.

    Gate globs and prompts are rendered on every run; many are this simple, and skipping Jinja
    keeps a phase's start-up short (its import alone costs more than the rest of a render).
    Anything else (filters, blocks, a missing field, a key Jinja would read as a method of the
    mapping, such as ``items``) falls back to the sandboxed environment, which reports errors.
    """
    if "{%" in source or "{#" in source or "\r" in source:
        return None  # blocks, comments, or line endings Jinja would normalise
    out: list[str] = []
    pos = 0
    for m in _FIELD.finditer(source):
        value: Any = context
        for part in m.group(1).split("."):
            if not isinstance(value, dict) or part not in value or hasattr(dict, part):
                return None
            value = value[part]
        if not isinstance(value, (str, int)):
            return None
        out.append(source[pos : m.start()])
        out.append(str(value))
        pos = m.end()
    rest = source[pos:]
    if "{{" in rest or "}}" in rest:
        return None
    out.append(rest)
    return "".join(out)
