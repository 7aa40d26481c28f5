"""``specflow demo [--dir PATH] [--agent NAME]``: a change driven through every phase, for real.

Copies the example hub and its two repos into a new folder, then shows each step as it happens:
the gate of each phase, the checkpoints, the agent's live progress, the write the gate refuses
and puts back, the approval, the diff, the merge and the archived spec.  It ends with where
everything is and the commands to explore it.  No API key and no network are needed: the
scripted demo agent ships with specflow (``--agent claude-code`` runs the real Claude Code).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from specflow.cli.commands import status as cmd_status
from specflow.cli.context import CliContext
from specflow.cli.render import LiveProgress, heading, say
from specflow.demo.example_hub import check_agent, check_destination
from specflow.demo.run import run_demo

if TYPE_CHECKING:
    from specflow.cli.render import LiveProgress
    from specflow.demo.report import DemoEvent, DemoResult


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dir",
        metavar="PATH",
        help="a new or empty folder for the hub and the two repos (default: a new temporary folder)",
    )
    p.add_argument(
        "--agent",
        metavar="NAME",
        help="run every phase with this agent instead of the scripted one (e.g. claude-code)",
    )
    p.add_argument("--json", action="store_true", help="no progress; print the result as JSON")


class DemoPrinter:
    """Turns demo events into numbered sections, live agent progress and plain facts."""

    def __init__(self, ctx: CliContext, *, quiet: bool = False) -> None:
        self.ctx = ctx
        self.quiet = quiet
        self.section = 0
        self.progress: LiveProgress | None = None

    def close(self) -> None:
        """Stop the live progress of the current section, if any."""
        if self.progress is not None:
            self.progress.__exit__(None, None, None)
            self.progress = None

    def __call__(self, event: DemoEvent) -> None:
        if self.quiet:
            return

        kind = event.kind
        if kind == "agent":
            if event.agent_event is None:
                return
            if self.progress is None:
                self.progress = LiveProgress(self.ctx).__enter__()
            self.progress(event.agent_event)
            return
        if kind == "section":
            self.close()
            self.section += 1
            self.ctx.out("")
            heading(self.ctx, f"{self.section}. {event.message}")
            return
        if kind == "command":
            say(self.ctx, f"  $ {event.message}", "bold cyan")
        elif kind == "warning":
            self.close()
            say(self.ctx, f"  ! {event.message}", "yellow")
        elif kind == "file":
            say(self.ctx, f"  + {event.message}", "green")
        elif kind == "done":
            self.close()
        else:
            say(self.ctx, f"    {event.message}")


def _prog() -> str:
    """How the person ran specflow, so the printed commands work as typed (e.g. .venv/bin/specflow)."""

    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if os.path.basename(argv0) != "specflow":
        return "specflow" if shutil.which("specflow") else f"{shlex.quote(sys.executable)} -m specflow"
    found = shutil.which("specflow")
    if found and os.path.realpath(found) == os.path.realpath(argv0):
        return "specflow"
    return shlex.quote(argv0)


def _status_table(ctx: CliContext, result: DemoResult) -> None:
    """``specflow status --all`` of the demo's hub: the table a person sees every day."""

    say(ctx, f"$ {_prog()} -C {shlex.quote(str(result.hub))} status --all", "bold cyan")
    hub_ctx = CliContext(
        hub_arg=str(result.hub), debug=ctx.debug, color=ctx.color, stdout=ctx.stdout, stderr=ctx.stderr
    )
    cmd_status.run(argparse.Namespace(id=None, json=False, all=True), hub_ctx)


def _summary(ctx: CliContext, result: DemoResult) -> None:

    ctx.out("")
    tries = result.attempts.get("apply", 1)
    say(
        ctx,
        f"Done in {result.duration_s:.1f}s: {result.change_id} went draft → explore → propose →"
        f" apply ({tries} attempt{'s' if tries != 1 else ''}) → archive, with agent '{result.agent}'.",
        "bold green",
    )
    by_sandbox = [r for r in result.refused if r.get("by") == "sandbox"]
    if by_sandbox:
        layer = by_sandbox[0].get("layer")
        say(ctx, f"The {layer} sandbox refused {len(by_sandbox)} write(s) outside the gate before they happened.")
    put_back = len(result.refused) - len(by_sandbox)
    if put_back:
        say(ctx, f"The audit put back {put_back} write(s) made outside the gate; history keeps the record.")
    ctx.out("")
    _status_table(ctx, result)
    ctx.out("")
    say(ctx, f"Everything is in {result.root}", "bold")
    hub = result.hub
    rows: list[tuple[str, str]] = []
    for spec in result.specs:
        rows.append((str(spec.relative_to(result.root)), "the living spec, with the change's deltas merged"))
    if result.archived_dir is not None:
        rows.append(
            (
                str(result.archived_dir.relative_to(result.root)) + "/",
                "the archived change; .specflow/history.jsonl holds every attempt",
            )
        )
    if (hub / "shared" / "api.md").is_file():
        rows.append((str((hub / "shared" / "api.md").relative_to(result.root)), "updated in the archive phase"))
    for name, path in result.repos.items():
        rows.append((f"{path.relative_to(result.root)}/", f"the {name} repo, with specflow/{result.change_id} merged"))
    width = max(len(r[0]) for r in rows) if rows else 0
    for left, right in rows:
        ctx.out(f"  {left.ljust(width)}  {right}")
    ctx.out("")
    say(ctx, "Explore it:", "bold")
    commands = result.commands(_prog())
    width = max(len(c) for c, _ in commands)
    for cmd, what in commands:
        ctx.out(f"  {cmd.ljust(width)}  # {what}")
    if result.agent != "claude-code":
        ctx.out("")
        ctx.out(f"Run the same demo with the real Claude Code: {_prog()} demo --agent claude-code")


def run(args: argparse.Namespace, ctx: CliContext) -> int:

    if args.agent:
        check_agent(args.agent)  # refuse before anything is written or printed
    if args.dir:
        dest = Path(args.dir).expanduser().absolute()
        check_destination(dest)
    else:
        dest = Path(tempfile.mkdtemp(prefix="specflow-demo-"))
    printer = DemoPrinter(ctx, quiet=args.json)
    if not args.json:
        say(ctx, "specflow demo: one change through explore, propose, apply and archive,", "bold")
        say(ctx, f"across a hub and two repos, each phase inside its write gate. Folder: {dest}")
    try:
        result = run_demo(dest, agent=args.agent, on_event=printer)
    except BaseException:
        printer.close()
        if dest.is_dir() and any(dest.iterdir()):
            ctx.err(f"the demo stopped; what it made so far is in {dest}")
        raise
    printer.close()
    if args.json:
        ctx.json(result.to_dict())
        return 0
    _summary(ctx, result)
    return 0
