"""``specflow list [--specs] [--json]``: open changes with their tasks and specflow state, or specs.

``--json`` prints OpenSpec's document (``{changes: [{name, completedTasks, totalTasks,
lastModified, status}], root}``) with each change's specflow ``state`` and ``workflow`` added
(null for a change specflow does not manage).
"""

from __future__ import annotations

import argparse
import time

from specflow.cli.context import CliContext
from specflow.cli.render import table
from specflow.openspec import discovery, listing
from specflow.openspec.collate import collation_key


def add_arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_mutually_exclusive_group()
    what.add_argument("--specs", action="store_true", help="list main specs instead of changes")
    what.add_argument("--changes", action="store_true", help="list open changes (the default)")
    p.add_argument("--sort", choices=("recent", "name"), default="recent", help="order of changes")
    p.add_argument("--json", action="store_true", help="OpenSpec's JSON document")


def _ago(ms: int) -> str:
    secs = int(time.time() - ms / 1000)
    days, hours, mins = secs // 86400, secs // 3600, secs // 60
    if days > 30:
        return time.strftime("%Y-%m-%d", time.localtime(ms / 1000))
    if days > 0:
        return f"{days}d ago"
    if hours > 0:
        return f"{hours}h ago"
    if mins > 0:
        return f"{mins}m ago"
    return "just now"


def _task_text(total: int, done: int) -> str:
    if total == 0:
        return "No tasks"
    if done == total:
        return "✓ Complete"
    return f"{done}/{total} tasks"


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    root = ctx.hub_root()
    if args.specs:
        if args.json:
            ctx.json(listing.list_specs_json(root))
            return 0
        specs = listing.list_specs(root)
        if not specs:
            ctx.out("No specs found.")
            return 0

        table(ctx, ["Spec", "Requirements"], [[s.id, s.requirement_count] for s in specs])
        return 0

    elsewhere = ctx.changes_on_branches()
    if args.json:
        doc = listing.list_changes_json(root, elsewhere)
        if args.sort == "name":
            doc["changes"].sort(key=lambda c: collation_key(c["name"]))
        ctx.json(doc)
        return 0
    changes = listing.list_changes(root, elsewhere)
    if args.sort == "name":
        changes.sort(key=lambda c: collation_key(c.name))
    if not changes:
        ctx.out("No active changes found.")
        return 0

    rows = [
        [
            c.name,
            "not a change" if c.nested else _task_text(c.total, c.completed),
            c.state or "-",
            c.workflow or ("unmanaged" if c.state is None else "-"),
            _ago(c.last_modified_ms),
        ]
        for c in changes
    ]
    table(ctx, ["Change", "Tasks", "State", "Workflow", "Modified"], rows)

    for c in changes:
        if c.nested:
            ctx.out("")
            ctx.out(f"Warning: {discovery.describe_nested(c.name, c.nested)}")
        if c.state_error:
            ctx.err(f"warning: {c.state_error}")
    return 0
