"""``specflow [-C HUB] COMMAND``: find the command, import only its module, run it.

Each command lives in ``specflow/cli/commands/<name>.py`` and exposes ``add_arguments(parser)`` and
``run(args, ctx) -> int``.  Only the chosen command's module is imported, so ``--help`` and
``--version`` start fast.  Exit codes: 0 success, 1 a user error or a failed guard, 2 usage,
3 an internal error (traceback only with ``--debug``), 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from specflow.cli.context import CliContext

# name -> (module, one-line help).  Order is the order of ``specflow --help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("init", "create openspec/ and a commented specflow.yaml in a hub"),
    "new": ("new", "create a change in state 'draft'"),
    "advance": ("advance", "run the change's next transition(s): prompt, agent, audit, checks"),
    "approve": ("approve", "record a person's approval of the change"),
    "trigger": ("trigger", "fire a workflow-defined trigger (e.g. reject)"),
    "status": ("status", "state of every change, or of one"),
    "list": ("list", "list changes (or specs) with tasks and state"),
    "show": ("show", "show a change or spec"),
    "history": ("history", "the recorded attempts of a change"),
    "prompt": ("prompt", "render a phase's prompt without running it"),
    "graph": ("graph", "a workflow as a Mermaid state diagram"),
    "workflows": ("workflows", "list, show or validate workflows"),
    "validate": ("validate", "validate changes and specs as OpenSpec does"),
    "archive": ("archive", "merge a change's deltas into the specs and file it away"),
    "adopt": ("adopt", "put existing OpenSpec changes under a workflow"),
    "repos": ("repos", "add or remove the repos a change affects"),
    "workspace": ("workspace", "print a change's workspace paths"),
    "checkpoints": ("checkpoints", "list a change's checkpoints"),
    "revert": ("revert", "restore a change's workspaces to a checkpoint"),
    "diff": ("diff", "the change's work against its base, in every repo"),
    "merge": ("merge", "merge the change's branches into their bases"),
    "clean": ("clean", "remove the worktrees of an archived change"),
    "guard": ("hook", "PreToolUse hook for Claude Code that refuses writes outside the gate"),
    "demo": ("demo", "run a change through every phase on an example hub"),
    "ui": ("ui", "a live dashboard of every change, in a browser (pip install 'specflow[ui]')"),
}


def _version() -> str:
    from specflow._version import __version__

    return __version__


def _base_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="specflow",
        description="Run OpenSpec changes through enforced phases: explore, propose, apply, archive.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n"
        + "\n".join(f"  {name:<12} {help_}" for name, (_, help_) in COMMANDS.items())
        + "\n\nRun 'specflow COMMAND --help' for a command's options.",
    )
    parser.add_argument(
        "-C", dest="hub", metavar="HUB", help="the hub (default: the enclosing git repo with openspec/)"
    )
    parser.add_argument("--version", action="version", version=f"specflow {_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--no-color", action="store_true", help="plain output (also NO_COLOR=1)")
    return parser


def _find_command(argv: Sequence[str]) -> str | None:
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "-C":
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg
    return None


def build_parser(command: str | None) -> argparse.ArgumentParser:
    parser = _base_parser()
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == command:
            module = importlib.import_module(f"specflow.cli.commands.{module_name}")
            module.add_arguments(p)
            p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    command = _find_command(args_list)
    if command is not None and command not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(command, list(COMMANDS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        sys.stderr.write(f"specflow: unknown command '{command}'{hint}\nRun 'specflow --help' for the list.\n")
        return 2
    parser = build_parser(command)
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    _terminate_like_interrupt()
    ctx = CliContext(
        hub_arg=args.hub,
        debug=args.debug,
        color=not args.no_color and "NO_COLOR" not in os.environ,
    )
    return run_command(args, ctx)


def _terminate_like_interrupt() -> None:
    """SIGTERM behaves as Ctrl-C, so a running agent (and its children) is stopped, not orphaned."""
    import contextlib
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # not the main thread (embedded use): leave signals alone
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, handler)


def run_command(args: Any, ctx: CliContext) -> int:
    """Run the parsed command, turning errors into messages and exit codes."""
    from specflow.errors import SpecflowError

    try:
        return int(args._module.run(args, ctx) or 0)
    except KeyboardInterrupt:
        ctx.err("interrupted")
        return 130
    except SpecflowError as exc:
        ctx.error(exc)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception:
        if ctx.debug:
            import traceback

            traceback.print_exc()
        else:
            import traceback

            last = traceback.format_exc().strip().splitlines()[-1]
            ctx.err(
                f"internal error: {last}\n"
                "This is a bug in specflow. Run again with --debug for the traceback and report it."
            )
        return 3


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
