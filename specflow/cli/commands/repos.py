"""``specflow repos <id> [add|remove NAME...]``: the repos a change affects."""

from __future__ import annotations

import argparse

from specflow.cli.context import CliContext


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
    from specflow.engine.lock import ChangeLock
    from specflow.engine.records import read_state, write_state
    from specflow.errors import ConfigError, StateError, WorkspaceError
    from specflow.workspace.workspaces import for_change

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
    unknown = [n for n in args.names if n not in hub.config.repos]
    if unknown:
        raise ConfigError(
            f"unknown repo(s) {', '.join(unknown)} (configured in specflow.yaml: {', '.join(configured) or 'none'})",
            fix="list component repos under 'repos:' in specflow.yaml, or pick a configured one",
        )
    with ChangeLock(hub.root, change.id, command=f"repos {args.action}"):
        record = read_state(change.dir)
        if record is None:
            raise StateError(
                f"change '{change.id}' is not managed by specflow (no .specflow/state.json)",
                fix=f"put it under a workflow with 'specflow adopt {change.id}'",
            )
        repos = list(record.get("repos") or [])
        if args.action == "add":
            changed = [n for n in args.names if n not in repos]
            repos += changed
        else:
            changed = [n for n in args.names if n in repos]
            if not args.force:
                existing = for_change(change).existing()
                busy = [n for n in changed if n in existing]
                if busy:
                    raise WorkspaceError(
                        f"repo {busy[0]} already has a worktree for '{change.id}' at {existing[busy[0]]}",
                        fix="merge or discard its work first; --force stops tracking it (the worktree and branch stay)",
                    )
            repos = [r for r in repos if r not in changed]
        record["repos"] = repos
        write_state(change.dir, record)
    if args.json:
        ctx.json({"change": change.id, "repos": repos})
    else:
        verb = "added" if args.action == "add" else "removed"
        ctx.out(
            f"{verb}: {', '.join(changed) or 'nothing (no change)'};"
            f" '{change.id}' affects: {', '.join(repos) or 'no repo'}"
        )
    return 0
