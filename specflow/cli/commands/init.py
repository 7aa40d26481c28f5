"""``specflow init``: ``openspec/`` and a commented ``specflow.yaml``, offering the repos that link here."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from specflow.cli.context import CliContext
from specflow.definitions.scaffold import InitResult, repos_yaml, scaffold_hub
from specflow.engine.statemerge import register as register_merge

SHARED_NOTE = (
    "shared: hub folders linked into every repo worktree besides openspec/ (shared docs, agent rules);"
    " see the comments in specflow.yaml"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="?", default=None, help="the hub folder (default: -C or the current folder)")
    p.add_argument(
        "--yes", "-y", action="store_true", help="write the sibling repos that link to this hub under 'repos:'"
    )
    p.add_argument("--json", action="store_true", help="the hub, the files created and the repos found, as JSON")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    result = scaffold_hub(Path(args.path or ctx.hub_arg or "."), write_linked=args.yes)
    root = Path(os.path.abspath(result.root))
    # two clones' records of a change merge without conflict (union history, recomputed state)
    result.created.extend(p for p in register_merge(root, gitattributes=True) if p.name == ".gitattributes")
    if args.json:
        ctx.json(
            {
                "root": str(root),
                "created": [os.path.abspath(p) for p in result.created],
                "already_initialised": not result.created,
                "linked_repos": [{"name": r.name, "path": r.path} for r in result.linked],
                "repos_written": result.repos_written,
            }
        )
        return 0
    for p in result.created:
        ctx.out(f"created {os.path.relpath(os.path.abspath(p), root)}")
    if not result.created:
        ctx.out(f"{root} is already a specflow hub; nothing to do")
    _report_linked(ctx, result)
    ctx.out(SHARED_NOTE)
    ctx.out(f"next: specflow -C {root} new <change-id>")
    return 0


def _report_linked(ctx: CliContext, result: InitResult) -> None:
    if not result.linked:
        return
    ctx.out(f"found {len(result.linked)} repo(s) beside the hub whose openspec link leads here:")
    for r in result.linked:
        ctx.out(f"  {r.name}  {r.path}")
    if result.repos_written:
        ctx.out("they are written under 'repos:' in specflow.yaml")
    elif result.config_existed:
        ctx.out("specflow.yaml already exists and was left as it is; to use them, add under 'repos:':")
        ctx.out(repos_yaml(result.linked, active=True).split("repos:\n", 1)[1].rstrip())
    else:
        ctx.out("they are listed, commented out, under 'repos:' in specflow.yaml: uncomment them to apply")
        ctx.out("changes there (next time, 'specflow init --yes' writes them in directly)")
