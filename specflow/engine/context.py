"""What a prompt template sees: the change, its artifacts, the gate, CLAUDE.md layers and more.

Every key documented in the README under "Templates" is built here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specflow.engine.records import STATE_DIR

if TYPE_CHECKING:
    from specflow.definitions.workflow import Scenario, Workflow
    from specflow.engine.hub import Change
    from specflow.workspace.gates import GatePolicy

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
    from specflow.openspec.meta import YamlSyntaxError, load_simple_yaml

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
    from specflow.openspec.tasks import parse_tasks

    text = _read(change_dir / "tasks.md")
    tl = parse_tasks(text)
    return {
        "total": tl.total,
        "done": tl.done,
        "open": [t.text for t in tl.items if not t.done],
        "text": text,
    }


def build_context(
    change: Change,
    workflow: Workflow,
    scenario: Scenario | None,
    phase: str,
    gate: GatePolicy | None,
    *,
    workspaces: dict[str, Path] | None = None,
    cwd: Path | None = None,
    record: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The template context for running ``phase`` of ``change``."""
    hub_root = change.hub.root
    record = record if record is not None else (change.record or {})
    state_def = workflow.states[phase]
    artifacts = {name.removesuffix(".md"): _read(change.dir / name) for name in _ARTIFACTS}
    deltas = _delta_specs(change.dir)
    affected: list[dict[str, str]] = []
    for d in deltas:
        main = hub_root / "openspec" / "specs" / d["capability"] / "spec.md"
        if main.is_file():
            affected.append({"capability": d["capability"], "path": str(main), "text": _read(main)})
    claude_md: list[dict[str, str]] = []
    hub_md = hub_root / "CLAUDE.md"
    if hub_md.is_file():
        claude_md.append({"scope": "hub", "path": str(hub_md), "text": _read(hub_md)})
    config = change.hub.config
    for repo in record.get("repos") or []:
        rc = config.repos.get(repo)
        if rc is None:
            continue
        md = (hub_root / rc.path / "CLAUDE.md").resolve()
        if md.is_file():
            claude_md.append({"scope": repo, "path": str(md), "text": _read(md)})
    previous: dict[str, Any] | None = None
    prev_state = record.get("state")
    if prev_state and prev_state in workflow.states:
        prev_def = workflow.states[prev_state]
        if prev_def.record:
            previous = {"phase": prev_state, "record": prev_def.record, "text": _read(change.dir / prev_def.record)}
    failure = record.get("last_failure")
    last_failure = None
    if isinstance(failure, dict) and failure.get("phase") == phase:
        last_failure = {"reasons": list(failure.get("reasons") or []), "at": failure.get("at")}
    os_cfg = _openspec_config(hub_root)
    # rules for the artifacts this phase writes: every rule set, keyed by artifact id
    rules = {str(k): _as_list(v) for k, v in (os_cfg["rules"] or {}).items()}
    given = list(scenario.given) if scenario else []
    then = list(scenario.then) if scenario else []
    meta_goal = ""
    meta = _read(change.dir / ".openspec.yaml")
    m = re.search(r"^goal:\s*(.+)$", meta, re.MULTILINE)
    if m:
        raw = m.group(1).strip()
        try:
            meta_goal = str(json.loads(raw)) if raw.startswith('"') else raw.strip("'")
        except ValueError:
            meta_goal = raw.strip('"').strip("'")
    return {
        "change": {
            "id": change.id,
            "dir": str(change.dir),
            "path": change.dir.relative_to(hub_root).as_posix()
            if change.dir.is_relative_to(hub_root)
            else str(change.dir),
            "goal": meta_goal,
            "state": record.get("state"),
            "workflow": workflow.name,
            "artifacts": artifacts,
            "files": _extra_files(change.dir),
            "specs": deltas,
            "tasks": _tasks(change.dir),
            "repos": list(record.get("repos") or []),
            "approvals": list(record.get("approvals") or []),
        },
        "workflow": {"name": workflow.name, "description": workflow.description},
        "phase": {
            "name": phase,
            "description": state_def.description,
            "from": record.get("state"),
            "record": state_def.record,
            "final": state_def.final,
            "actions": list(state_def.actions),
        },
        "scenario": {"sentence": scenario.scenario if scenario else "", "given": given, "then": then},
        "gate": {
            "description": gate.describe() if gate else "",
            "read_only": gate.read_only if gate else True,
            "write": list(gate.write_globs) if gate else [],
            "worktrees": [str(w) for w in gate.worktrees] if gate else [],
        },
        "hub": {"root": str(hub_root)},
        "workspaces": {k: str(v) for k, v in (workspaces or {}).items()},
        "cwd": str(cwd or hub_root),
        "affected_specs": affected,
        "claude_md": claude_md,
        "openspec": {"context": os_cfg["context"], "rules": rules},
        "previous": previous,
        "last_failure": last_failure,
        "state_dir": STATE_DIR,
    }


def glob_context(change: Change) -> dict[str, Any]:
    """The small context used to render gate globs such as ``openspec/changes/{{ change.id }}/**``."""
    hub_root = change.hub.root
    rel = change.dir.relative_to(hub_root).as_posix() if change.dir.is_relative_to(hub_root) else str(change.dir)
    return {"change": {"id": change.id, "dir": str(change.dir), "path": rel}}
