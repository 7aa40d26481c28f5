"""What a phase sees: its gate, and its prompt rendered over the change, its artifacts, CLAUDE.md layers and more.

Every key documented in the README under "Templates" is built here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.changestate.recordtypes import STATE_DIR, StateRecord
from specflow.definitions.templates import PromptRenderer
from specflow.openspec.discovery import spec_ids
from specflow.openspec.flatyaml import YamlSyntaxError, load_simple_yaml
from specflow.openspec.tasks import parse_tasks

if TYPE_CHECKING:
    from specflow.definitions.workflow import Scenario, Workflow
    from specflow.engine.phasechange import PhaseChange
    from specflow.workspace.gates import GatePolicy
    from specflow.workspace.workspaces import Workspaces

_ARTIFACTS = ("proposal.md", "design.md", "tasks.md")
_MAX_DOC = 50_000


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return ""
    return text if len(text) <= _MAX_DOC else text[:_MAX_DOC] + "\n[... truncated ...]\n"


def _as_list(value: Any) -> list[str]:
    """A rule set as a list of strings: one string is one rule; a list keeps its items."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)]


def _openspec_config(hub_root: Path) -> dict[str, Any]:
    path = hub_root / "openspec" / "config.yaml"
    if not path.is_file():
        return {"context": "", "rules": {}}
    try:
        # the common case (flat keys) is read without a full YAML parser
        data = load_simple_yaml(path.read_text(encoding="utf-8", errors="replace")) or {}
    except YamlSyntaxError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    rules = data.get("rules") if isinstance(data.get("rules"), dict) else {}
    return {"context": str(data.get("context") or ""), "rules": rules, "raw": data}


def _delta_specs(change_dir: Path) -> list[dict[str, str]]:
    specs = change_dir / "specs"
    if not specs.is_dir():
        return []
    out = []
    for p in sorted(specs.rglob("spec.md")):
        out.append({"capability": p.parent.relative_to(specs).as_posix(), "path": str(p), "text": _read(p)})
    return out


def _extra_files(change_dir: Path) -> dict[str, str]:
    """Other Markdown records of the change (e.g. exploration.md), by file name."""
    out: dict[str, str] = {}
    for p in sorted(change_dir.glob("*.md")):
        if p.name not in _ARTIFACTS:
            out[p.name] = _read(p)
    return out


def _tasks(change_dir: Path) -> dict[str, Any]:
    text = _read(change_dir / "tasks.md")
    tl = parse_tasks(text)
    return {
        "total": tl.total,
        "done": tl.done,
        "open": [t.text for t in tl.items if not t.done],
        "text": text,
    }


def _claude_md_layers(change: PhaseChange, record: StateRecord) -> list[dict[str, str]]:
    """The hub's CLAUDE.md (as the change's branch has it), then each affected repo's, in that order."""
    hub_root = change.hub.root
    layers: list[dict[str, str]] = []
    hub_md = change.root / "CLAUDE.md"
    if hub_md.is_file():
        layers.append({"scope": "hub", "path": str(hub_md), "text": _read(hub_md)})
    for repo in record.get("repos") or []:
        rc = change.hub.config.repos.get(repo)
        if rc is None:
            continue
        md = (hub_root / rc.path / "CLAUDE.md").resolve()
        if md.is_file():
            layers.append({"scope": repo, "path": str(md), "text": _read(md)})
    return layers


def _affected_specs(hub_root: Path, deltas: list[dict[str, str]]) -> list[dict[str, str]]:
    """The main specs the change's deltas modify."""
    affected = []
    for d in deltas:
        main = hub_root / "openspec" / "specs" / d["capability"] / "spec.md"
        if main.is_file():
            affected.append({"capability": d["capability"], "path": str(main), "text": _read(main)})
    return affected


def _previous(change: PhaseChange, workflow: Workflow, record: StateRecord) -> dict[str, Any] | None:
    """The record file (e.g. exploration.md) of the phase the change completed last."""
    prev_state = record.get("state")
    if not prev_state or prev_state not in workflow.states:
        return None
    prev_def = workflow.states[prev_state]
    if not prev_def.record:
        return None
    return {"phase": prev_state, "record": prev_def.record, "text": _read(change.dir / prev_def.record)}


def _last_failure(record: StateRecord, phase: str) -> dict[str, Any] | None:
    """Why the last attempt at ``phase`` failed, so the next prompt can say it."""
    failure = record.get("last_failure")
    if not isinstance(failure, dict) or failure.get("phase") != phase:
        return None
    return {"reasons": list(failure.get("reasons") or []), "at": failure.get("at")}


def _goal(change_dir: Path) -> str:
    """The ``goal:`` of the change's ``.openspec.yaml`` (a JSON string or a plain scalar)."""
    m = re.search(r"^goal:\s*(.+)$", _read(change_dir / ".openspec.yaml"), re.MULTILINE)
    if not m:
        return ""
    raw = m.group(1).strip()
    try:
        return str(json.loads(raw)) if raw.startswith('"') else raw.strip("'")
    except ValueError:
        return raw.strip('"').strip("'")


def _rel(change: PhaseChange) -> str:
    hub_root = change.root
    return change.dir.relative_to(hub_root).as_posix() if change.dir.is_relative_to(hub_root) else str(change.dir)


def _change_view(
    change: PhaseChange, workflow: Workflow, record: StateRecord, deltas: list[dict[str, str]]
) -> dict[str, Any]:
    return {
        "id": change.id,
        "dir": str(change.dir),
        "path": _rel(change),
        "goal": _goal(change.dir),
        "state": record.get("state"),
        "workflow": workflow.name,
        "artifacts": {name.removesuffix(".md"): _read(change.dir / name) for name in _ARTIFACTS},
        "files": _extra_files(change.dir),
        "specs": deltas,
        "tasks": _tasks(change.dir),
        "repos": list(record.get("repos") or []),
        "approvals": list(record.get("approvals") or []),
    }


def _gate_view(gate: GatePolicy | None) -> dict[str, Any]:
    return {
        "description": gate.describe() if gate else "",
        "read_only": gate.read_only if gate else True,
        "write": list(gate.write_globs) if gate else [],
        "worktrees": [str(w) for w in gate.worktrees] if gate else [],
    }


def build_context(
    change: PhaseChange,
    workflow: Workflow,
    scenario: Scenario | None,
    phase: str,
    gate: GatePolicy | None,
    *,
    workspaces: dict[str, Path] | None = None,
    cwd: Path | None = None,
    record: StateRecord | None = None,
) -> dict[str, Any]:
    """The template context for running ``phase`` of ``change``."""
    hub_root = change.root
    record = record if record is not None else (change.record or {})
    state_def = workflow.states[phase]
    deltas = _delta_specs(change.dir)
    os_cfg = _openspec_config(hub_root)
    return {
        "change": _change_view(change, workflow, record, deltas),
        "workflow": {"name": workflow.name, "description": workflow.description},
        "phase": {
            "name": phase,
            "description": state_def.description,
            "from": record.get("state"),
            "record": state_def.record,
            "final": state_def.final,
            "actions": list(state_def.actions),
        },
        "scenario": {
            "sentence": scenario.scenario if scenario else "",
            "given": list(scenario.given) if scenario else [],
            "then": list(scenario.then) if scenario else [],
        },
        "gate": _gate_view(gate),
        "hub": {"root": str(hub_root)},
        "workspaces": {k: str(v) for k, v in (workspaces or {}).items()},
        "cwd": str(cwd or hub_root),
        "affected_specs": _affected_specs(hub_root, deltas),
        # the capabilities that have a main spec: a delta spec of any other one creates it
        "capabilities": spec_ids(hub_root / "openspec" / "specs"),
        "claude_md": _claude_md_layers(change, record),
        # rules for the artifacts this phase writes: every rule set, keyed by artifact id
        "openspec": {
            "context": os_cfg["context"],
            "rules": {str(k): _as_list(v) for k, v in (os_cfg["rules"] or {}).items()},
        },
        "previous": _previous(change, workflow, record),
        "last_failure": _last_failure(record, phase),
        "state_dir": STATE_DIR,
    }


def phase_gate(change: PhaseChange, workflow: Workflow, phase: str, workspaces: Workspaces) -> GatePolicy:
    """The gate of ``phase`` for ``change``: its globs rendered, resolved over the workspaces."""
    spec = workflow.states[phase].gate
    renderer = PromptRenderer(change.hub.root)
    gctx = glob_context(change)
    write = [renderer.render_string(g, gctx) for g in spec.write]
    return workspaces.policy(read_only=spec.read_only, write=write, worktrees=spec.worktrees, phase=phase)


def phase_prompt(
    change: PhaseChange,
    workflow: Workflow,
    record: StateRecord,
    scenario: Scenario | None,
    phase: str,
    workspaces: Workspaces,
    gate: GatePolicy,
) -> str:
    """The rendered prompt of ``phase`` ("" for a phase without an agent)."""
    state_def = workflow.states[phase]
    if state_def.prompt is None:
        return ""
    cwd = workspaces.agent_cwd(worktrees=state_def.gate.worktrees)
    context = build_context(
        change, workflow, scenario, phase, gate, workspaces=workspaces.existing(), cwd=cwd, record=record
    )
    return PromptRenderer(change.hub.root).render(state_def.prompt, context)


def glob_context(change: PhaseChange) -> dict[str, Any]:
    """The small context used to render gate globs such as ``openspec/changes/{{ change.id }}/**``."""
    hub_root = change.root
    rel = change.dir.relative_to(hub_root).as_posix() if change.dir.is_relative_to(hub_root) else str(change.dir)
    return {"change": {"id": change.id, "dir": str(change.dir), "path": rel}}
