"""``specflow repos <id> [add|remove NAME...]``: the repos a change affects."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext
from specflow.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", help="the change id")
    p.add_argument(
        "action",
        nargs="?",
        choices=["add", "remove", "list"],
        default="list",
        help="add or remove repos (default: list them)",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="repo names from specflow.yaml")
    p.add_argument("--force", action="store_true", help="remove a repo even if its worktree exists")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    hub = ctx.open_hub()
    change = hub.change(args.id)
    configured = list(hub.config.repos)
    if args.action == "list":
        repos = change.repos
        if args.json:
            ctx.json({"change": change.id, "repos": repos, "configured": configured})
        elif repos:
            ctx.out("\n".join(repos))
        else:
            single = "" if configured else " (single-repo hub: the change is applied to the hub itself)"
            ctx.out(f"change '{change.id}' affects no repo{single}")
        return 0
    if not args.names:
        raise ConfigError(
            f"'specflow repos {change.id} {args.action}' needs at least one repo name",
            fix=f"name one of: {', '.join(configured) or 'none configured'}",
        )
    if args.action == "add":
        result = change.set_repos(add=args.names)
    else:
        result = change.set_repos(remove=args.names, force=args.force)
    if args.json:
        ctx.json({"change": change.id, "repos": result.repos})
    else:
        verb = "added" if args.action == "add" else "removed"
        changed = result.added if args.action == "add" else result.removed
        ctx.out(
            f"{verb}: {', '.join(changed) or 'nothing (no change)'};"
            f" '{change.id}' affects: {', '.join(result.repos) or 'no repo'}"
        )
    return 0
