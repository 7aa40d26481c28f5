"""Typed records that cost nothing to define: the base class of specflow's plain data classes.

``dataclasses`` writes each class's ``__init__``, ``__eq__``, ``__repr__`` … as source and compiles
it with ``exec`` when the class is defined (~0.4 ms a class, plus ``inspect`` to import), which was a
third of what ``specflow advance`` spent importing.  A ``Struct`` subclass reads its annotations and
defaults once, in ``__init_subclass__``, and shares generic methods that look them up, so defining a
class costs microseconds.  ``dataclass_transform`` tells type checkers to treat subclasses as
dataclasses: constructor calls stay checked under ``mypy --strict``.

    class Checkpoint(Struct, frozen=True):
        number: int
        paths: list[str] = field(default_factory=list)

What the code relies on is kept: positional and keyword construction, defaults and factories,
``field(init=False)`` (set by ``__post_init__``), ``field(compare=False)``, frozen instances, equality
and hashing over the fields (a mutable record is unhashable), ``repr``, ``__match_args__``, pickling and
copying, and ``replace`` and ``asdict`` in place of their ``dataclasses`` namesakes.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any, ClassVar, Literal, NoReturn, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")
_S = TypeVar("_S", bound="Struct")


class _Missing:
    """The absence of a default (``None`` is a default like any other)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """What ``field(...)`` leaves in a class body, read (and removed) when the class is defined."""

    __slots__ = ("compare", "default", "default_factory", "init")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | None, init: bool, compare: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.compare = compare


@overload
def field(*, default: _T, init: bool = ..., compare: bool = ...) -> _T: ...
@overload
def field(*, default_factory: Callable[[], _T], init: bool = ..., compare: bool = ...) -> _T: ...
@overload
def field(*, init: Literal[False], compare: bool = ...) -> Any: ...
def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | None = None,
    init: bool = True,
    compare: bool = True,
) -> Any:
    """A field's default, its factory (a fresh value per instance), or ``init=False`` for one set later."""
    if default is not MISSING and default_factory is not None:
        raise ValueError("a field takes a default or a default_factory, not both")
    return Field(default, default_factory, init, compare)


_CLASSVAR = ("ClassVar", "typing.ClassVar")


def _is_classvar(annotation: object) -> bool:
    if isinstance(annotation, str):  # ``from __future__ import annotations``: as written
        return annotation.startswith(_CLASSVAR)
    return annotation is ClassVar or getattr(annotation, "__origin__", None) is ClassVar


def _no_fields(_: object) -> tuple[()]:
    return ()


class _Spec:
    """A class's fields, as the generic methods use them (read in one pass when the class is defined)."""

    __slots__ = (
        "arity",
        "compared",
        "filled",
        "init_names",
        "init_set",
        "plain",
        "post_init",
        "type_name",
    )

    def __init__(self, cls: type, fields: dict[str, Field]) -> None:
        init_names: list[str] = []
        compared: list[str] = []
        # every field ``__init__`` sets, in order, with its default and factory
        filled: list[tuple[str, Any, Callable[[], Any] | None]] = []
        after = ""
        for name, f in fields.items():
            optional = f.default is not MISSING or f.default_factory is not None
            if f.init or optional:
                filled.append((name, f.default, f.default_factory))
            if f.init:
                init_names.append(name)
                if optional:
                    after = name
                elif after:
                    raise TypeError(f"{cls.__name__}: field {name!r} without a default follows {after!r}")
            if f.compare:
                compared.append(name)
        self.init_names = tuple(init_names)
        self.init_set = frozenset(init_names)
        self.arity = len(init_names)
        self.filled = tuple(filled)
        self.compared: Callable[[Any], Any] = attrgetter(*compared) if compared else _no_fields
        self.post_init: Callable[[Any], None] | None = getattr(cls, "__post_init__", None)
        # nothing to add once every init field is given
        self.plain = self.post_init is None and len(filled) == self.arity
        self.type_name = cls.__name__

    def build(self, obj: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """``__init__`` in full: keywords, defaults, factories, the checks, ``__post_init__``.

        The instance's ``__dict__`` is filled in the fields' order whatever the call's, as a dataclass's
        is: records turned into JSON through it keep their keys' order.
        """
        names = self.init_names
        if len(args) > len(names):
            raise TypeError(f"{self.type_name}() takes {len(names)} positional arguments but {len(args)} were given")
        given = dict(zip(names, args, strict=False))
        if kwargs:
            if not self.init_set.issuperset(kwargs):
                unknown = sorted(set(kwargs) - self.init_set)
                raise TypeError(f"{self.type_name}() got an unexpected keyword argument {unknown[0]!r}")
            twice = sorted(set(given).intersection(kwargs))
            if twice:
                raise TypeError(f"{self.type_name}() got multiple values for argument {twice[0]!r}")
            given.update(kwargs)
        values = obj.__dict__
        missing = []
        for name, default, factory in self.filled:
            if name in given:
                values[name] = given[name]
            elif default is not MISSING:
                values[name] = default
            elif factory is not None:
                values[name] = factory()
            else:
                missing.append(name)
        if missing:
            raise TypeError(f"{self.type_name}() missing required arguments: {', '.join(map(repr, missing))}")
        if self.post_init is not None:
            self.post_init(obj)


def _frozen_setattr(self: Struct, name: str, value: object) -> NoReturn:
    raise AttributeError(f"cannot assign to field {name!r} of frozen {type(self).__name__}")


def _frozen_delattr(self: Struct, name: str) -> NoReturn:
    raise AttributeError(f"cannot delete field {name!r} of frozen {type(self).__name__}")


def _hash(self: Struct) -> int:
    return hash(self.__struct_spec__.compared(self))


@dataclass_transform(field_specifiers=(field, Field))
class Struct:
    """Base of a typed record: subclass it with annotated fields (``frozen=True`` for immutable ones)."""

    __slots__ = ()
    __struct_spec__: ClassVar[_Spec]
    __struct_fields__: ClassVar[tuple[str, ...]]
    __struct_fields_map__: ClassVar[dict[str, Field]]

    def __init_subclass__(cls, *, frozen: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited = base.__dict__.get("__struct_fields_map__")
            if inherited is not None:
                fields.update(inherited)
        namespace = cls.__dict__
        own = namespace.get("__annotations__", {})  # the class's own, as written (not inspect: its import)
        for name, annotation in own.items():
            if annotation.startswith(_CLASSVAR) if annotation.__class__ is str else _is_classvar(annotation):
                continue
            value = namespace.get(name, MISSING)
            if isinstance(value, Field):
                fields[name] = value
                if value.default is MISSING:
                    delattr(cls, name)
                else:
                    setattr(cls, name, value.default)
            else:
                fields[name] = Field(value, None, True, True)
        cls.__struct_fields_map__ = fields
        cls.__struct_spec__ = spec = _Spec(cls, fields)
        cls.__struct_fields__ = tuple(fields)
        cls.__match_args__ = spec.init_names  # type: ignore[attr-defined,misc]
        if frozen:
            cls.__setattr__ = _frozen_setattr  # type: ignore[assignment,method-assign]
            cls.__delattr__ = _frozen_delattr  # type: ignore[assignment,method-assign]
            if cls.__dict__.get("__hash__") is None:
                cls.__hash__ = _hash  # type: ignore[assignment,method-assign]
        elif "__hash__" not in cls.__dict__:
            cls.__hash__ = None  # type: ignore[assignment]  # equal by value, so unhashable while mutable

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        spec = self.__struct_spec__
        if spec.plain and not kwargs and len(args) == spec.arity:  # every field, in order: the common call
            self.__dict__.update(zip(spec.init_names, args, strict=False))
        else:
            spec.build(self, args, kwargs)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        compared = self.__struct_spec__.compared
        return bool(compared(self) == compared(other))

    def __repr__(self) -> str:
        shown = ", ".join(f"{n}={getattr(self, n, MISSING)!r}" for n in self.__struct_fields__)
        return f"{type(self).__qualname__}({shown})"


def replace(obj: _S, /, **changes: Any) -> _S:
    """A copy of ``obj`` with ``changes``, made through ``__init__`` (as ``dataclasses.replace``)."""
    for name in obj.__struct_spec__.init_names:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return type(obj)(**changes)


def asdict(obj: Struct) -> dict[str, Any]:
    """``obj``'s fields as a dict, records inside it (also in lists, tuples, dicts) as dicts too."""
    return {name: _plain(getattr(obj, name)) for name in obj.__struct_fields__}


def _plain(value: Any) -> Any:
    if isinstance(value, Struct):
        return asdict(value)
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_plain(k), _plain(v)) for k, v in value.items())
    return value


__all__ = ["MISSING", "Field", "Struct", "asdict", "field", "replace"]
