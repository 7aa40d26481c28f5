"""``specflow workflows list|show NAME|validate PATH``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from specflow.cli.context import CliContext
from specflow.cli.render import say, table
from specflow.definitions.workflow import available_workflows, find_workflow, load_workflow
from specflow.errors import DefinitionError, HubNotFoundError, SpecflowError


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="every workflow visible from the hub")
    ls.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="a workflow's states and scenarios")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    val = sub.add_parser("validate", help="check workflow files: YAML, schema, graph, steps, templates")
    val.add_argument("path", type=Path, nargs="+", help="one or more workflow files")
    val.add_argument("--json", action="store_true", help="per file: ok, and each error's line, key, message and fix")


def _hub_root(ctx: CliContext) -> Path | None:

    try:
        return ctx.open_hub().root
    except HubNotFoundError:
        return None


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    root = _hub_root(ctx)
    registry = ctx.open_hub().steps if root is not None else None
    if args.action == "list":
        found = available_workflows(root)
        if args.json:
            ctx.json({name: str(path) for name, path in found.items()})
            return 0
        table(ctx, ["workflow", "file"], [[n, str(p)] for n, p in found.items()])
        return 0
    if args.action == "show":
        wf = load_workflow(find_workflow(args.name, root), hub_root=root, registry=registry)
        if args.json:
            ctx.json(wf.to_dict())
            return 0
        say(ctx, f"{wf.name} (v{wf.version}) — {wf.source}", "bold")
        if wf.description:
            ctx.out(wf.description)
        ctx.out("")
        rows = []
        for name, st in wf.states.items():
            gate = st.gate
            g = "read-only" if gate.read_only else ", ".join([*(["worktrees"] if gate.worktrees else []), *gate.write])
            rows.append(
                [
                    name + (" (initial)" if name == wf.initial else "") + (" (final)" if st.final else ""),
                    st.prompt or "-",
                    g if st.prompt else "-",
                    ", ".join(st.actions) or "-",
                ]
            )
        table(ctx, ["state", "prompt", "gate", "actions"], rows)
        ctx.out("")
        for sc in wf.scenarios:
            say(ctx, f"Scenario: {sc.scenario}", "bold")
            for g in sc.given:
                ctx.out(f"  Given {g}")
            ctx.out(f"  When {sc.when} from {', '.join(sc.from_)} to {sc.to}")
            for t in sc.then:
                ctx.out(f"  Then {t}")
        return 0
    return _validate(ctx, args.path, root, registry, as_json=args.json)


def _validate(ctx: CliContext, paths: list[Path], root: Path | None, registry: Any, *, as_json: bool) -> int:
    """Check each file; exit 1 when any is invalid (text: its error on stderr, as for any refusal)."""

    reports: list[dict[str, Any]] = []
    code = 0
    for path in paths:
        report: dict[str, Any] = {
            "file": str(path),
            "ok": True,
            "workflow": None,
            "states": None,
            "scenarios": None,
            "errors": [],
        }
        reports.append(report)
        try:
            wf = load_workflow(path, hub_root=root, registry=registry)
        except SpecflowError as exc:
            code = max(code, exc.exit_code)
            where = exc if isinstance(exc, DefinitionError) else None
            report["ok"] = False
            report["errors"].append(
                {
                    "file": where.file if where else None,
                    "line": where.line if where else None,
                    "key": where.key_path if where else None,
                    "message": where.detail if where else exc.message,
                    "fix": exc.fix,
                }
            )
            if not as_json:
                ctx.error(exc)
            continue
        report.update(workflow=wf.name, states=len(wf.states), scenarios=len(wf.scenarios))
        if not as_json:
            ctx.out(f"{path}: workflow '{wf.name}' is valid: {len(wf.states)} states, {len(wf.scenarios)} scenarios")
    if as_json:
        ctx.json(reports)
    return code
