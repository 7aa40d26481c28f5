"""Workflow definitions: found by name, then parsed, schema-checked, graph-checked, step-checked.

Loading is layered, each layer with errors that name file, line and key path:

1. YAML (``specflow.yamlio``: safe, YAML 1.2, no tags, bounded),
2. schema (``specflow.definitions.workflow_model``: pydantic, unknown keys refused),
3. graph checks (``specflow.definitions.invariants``: one invariant each),
4. every ``given``/``then`` step matches a registered step, every action exists,
5. every prompt template exists and parses.

A workflow that passed every layer becomes the records of ``specflow.definitions.workflow_types``
(re-exported here) and is cached, so later loads skip the checks and never import pydantic.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from specflow.definitions import cache as defcache
from specflow.definitions.invariants import check_graph, workflow_error
from specflow.definitions.resources import search_path
from specflow.definitions.templates import PromptRenderer
from specflow.definitions.workflow_types import (
    ANY_STATE,
    GateSpec,
    Scenario,
    StateDef,
    Transition,
    Workflow,
    WorkspaceSpec,
)
from specflow.errors import DefinitionError, WorkflowError
from specflow.steps.actions import actions_fingerprint, build_actions
from specflow.steps.registry import StepRegistry, build_registry
from specflow.yamlio import YamlDoc, load_yaml

__all__ = [
    "ANY_STATE",
    "GateSpec",
    "Scenario",
    "StateDef",
    "Transition",
    "Workflow",
    "WorkspaceSpec",
    "available_workflows",
    "check_graph",
    "check_steps",
    "check_templates",
    "find_workflow",
    "load_workflow",
    "load_workflow_by_name",
    "parse_workflow",
]


def check_steps(
    wf: Workflow, registry: StepRegistry, doc: YamlDoc | None = None, actions: Collection[str] | None = None
) -> None:
    """Raise ``WorkflowError`` for a step no registered pattern matches, or an unknown action."""
    for i, sc in enumerate(wf.scenarios):
        for key in ("given", "then"):
            for j, text in enumerate(getattr(sc, key)):
                if registry.find(text) is None:
                    raise workflow_error(
                        doc,
                        ("scenarios", i, key, j),
                        registry.unknown_step_message(text),
                        "fix the step's wording, or define it with @specflow.step in a module"
                        " listed under 'steps:' in specflow.yaml",
                    )
    if actions is not None:
        _check_actions(wf, doc, actions)


def _check_actions(wf: Workflow, doc: YamlDoc | None, actions: Collection[str]) -> None:
    for name, st in wf.states.items():
        for j, action in enumerate(st.actions):
            if action not in actions:
                known = ", ".join(sorted(actions)) or "none"
                raise workflow_error(doc, ("states", name, "actions", j), f"unknown action {action!r} (known: {known})")


def check_templates(wf: Workflow, hub_root: Path | None, doc: YamlDoc | None = None) -> None:
    """Raise ``WorkflowError`` if a prompt template is missing; ``TemplateError`` if it won't parse."""
    renderer = PromptRenderer(hub_root)
    for name, st in wf.states.items():
        if st.prompt is None:
            continue
        if renderer.find(st.prompt) is None:
            searched = ", ".join(str(d) for d in renderer.dirs)
            raise workflow_error(
                doc,
                ("states", name, "prompt"),
                f"template {st.prompt!r} not found (searched {searched})",
                f"create {st.prompt} in the hub's openspec/templates/, or name a built-in template",
            )
        renderer.check(st.prompt)
        for j, glob in enumerate(st.gate.write):
            try:
                renderer.check_string(glob)
            except Exception as exc:
                raise workflow_error(
                    doc, ("states", name, "workspace", "write", j), f"bad glob template: {exc}"
                ) from None


def parse_workflow(doc: YamlDoc) -> Workflow:
    """Schema and graph checks of a parsed document (no steps or templates)."""
    from specflow.definitions.workflow_model import validate_workflow  # the door of pydantic

    if not isinstance(doc.data, dict):
        raise WorkflowError(
            "expected a mapping with 'workflow', 'initial', 'states' and 'scenarios'",
            file=doc.file,
            line=1,
        )
    wf = Workflow.from_dict(validate_workflow(doc), source=str(doc.file))
    check_graph(wf, doc)
    return wf


def load_workflow(
    path: Path | str,
    *,
    hub_root: Path | None = None,
    registry: StepRegistry | None = None,
    actions: Collection[str] | None = None,
    use_cache: bool = True,
) -> Workflow:
    """Load and fully check the workflow file at ``path``.

    With a hub, a workflow that passed every check is cached (``specflow.definitions.cache``) and later
    loads skip the checks while nothing they depended on has changed.
    """
    path = Path(path)
    if registry is None:
        registry = build_registry(hub_root)
    key = _cache_key(path, registry, actions) if hub_root is not None and use_cache else None
    if key is not None and hub_root is not None:
        cached = defcache.load(hub_root, "workflow", path, key)
        if cached is not None:
            return Workflow.from_dict(cached, source=str(path))
    wf = _check_every_layer(path, hub_root, registry, build_actions() if actions is None else actions)
    if key is not None and hub_root is not None:
        defcache.store(hub_root, "workflow", path, key, wf.to_dict(), _template_dependencies(wf, hub_root))
    return wf


def _cache_key(path: Path, registry: StepRegistry, actions: Collection[str] | None) -> str | None:
    """What the checks of ``path`` depend on, hashed; None when the file cannot be read.

    The steps and actions stand for themselves by their modules' files where they are not loaded
    yet, so a cached workflow loads none of them.
    """
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    known = actions_fingerprint() if actions is None else sorted(actions)
    return defcache.make_key("workflow", path, raw, [registry.fingerprint(), known])


def _check_every_layer(path: Path, hub_root: Path | None, registry: StepRegistry, actions: Collection[str]) -> Workflow:
    try:
        doc = load_yaml(path)
    except WorkflowError:
        raise
    except DefinitionError as exc:
        raise WorkflowError(exc.detail, file=exc.file, line=exc.line, key_path=exc.key_path, fix=exc.fix) from None
    wf = parse_workflow(doc)
    check_steps(wf, registry, doc, actions)
    check_templates(wf, hub_root, doc)
    return wf


def _template_dependencies(wf: Workflow, hub_root: Path) -> list[Path]:
    """The files template lookup depended on: each hit, and each earlier candidate (absent)."""
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
