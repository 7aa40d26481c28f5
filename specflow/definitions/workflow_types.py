"""A validated workflow as plain frozen records (``specflow.structs``): states, their gates, and scenarios.

Built from the schema's output (``specflow.definitions.workflow_model``) or from the validation
cache, so a run that finds its workflow cached never imports pydantic.  Loading and checking live
in ``specflow.definitions.workflow``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from specflow.structs import Struct, asdict, field

ANY_STATE = "*"


def _tuple(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return tuple(v)


class WorkspaceSpec(Struct, frozen=True):
    """A writing gate: hub globs (Jinja fields allowed) and/or the change's worktrees."""

    write: tuple[str, ...] = ()
    worktrees: bool = False


class GateSpec(Struct, frozen=True):
    """The gate of a phase, normalised: read-only, or what may be written."""

    read_only: bool = True
    write: tuple[str, ...] = ()
    worktrees: bool = False


class StateDef(Struct, frozen=True):
    """A state (phase) of a workflow."""

    description: str = ""
    prompt: str | None = None
    workspace: str | WorkspaceSpec = "read-only"
    record: str | None = None
    agent: str | None = None
    model: str | None = None
    max_turns: int | None = None
    timeout: float | None = None
    budget_usd: float | None = None
    network: str | None = None
    actions: tuple[str, ...] = ()
    final: bool = False

    @property
    def gate(self) -> GateSpec:
        ws = self.workspace
        if isinstance(ws, WorkspaceSpec):
            return GateSpec(read_only=not (ws.write or ws.worktrees), write=ws.write, worktrees=ws.worktrees)
        return GateSpec(read_only=True)

    @property
    def runs_agent(self) -> bool:
        return self.prompt is not None


class Scenario(Struct, frozen=True):
    """A transition written as given / when / then."""

    scenario: str
    from_: tuple[str, ...]
    to: str
    given: tuple[str, ...] = ()
    when: str = "advance"
    then: tuple[str, ...] = ()


class Transition(Struct, frozen=True):
    """One edge of the state graph: a scenario leaving one concrete state."""

    source: str
    trigger: str
    target: str
    scenario: int
    """The scenario's index in ``Workflow.scenarios`` (its place in the file)."""


class Workflow(Struct, frozen=True):
    """A whole, validated workflow definition."""

    workflow: str
    initial: str
    states: dict[str, StateDef]
    scenarios: tuple[Scenario, ...]
    version: int = 1
    description: str = ""
    source: str = field(default="<memory>", compare=False)

    @property
    def name(self) -> str:
        return self.workflow

    def sources_of(self, scenario: Scenario) -> list[str]:
        """The concrete states a scenario leaves from (``*`` is every non-final state)."""
        if ANY_STATE in scenario.from_:
            return [s for s, d in self.states.items() if not d.final]
        return list(scenario.from_)

    def transitions(self) -> Iterator[Transition]:
        """Every edge, scenario by scenario (``from: '*'`` stands for every non-final state)."""
        for index, sc in enumerate(self.scenarios):
            for src in self.sources_of(sc):
                yield Transition(src, sc.when, sc.to, index)

    def scenarios_from(self, state: str, trigger: str | None = None) -> list[Scenario]:
        """The scenarios that leave ``state`` (fired by ``trigger``, if given)."""
        return [sc for sc in self.scenarios if (trigger is None or sc.when == trigger) and state in self.sources_of(sc)]

    def triggers_from(self, state: str) -> list[str]:
        """The triggers that can fire from ``state``, in the file's order."""
        seen: list[str] = []
        for sc in self.scenarios_from(state):
            if sc.when not in seen:
                seen.append(sc.when)
        return seen

    def path_to(self, start: str, target: str, trigger: str = "advance") -> list[Scenario] | None:
        """The shortest chain of ``trigger`` scenarios from ``start`` to ``target``."""
        queue: deque[tuple[str, list[Scenario]]] = deque([(start, [])])
        seen = {start}
        while queue:
            state, path = queue.popleft()
            if state == target and path:
                return path
            for sc in self.scenarios_from(state, trigger):
                if sc.to == target:
                    return [*path, sc]
                if sc.to not in seen:
                    seen.add(sc.to)
                    queue.append((sc.to, [*path, sc]))
        return None

    @property
    def final_states(self) -> list[str]:
        return [s for s, d in self.states.items() if d.final]

    def to_dict(self) -> dict[str, Any]:
        """Plain data, keys as in the YAML (``from`` rather than ``from_``)."""
        data = asdict(self)
        data.pop("source", None)
        for sc in data["scenarios"]:
            sc["from"] = sc.pop("from_")
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<memory>") -> Workflow:
        """Build from validated data (the schema's dump, or the cache)."""
        return cls(
            workflow=data["workflow"],
            initial=data["initial"],
            states={name: _state_from_dict(sd) for name, sd in data["states"].items()},
            scenarios=tuple(_scenario_from_dict(sc) for sc in data["scenarios"]),
            version=int(data.get("version", 1)),
            description=data.get("description", ""),
            source=source,
        )


def _state_from_dict(data: dict[str, Any] | None) -> StateDef:
    sd = dict(data or {})
    ws = sd.get("workspace", "read-only")
    if isinstance(ws, dict):
        sd["workspace"] = WorkspaceSpec(write=_tuple(ws.get("write")), worktrees=bool(ws.get("worktrees")))
    sd["actions"] = _tuple(sd.get("actions"))
    return StateDef(**sd)


def _scenario_from_dict(sc: dict[str, Any]) -> Scenario:
    return Scenario(
        scenario=sc["scenario"],
        from_=_tuple(sc["from"] if "from" in sc else sc["from_"]),
        to=sc["to"],
        given=_tuple(sc.get("given")),
        when=sc.get("when", "advance"),
        then=_tuple(sc.get("then")),
    )
