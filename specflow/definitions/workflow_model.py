"""The schema of a workflow file (pydantic): used only to validate it.

Validated data becomes the plain frozen records of ``specflow.definitions.workflow``; a workflow found
in the validation cache is rebuilt without importing pydantic at all.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from specflow.definitions.model_check import validate_doc
from specflow.errors import WorkflowError
from specflow.yamlio import YamlDoc


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


def _tuple_of_str(v: Any) -> Any:
    if isinstance(v, str):
        return (v,)
    return v


def _none_is_empty(v: Any) -> Any:
    return {} if v is None else v


StrTuple = Annotated[tuple[str, ...], BeforeValidator(_tuple_of_str)]


class WorkspaceSchema(_Model):
    """A writing gate: hub globs (Jinja fields allowed) and/or the change's worktrees."""

    write: StrTuple = ()
    worktrees: bool = False


class StateSchema(_Model):
    """A state (phase) of a workflow."""

    description: str = ""
    prompt: str | None = None
    workspace: Literal["read-only"] | WorkspaceSchema = "read-only"
    record: str | None = None
    agent: str | None = None
    model: str | None = None
    max_turns: int | None = Field(default=None, ge=1)
    timeout: float | None = Field(default=None, gt=0)
    budget_usd: float | None = Field(default=None, gt=0)
    network: Literal["any", "loopback", "none"] | None = None
    """What network the phase's agent may use (its sandbox enforces it); default: the agent's."""
    actions: StrTuple = ()
    final: bool = False

    @field_validator("record")
    @classmethod
    def _record_in_change_folder(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = v.replace("\\", "/").split("/")
        if v.startswith("/") or ".." in parts or ".specflow" in parts or not v.strip():
            raise ValueError(
                f"record {v!r} must be a file inside the change folder (relative, no '..', not in .specflow/)"
            )
        return v


class ScenarioSchema(_Model):
    """A transition written as given / when / then."""

    scenario: str
    given: StrTuple = ()
    when: str = "advance"
    from_: StrTuple = Field(alias="from")
    to: str
    then: StrTuple = ()

    @model_validator(mode="after")
    def _trigger_name(self) -> ScenarioSchema:
        if not re.fullmatch(r"[a-z][a-z0-9_-]*", self.when):
            raise ValueError(f"trigger {self.when!r} must be a lowercase word (letters, digits, '-' or '_')")
        return self


class WorkflowSchema(_Model):
    """A whole workflow definition."""

    workflow: str
    version: int = 1
    description: str = ""
    initial: str
    states: dict[str, Annotated[StateSchema, BeforeValidator(_none_is_empty)]]
    scenarios: tuple[ScenarioSchema, ...]


def validate_workflow(doc: YamlDoc) -> dict[str, Any]:
    """The workflow document checked against the schema, as plain data (``WorkflowError`` naming file,
    line and key path otherwise)."""
    return validate_doc(WorkflowSchema, doc, WorkflowError).model_dump(by_alias=True)
