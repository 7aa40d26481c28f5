"""Steps: named predicates used in a scenario's ``given`` and ``then``, matched by pattern.

A step is a function registered with a pattern in the style of pytest-bdd's ``parsers.parse``::

    from specflow import step, StepResult

    @step('the file "{path}" exists')
    def file_exists(ctx, path):
        return StepResult.check((ctx.change_dir / path).is_file(), f"{path} is missing")

The function receives a ``StepContext`` and the pattern's fields, and returns a ``StepResult``
(or a bool).  Steps come from specflow's own modules (each exposes a ``StepCollector`` named
``STEPS``), from modules named in ``specflow.yaml`` (``steps: [module]``), and from the
entry-point group ``specflow.steps``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.entrypoints import entry_points
from specflow.errors import StepError
from specflow.structs import Struct, field

if TYPE_CHECKING:
    from specflow.definitions.config import HubConfig

ENTRY_POINT_GROUP = "specflow.steps"


class StepResult(Struct, frozen=True):
    """The outcome of one step: pass or fail, with a reason a person can act on."""

    ok: bool
    reason: str = ""

    @classmethod
    def passed(cls, reason: str = "") -> StepResult:
        return cls(True, reason)

    @classmethod
    def failed(cls, reason: str) -> StepResult:
        return cls(False, reason)

    @classmethod
    def check(cls, ok: bool, reason_if_failed: str, reason_if_passed: str = "") -> StepResult:
        return cls(True, reason_if_passed) if ok else cls(False, reason_if_failed)


class StepContext(Struct):
    """What a step may look at: the hub, the change, its workspaces and the hub's configuration.

    ``hub_root`` is the hub as the change sees it: its own worktree of the hub, on its branch
    (where its folder, and the specs it will change, are).  ``hub_checkout`` is the hub's own
    checkout (where ``specflow.yaml`` and the repos' relative paths start).  ``change`` is the change
    as the engine runs it (a ``RunnableChange``: id, folder, record, history, workspaces); for the
    rest of the API open ``specflow.Hub.open(ctx.hub).change(ctx.change_id)``.  The plain fields are
    there so simple steps need not know it.
    """

    hub_root: Path
    change_id: str
    change_dir: Path
    state: str
    config: HubConfig
    workspaces: Mapping[str, Path] = field(default_factory=dict)
    change: Any = None
    phase: str | None = None
    command_timeout: float = 600.0
    extra: dict[str, Any] = field(default_factory=dict)
    hub_checkout: Path | None = None

    @property
    def hub(self) -> Path:
        """The hub's own checkout (``hub_root`` when not told otherwise)."""
        return self.hub_checkout or self.hub_root


StepFunc = Callable[..., "StepResult | bool"]


class StepDef(Struct, frozen=True):
    """A registered step: its pattern, the function, and where it came from.

    A pattern without fields matches its own text only; one with fields is compiled by ``parse``
    the first time a text starts with its literal head (most texts never do).
    """

    pattern: str
    func: StepFunc
    source: str

    @cached_property
    def _head(self) -> str:
        """The pattern's literal text before its first field (the whole pattern when it has none)."""
        brace = min((i for i in (self.pattern.find("{"), self.pattern.find("}")) if i >= 0), default=-1)
        return self.pattern if brace < 0 else self.pattern[:brace]

    @cached_property
    def _plain(self) -> re.Pattern[str] | None:
        """The pattern as the regular expression ``parse`` makes of it, when each of its fields is a
        plain ``{name}`` (named once, no format) and it has no literal brace: no ``parse`` needed."""
        parts = _PLAIN_FIELD.split(self.pattern)  # literal, name, literal, ..., literal
        literals, names = parts[0::2], parts[1::2]
        if any("{" in lit or "}" in lit for lit in literals) or len(set(names)) != len(names):
            return None
        body = re.escape(literals[0]) + "".join(
            f"(?P<{name}>.+?)" + re.escape(lit) for name, lit in zip(names, literals[1:], strict=True)
        )
        return re.compile(rf"\A{body}\Z", re.DOTALL)

    @cached_property
    def _parser(self) -> Any:
        try:
            return _parse().compile(self.pattern, case_sensitive=True)
        except Exception as exc:  # parse raises plain ValueErrors and regex errors alike
            raise StepError(
                f"step pattern {self.pattern!r} ({self.source}) cannot be read: {exc}",
                fix="write fields as {name} or {name:d}, and a literal brace as {{ or }}",
            ) from None

    def match(self, text: str) -> dict[str, Any] | None:
        if self._head == self.pattern:
            return {} if text == self.pattern else None
        if not text.startswith(self._head):
            return None
        if self._plain is not None:
            found = self._plain.match(text)
            return None if found is None else found.groupdict()
        result = self._parser.parse(text)
        if result is None:
            return None
        return dict(result.named)


_PLAIN_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _parse() -> Any:
    """The ``parse`` library (with ``decimal``, ~4 ms to import): its door, for patterns with fields."""
    import parse

    return parse


def _make(pattern: str, func: StepFunc, source: str) -> StepDef:
    return StepDef(pattern, func, source)


class StepCollector:
    """Collects steps declared with its decorator, for a module to expose as ``STEPS``."""

    def __init__(self) -> None:
        self.defs: list[StepDef] = []

    def __call__(self, pattern: str) -> Callable[[StepFunc], StepFunc]:
        def decorate(func: StepFunc) -> StepFunc:
            source = f"{func.__module__}.{func.__qualname__}"
            # re-importing (reloading) a module redefines its steps: replace, don't duplicate
            self.defs = [d for d in self.defs if not (d.pattern == pattern and d.source == source)]
            self.defs.append(_make(pattern, func, source))
            return func

        return decorate

    def __iter__(self) -> Any:
        return iter(self.defs)


#: Steps declared by users with ``specflow.step``; modules that use it are imported on demand.
USER_STEPS = StepCollector()


def step(pattern: str) -> Callable[[StepFunc], StepFunc]:
    """Declare a step for workflows: ``@step('the file "{path}" is signed')``."""
    return USER_STEPS(pattern)


class StepOutcome(Struct, frozen=True):
    """A step evaluated: its text, result, and how long it took."""

    text: str
    ok: bool
    reason: str
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.text, "ok": self.ok, "reason": self.reason}


class StepRegistry:
    """Every step known to a hub; matches step text to exactly one definition.

    ``on_demand``: step modules loaded the first time a text matches none of the steps known, or
    every pattern is asked for (their steps never overlap the others').
    """

    def __init__(self, defs: Iterable[StepDef] = (), on_demand: Iterable[str] = ()) -> None:
        self._defs: list[StepDef] = []
        self._pending = list(on_demand)
        self._on_demand = tuple(self._pending)
        for d in defs:
            self.add(d)

    def _load_pending(self) -> bool:
        """Load the on-demand step modules not loaded yet; False when there were none."""
        pending, self._pending = self._pending, []
        for provider in pending:
            self.extend(importlib.import_module(provider).STEPS)
        return bool(pending)

    def fingerprint(self) -> list[Any]:
        """What matching steps depends on: every pattern, with the on-demand modules standing for
        theirs by their files (so a cached workflow check needs none of them loaded)."""
        own = sorted(d.pattern for d in self._defs if not d.source.startswith(tuple(m + "." for m in self._on_demand)))
        return [own, [module_identity(m) for m in self._on_demand]]

    def add(self, d: StepDef) -> None:
        for existing in self._defs:
            if existing.pattern == d.pattern and existing.func is not d.func:
                raise StepError(
                    f"step {d.pattern!r} is defined twice: in {existing.source} and {d.source}",
                    fix="rename one of them",
                )
            if existing.pattern == d.pattern:
                return
        self._defs.append(d)

    def extend(self, defs: Iterable[StepDef]) -> None:
        for d in defs:
            self.add(d)

    @property
    def patterns(self) -> list[str]:
        self._load_pending()
        return [d.pattern for d in self._defs]

    def find(self, text: str) -> tuple[StepDef, dict[str, Any]] | None:
        """The definition matching ``text`` and its parsed fields, or None."""
        found = [(d, m) for d in self._defs if (m := d.match(text)) is not None]
        if not found and self._load_pending():
            return self.find(text)
        if not found:
            return None
        if len(found) > 1:
            # Prefer the pattern with the fewest fields: the most literal one.
            found.sort(key=lambda dm: len(dm[1]))
            if len(found[0][1]) == len(found[1][1]):
                names = ", ".join(repr(d.pattern) for d, _ in found)
                raise StepError(f"step {text!r} is ambiguous: it matches {names}")
        return found[0]

    def suggest(self, text: str, n: int = 3) -> list[str]:
        """The closest known patterns to ``text``, for 'did you mean' messages."""
        import difflib  # only on an error's path

        return difflib.get_close_matches(text, self.patterns, n=n, cutoff=0.4) or self.patterns[:n]

    def unknown_step_message(self, text: str) -> str:
        close = self.suggest(text)
        return f"unknown step {text!r}" + ("; closest known: " + ", ".join(repr(c) for c in close) if close else "")

    def evaluate(self, text: str, ctx: StepContext) -> StepOutcome:
        """Run the step ``text`` against ``ctx``; an exception inside a step is a failure."""

        hit = self.find(text)
        if hit is None:
            return StepOutcome(text, False, self.unknown_step_message(text))
        d, params = hit
        start = time.monotonic()
        try:
            raw = d.func(ctx, **params)
        except StepError:
            raise
        except Exception as exc:  # a user's step crashing is that step failing, with the cause
            return StepOutcome(text, False, f"step raised {type(exc).__name__}: {exc}", time.monotonic() - start)
        result = raw if isinstance(raw, StepResult) else StepResult(bool(raw), "" if raw else "did not hold")
        return StepOutcome(text, result.ok, result.reason, time.monotonic() - start)


PROVIDERS = (
    "specflow.steps.builtin",
    "specflow.steps.workspace",
    "specflow.steps.cost",
)
#: specflow's step modules loaded when a workflow names one of their steps: OpenSpec's rules
#: (validation, merge, archive) cost ~25 ms to import, and most phases name none of them.
ON_DEMAND = ("specflow.steps.openspec",)


def module_identity(name: str) -> list[str | int]:
    """Module ``name``'s file as ``[name, mtime_ns, size]``, found without importing it."""
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None else None
    try:
        st = os.stat(origin) if origin else None
    except OSError:
        st = None
    return [name, st.st_mtime_ns if st else 0, st.st_size if st else 0]


#: Modules some hub's ``steps:`` list imported in this process.  The steps they declare with
#: ``@specflow.step`` belong to the hubs that list them; steps declared anywhere else (the host
#: program, entry points) are seen by every hub.
_HUB_MODULES: set[str] = set()


def _hub_module_of(module: str) -> str | None:
    """The hub step module ``module`` is (or is a submodule of), if any."""
    owners = [name for name in _HUB_MODULES if module == name or module.startswith(name + ".")]
    return max(owners, key=len) if owners else None


def _forget_steps_of(name: str) -> None:
    """Drop the user steps declared by module ``name`` and its submodules (before reloading it)."""
    USER_STEPS.defs = [
        d for d in USER_STEPS.defs if not (d.func.__module__ == name or d.func.__module__.startswith(name + "."))
    ]


def _import_user_module(name: str, hub_root: Path) -> None:
    root = str(hub_root)
    added = root not in sys.path
    if added:
        sys.path.insert(0, root)
    try:
        module = sys.modules.get(name)
        if (
            module is not None
            and getattr(module, "__file__", None)
            and not Path(str(module.__file__)).is_relative_to(root)
        ):
            _forget_steps_of(name)  # the other hub's version declared them
            importlib.reload(module)  # a module of the same name from another hub
        elif module is None:
            importlib.import_module(name)
    except ImportError as exc:
        raise StepError(
            f"specflow.yaml: steps: cannot import module {name!r}: {exc}",
            fix=f"make {name!r} importable from the hub ({hub_root}) or installed in this environment",
        ) from exc
    except SyntaxError as exc:
        raise StepError(
            f"{exc.filename}:{exc.lineno}: step module {name!r} has a syntax error: {exc.msg}",
            fix="fix the module named under 'steps:' in specflow.yaml",
        ) from None
    except Exception as exc:
        raise StepError(
            f"step module {name!r} failed while being imported: {type(exc).__name__}: {exc}",
            fix="fix the module named under 'steps:' in specflow.yaml (run 'python -c \"import "
            f"{name}\"' in the hub to see the traceback)",
        ) from None
    finally:
        if added:
            sys.path.remove(root)


def build_registry(hub_root: Path | None = None, modules: Iterable[str] = ()) -> StepRegistry:
    """Every step for a hub: specflow's own, entry points, and the hub's configured modules."""
    registry = StepRegistry(on_demand=ON_DEMAND)
    for provider in PROVIDERS:
        registry.extend(importlib.import_module(provider).STEPS)
    for ep in entry_points(ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:
            raise StepError(f"step plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
    mine = list(modules)
    for name in mine:
        _import_user_module(name, hub_root or Path.cwd())
        _HUB_MODULES.add(name)
    # another hub's step modules, imported earlier in this process, are not this hub's steps
    registry.extend(d for d in USER_STEPS if _hub_module_of(d.func.__module__) in (None, *mine))
    return registry
