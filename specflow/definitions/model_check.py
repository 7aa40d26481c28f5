"""Checking parsed definitions against pydantic models, with errors a person can act on.

Turns pydantic's ``ValidationError`` into ``DefinitionError``s that carry file, line and key path
and, for an unknown key, the closest allowed one.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from specflow.errors import DefinitionError
from specflow.yamlio import YamlDoc, dotted

M = TypeVar("M", bound=BaseModel)


def _candidates(ann: Any) -> list[Any]:
    """The concrete types behind ``Annotated``, ``Optional`` and unions."""
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _candidates(typing.get_args(ann)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [c for a in typing.get_args(ann) for c in _candidates(a)]
    return [ann]


def _step_into(ann: Any, part: str | int) -> Any:
    for cand in _candidates(ann):
        origin = typing.get_origin(cand)
        if isinstance(cand, type) and issubclass(cand, BaseModel) and isinstance(part, str):
            for name, f in cand.model_fields.items():
                if part in (name, f.alias):
                    return f.annotation
        elif origin is dict:
            return typing.get_args(cand)[1]
        elif origin in (list, tuple) and isinstance(part, int):
            return typing.get_args(cand)[0]
    return None


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys of the mapping at ``loc``, for 'did you mean'."""
    ann: Any = model
    for part in loc:
        ann = _step_into(ann, part)
        if ann is None:
            return []
    for cand in _candidates(ann):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return [f.alias or name for name, f in cand.model_fields.items() if not f.exclude]
    return []


def _clean_loc(loc: tuple[Any, ...], data: Any = None) -> tuple[str | int, ...]:
    """``loc`` without the union-branch labels pydantic adds (``literal['x']``, ``Model``, ...).

    With the document's ``data``, a part is kept exactly when it is a key (or index) found by
    walking the data, so a user's key that looks like a label (a state named ``Review``) stays.
    """
    out: list[str | int] = []
    current = data
    for part in loc:
        if data is not None:
            if isinstance(current, dict) and str(part) in current:
                out.append(str(part))
                current = current[str(part)]
            elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
                out.append(part)
                current = current[part]
            elif isinstance(current, dict) and isinstance(part, str) and not _is_label(part):
                out.append(part)  # a missing or unknown key: the error is about it
                current = None
            continue
        if isinstance(part, int) or not _is_label(str(part)):
            out.append(part)
    return tuple(out)


def _is_label(text: str) -> bool:
    return "[" in text or "(" in text or text.startswith("function-") or text[:1].isupper()


def _priority(error: Any) -> tuple[int, int]:
    """Which of several errors to report: the most specific one (a bad key beats a bad union branch)."""
    kind = error["type"]
    rank = 0 if kind in ("extra_forbidden", "missing") else 2 if kind in ("literal_error", "model_type") else 1
    return (rank, -len(_clean_loc(error["loc"])))


def validate_doc(model: type[M], doc: YamlDoc, error_cls: type[DefinitionError] = DefinitionError) -> M:
    """Validate ``doc.data`` as ``model``; raise ``error_cls`` for the first problem found."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = min(errors, key=_priority)
        path = _clean_loc(first["loc"], doc.data)
        kind = first["type"]
        msg = first["msg"]
        fix: str | None = None
        if kind == "extra_forbidden":
            key = str(path[-1])
            allowed = _fields_at(model, path[:-1])
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            msg = f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            fix = "allowed keys here: " + ", ".join(allowed) if allowed else "remove the key"
            key_path = dotted(path[:-1])
        elif kind == "missing":
            msg = f"missing required key {str(path[-1])!r}"
            key_path = dotted(path[:-1])
            fix = f"add '{path[-1]}:' here"
        else:
            key_path = dotted(path)
            inp = first.get("input")
            if not isinstance(inp, (dict, list)):
                msg = f"{msg} (found {inp!r})"
        more = sum(1 for e in errors if e is not first and _priority(e)[0] < 2)
        if more:
            msg += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise error_cls(msg, file=doc.file, line=doc.line_of(path), key_path=key_path or None, fix=fix) from None
