"""``specflow checkpoints <id> [--json]``: the change's checkpoints, with the files changed since."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from specflow.cli.render import table
    from specflow.workspace.workspaces import for_change

    change = ctx.open_hub().change(args.id)
    ws = for_change(change)
    cps = ws.checkpoints()
    changed = ws.changed_since(cps) if cps else {}
    if args.json:
        ctx.json([{**cp.to_dict(), "changed_since": changed.get(cp.number, 0)} for cp in cps])
        return 0
    if not cps:
        ctx.out(f"change '{change.id}' has no checkpoints yet (one is taken before every agent turn)")
        return 0
    rows = [
        [
            str(cp.number),
            cp.time[:19].replace("T", " "),
            cp.phase,
            cp.state,
            str(changed.get(cp.number, 0)),
            ", ".join(sorted(cp.refs)),
        ]
        for cp in cps
    ]
    table(
        ctx,
        ["#", "time (UTC)", "phase", "state", "files changed since", "workspaces"],
        rows,
        title=f"checkpoints of {change.id}",
    )
    return 0
