"""Checking parsed definitions against pydantic models, with errors a person can act on.

Turns pydantic's ``ValidationError`` into ``DefinitionError``s that carry file, line and key path
and, for an unknown key, the closest allowed one.
"""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from specflow.errors import DefinitionError
from specflow.yamlio import YamlDoc, dotted

M = TypeVar("M", bound=BaseModel)


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys of the mapping at ``loc`` (best effort), for 'did you mean'."""
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            ann = field.annotation
        elif isinstance(current, dict):
            ann = current.get("value")
        else:
            return []
        # unwrap Optional / list / dict / union to the first BaseModel inside
        stack, found = [ann], None
        while stack:
            t = stack.pop(0)
            if isinstance(t, type) and issubclass(t, BaseModel):
                found = t
                break
            stack.extend(typing.get_args(t))
        current = found if found is not None else {"value": None}
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def validate_doc(model: type[M], doc: YamlDoc, error_cls: type[DefinitionError] = DefinitionError) -> M:
    """Validate ``doc.data`` as ``model``; raise ``error_cls`` for the first problem found."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        # pydantic puts union/tagged branch names into loc; keep only real keys
        path = tuple(p for p in loc if isinstance(p, int) or not str(p)[:1].isupper())
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
        more = len(errors) - 1
        if more:
            msg += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise error_cls(
            msg, file=doc.file, line=doc.line_of(path), key_path=key_path or None, fix=fix
        ) from None
