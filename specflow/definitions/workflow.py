"""Workflow definitions: BDD-style YAML parsed, schema-checked, graph-checked, step-checked.

Loading is layered, each layer with errors that name file, line and key path:

1. YAML (``specflow.definitions.yamlio``: safe, YAML 1.2, no tags),
2. schema (``specflow.definitions.workflow_model``: pydantic, unknown keys refused),
3. graph checks (one initial state, every target exists, every state reachable, a final state
   reachable from every state, nothing leaves a final state),
4. every ``given``/``then`` step matches a registered step, every action exists,
5. every prompt template exists and parses.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from specflow.definitions.yamlio import YamlDoc, dotted
from specflow.errors import WorkflowError

ANY_STATE = "*"


def _tuple(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return (v,)
    return tuple(v)


@dataclass(frozen=True)
class WorkspaceSpec:
    """A writing gate: hub globs (Jinja fields allowed) and/or the change's worktrees."""

    write: tuple[str, ...] = ()
    worktrees: bool = False


@dataclass(frozen=True)
class GateSpec:
    """The gate of a phase, normalised: read-only, or what may be written."""

    read_only: bool = True
    write: tuple[str, ...] = ()
    worktrees: bool = False


@dataclass(frozen=True)
class StateDef:
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


@dataclass(frozen=True)
class Scenario:
    """A transition written as given / when / then."""

    scenario: str
    from_: tuple[str, ...]
    to: str
    given: tuple[str, ...] = ()
    when: str = "advance"
    then: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workflow:
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

    def scenarios_from(self, state: str, trigger: str | None = None) -> list[Scenario]:
        return [sc for sc in self.scenarios if (trigger is None or sc.when == trigger) and state in self.sources_of(sc)]

    def triggers_from(self, state: str) -> list[str]:
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
        states: dict[str, StateDef] = {}
        for name, sd in data["states"].items():
            sd = dict(sd or {})
            ws = sd.get("workspace", "read-only")
            if isinstance(ws, dict):
                sd["workspace"] = WorkspaceSpec(write=_tuple(ws.get("write")), worktrees=bool(ws.get("worktrees")))
            sd["actions"] = _tuple(sd.get("actions"))
            states[name] = StateDef(**sd)
        scenarios = tuple(
            Scenario(
                scenario=sc["scenario"],
                from_=_tuple(sc["from"] if "from" in sc else sc["from_"]),
                to=sc["to"],
                given=_tuple(sc.get("given")),
                when=sc.get("when", "advance"),
                then=_tuple(sc.get("then")),
            )
            for sc in data["scenarios"]
        )
        return cls(
            workflow=data["workflow"],
            initial=data["initial"],
            states=states,
            scenarios=scenarios,
            version=int(data.get("version", 1)),
            description=data.get("description", ""),
            source=source,
        )


def _err(doc: YamlDoc | None, path: tuple[str | int, ...], message: str, fix: str | None = None) -> WorkflowError:
    return WorkflowError(
        message,
        file=doc.file if doc else None,
        line=doc.line_of(path) if doc else None,
        key_path=dotted(path) or None,
        fix=fix,
    )


def check_graph(wf: Workflow, doc: YamlDoc | None = None) -> None:
    """Raise ``WorkflowError`` unless the workflow is a sound state graph."""
    import difflib

    names = list(wf.states)

    def unknown(state: str, path: tuple[str | int, ...]) -> WorkflowError:
        close = difflib.get_close_matches(state, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return _err(doc, path, f"unknown state {state!r}{hint}", f"use one of: {', '.join(names)}")

    if wf.initial not in wf.states:
        raise unknown(wf.initial, ("initial",))
    if wf.states[wf.initial].final:
        raise _err(doc, ("initial",), f"the initial state {wf.initial!r} is final", "make a non-final state initial")
    if not wf.final_states:
        raise _err(doc, ("states",), "no state is final", "mark the last phase with 'final: true'")
    seen_edges: set[tuple[str, str, str]] = set()
    for i, sc in enumerate(wf.scenarios):
        for j, src in enumerate(sc.from_):
            if src != ANY_STATE and src not in wf.states:
                raise unknown(src, ("scenarios", i, "from") if len(sc.from_) == 1 else ("scenarios", i, "from", j))
            if src != ANY_STATE and wf.states[src].final:
                raise _err(
                    doc,
                    ("scenarios", i, "from"),
                    f"scenario {sc.scenario!r} leaves the final state {src!r}",
                    "nothing may leave a final state: remove the scenario or make the state non-final",
                )
        if sc.to not in wf.states:
            raise unknown(sc.to, ("scenarios", i, "to"))
        for src in wf.sources_of(sc):
            edge = (src, sc.when, sc.to)
            if edge in seen_edges:
                raise _err(
                    doc,
                    ("scenarios", i),
                    f"scenario {sc.scenario!r} repeats the transition {src} --{sc.when}--> {sc.to}",
                    "merge the two scenarios' steps into one",
                )
            seen_edges.add(edge)
    # reachability from the initial state
    reach = {wf.initial}
    frontier = [wf.initial]
    while frontier:
        state = frontier.pop()
        for sc in wf.scenarios_from(state):
            if sc.to not in reach:
                reach.add(sc.to)
                frontier.append(sc.to)
    for state in names:
        if state not in reach:
            raise _err(
                doc,
                ("states", state),
                f"state {state!r} is unreachable from the initial state {wf.initial!r}",
                f"add a scenario with 'to: {state}', or remove the state",
            )
    # a final state reachable from every state
    finals = set(wf.final_states)
    can_finish = set(finals)
    changed = True
    while changed:
        changed = False
        for sc in wf.scenarios:
            if sc.to in can_finish:
                for src in wf.sources_of(sc):
                    if src not in can_finish:
                        can_finish.add(src)
                        changed = True
    for state in names:
        if state not in can_finish:
            raise _err(
                doc,
                ("states", state),
                f"state {state!r} is a dead end: no final state can be reached from it",
                "add a scenario leaving it, or mark it 'final: true'",
            )


def check_steps(wf: Workflow, registry: Any, doc: YamlDoc | None = None, actions: Any = None) -> None:
    """Raise ``WorkflowError`` for a step no registered pattern matches, or an unknown action."""
    for i, sc in enumerate(wf.scenarios):
        for key in ("given", "then"):
            for j, text in enumerate(getattr(sc, key)):
                if registry.find(text) is None:
                    raise _err(
                        doc,
                        ("scenarios", i, key, j),
                        registry.unknown_step_message(text),
                        "fix the step's wording, or define it with @specflow.step in a module"
                        " listed under 'steps:' in specflow.yaml",
                    )
    if actions is not None:
        for name, st in wf.states.items():
            for j, action in enumerate(st.actions):
                if action not in actions:
                    known = ", ".join(sorted(actions)) or "none"
                    raise _err(
                        doc,
                        ("states", name, "actions", j),
                        f"unknown action {action!r} (known: {known})",
                    )


def check_templates(wf: Workflow, hub_root: Path | None, doc: YamlDoc | None = None) -> None:
    """Raise ``WorkflowError`` if a prompt template is missing; ``TemplateError`` if it won't parse."""
    from specflow.engine.prompts import PromptRenderer

    renderer = PromptRenderer(hub_root)
    for name, st in wf.states.items():
        if st.prompt is None:
            continue
        if renderer.find(st.prompt) is None:
            searched = ", ".join(str(d) for d in renderer.dirs)
            raise _err(
                doc,
                ("states", name, "prompt"),
                f"template {st.prompt!r} not found (searched {searched})",
                f"create {st.prompt} in the hub's openspec/templates/, or name a built-in template",
            )
        renderer.check(st.prompt)
        gate = st.gate
        for j, glob in enumerate(gate.write):
            try:
                renderer.check_string(glob)
            except Exception as exc:
                raise _err(doc, ("states", name, "workspace", "write", j), f"bad glob template: {exc}") from None


def parse_workflow(doc: YamlDoc) -> Workflow:
    """Schema and graph checks of a parsed document (no steps or templates)."""
    from specflow.definitions.model_check import validate_doc
    from specflow.definitions.workflow_model import WorkflowSchema

    if not isinstance(doc.data, dict):
        raise WorkflowError(
            "expected a mapping with 'workflow', 'initial', 'states' and 'scenarios'",
            file=doc.file,
            line=1,
        )
    validated = validate_doc(WorkflowSchema, doc, WorkflowError)
    wf = Workflow.from_dict(validated.model_dump(by_alias=True), source=str(doc.file))
    check_graph(wf, doc)
    return wf


def load_workflow(
    path: Path | str,
    *,
    hub_root: Path | None = None,
    registry: Any = None,
    actions: Any = None,
    use_cache: bool = True,
) -> Workflow:
    """Load and fully check the workflow file at ``path``.

    With a hub, a workflow that passed every check is cached (``specflow.definitions.cache``) and later
    loads skip the checks while nothing they depended on has changed.
    """
    from specflow.definitions import cache as defcache
    from specflow.definitions.yamlio import load_yaml
    from specflow.errors import DefinitionError

    path = Path(path)
    if registry is None:
        from specflow.steps.registry import build_registry

        registry = build_registry(hub_root)
    if actions is None:
        from specflow.engine.actions import build_actions

        actions = build_actions()
    key: str | None = None
    if hub_root is not None and use_cache:
        try:
            raw = path.read_bytes()
        except OSError:
            raw = None
        if raw is not None:
            key = defcache.make_key("workflow", path, raw, [sorted(registry.patterns), sorted(actions)])
            cached = defcache.load(hub_root, "workflow", path, key)
            if cached is not None:
                return Workflow.from_dict(cached, source=str(path))
    try:
        doc = load_yaml(path)
    except WorkflowError:
        raise
    except DefinitionError as exc:
        raise WorkflowError(exc.detail, file=exc.file, line=exc.line, key_path=exc.key_path, fix=exc.fix) from None
    wf = parse_workflow(doc)
    check_steps(wf, registry, doc, actions)
    check_templates(wf, hub_root, doc)
    if key is not None and hub_root is not None:
        defcache.store(hub_root, "workflow", path, key, wf.to_dict(), _template_dependencies(wf, hub_root))
    return wf


def _template_dependencies(wf: Workflow, hub_root: Path) -> list[Path]:
    """The files template lookup depended on: each hit, and each earlier candidate (absent)."""
    from specflow.definitions.resources import search_path
    from specflow.engine.prompts import PromptRenderer

    renderer = PromptRenderer(hub_root)
    deps: list[Path] = []
    for st in wf.states.values():
        if st.prompt is None:
            continue
        for used in renderer.check(st.prompt):  # the template and what it imports
            for d in search_path("templates", hub_root):
                deps.append(d / used)
                if (d / used).is_file():
                    break
    return deps


def find_workflow(name: str, hub_root: Path | None) -> Path:
    """The file of workflow ``name``: the hub's, then the user's, then the built-in one."""
    from specflow.definitions.resources import search_path

    if "/" in name or "\\" in name or name.startswith("."):
        raise WorkflowError(
            f"invalid workflow name {name!r}",
            fix="name a workflow (e.g. 'openspec'); to check a file use 'specflow workflows validate PATH'",
        )
    dirs = search_path("workflows", hub_root)
    for d in dirs:
        for ext in (".yaml", ".yml"):
            p = d / f"{name}{ext}"
            if p.is_file():
                return p
    known = sorted({p.stem for d in dirs if d.is_dir() for p in d.glob("*.y*ml")})
    raise WorkflowError(
        f"unknown workflow {name!r} (known: {', '.join(known) or 'none'})",
        fix=f"create openspec/workflows/{name}.yaml in the hub, or use one of the known workflows",
    )


def available_workflows(hub_root: Path | None) -> dict[str, Path]:
    """Every workflow name visible from the hub, mapped to the file that wins."""
    from specflow.definitions.resources import search_path

    found: dict[str, Path] = {}
    for d in search_path("workflows", hub_root):
        if d.is_dir():
            for p in sorted(d.glob("*.y*ml")):
                found.setdefault(p.stem, p)
    return found


def load_workflow_by_name(name: str, hub_root: Path | None, **kwargs: Any) -> Workflow:
    """Find and load workflow ``name``; the file's ``workflow:`` must be that name.

    Changes record the name, and later runs find the file by it: a copied file that kept
    another workflow's name would silently run under the other one.
    """
    path = find_workflow(name, hub_root)
    wf = load_workflow(path, hub_root=hub_root, **kwargs)
    if wf.name != name:
        import re

        text = path.read_text(encoding="utf-8", errors="replace")
        m = re.search(r"^workflow\s*:", text, re.MULTILINE)
        line = text.count("\n", 0, m.start()) + 1 if m else None
        raise WorkflowError(
            f"the file of workflow {name!r} names itself {wf.name!r}",
            file=path,
            line=line,
            key_path="workflow",
            fix=f"set 'workflow: {name}' in {path.name}, or rename the file to {wf.name}.yaml",
        )
    return wf


def mermaid(wf: Workflow, current: str | None = None) -> str:
    """The workflow as a Mermaid state diagram, with ``current`` highlighted."""
    lines = ["stateDiagram-v2", f"    [*] --> {wf.initial}"]
    for sc in wf.scenarios:
        for src in wf.sources_of(sc):
            lines.append(f"    {src} --> {sc.to}: {sc.when}")
    for s in wf.final_states:
        lines.append(f"    {s} --> [*]")
    if current and current in wf.states:
        lines.append("    classDef current fill:#f9d71c,stroke:#333,stroke-width:2px")
        lines.append(f"    class {current} current")
    return "\n".join(lines) + "\n"
