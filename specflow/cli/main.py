"""``specflow [-C HUB] COMMAND``: find the command, import only its module, run it.

Each command lives in ``specflow/cli/commands/<name>.py`` and exposes ``add_arguments(parser)`` and
``run(args, ctx) -> int``.  Only the chosen command's module is imported, so ``--help`` and
``--version`` start fast.  Global options (``-C``, ``--debug``, ``--no-color``) are accepted before
or after the command.  Exit codes: 0 success, 1 a user error or a failed guard, 2 usage, 3 an
internal error (traceback only with ``--debug``), 130 interrupted.  With ``--json`` every error is a
JSON document on stdout: ``{"error": ..., "fix": ..., "exit_code": N}``.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple, NoReturn

from specflow._version import __version__
from specflow.cli.context import CliContext
from specflow.errors import SpecflowError


class Command(NamedTuple):
    module: str
    help: str
    example: str


# group -> name -> command.  Order is the order of ``specflow --help``.
GROUPS: dict[str, dict[str, Command]] = {
    "changes": {
        "new": Command("new", "create a change in state 'draft'", 'specflow new add-login --goal "Sign in by email"'),
        "advance": Command(
            "advance", "run the change's next transition(s): prompt, agent, audit, checks", "specflow advance add-login"
        ),
        "approve": Command(
            "approve", "record a person's approval of the change", "specflow approve add-login --by ana"
        ),
        "trigger": Command(
            "trigger", "fire a workflow-defined trigger (e.g. reject)", "specflow trigger add-login reject"
        ),
        "repos": Command("repos", "add or remove the repos a change affects", "specflow repos add-login add api"),
        "revert": Command(
            "revert", "restore a change's workspaces to a checkpoint", "specflow revert add-login --to 2"
        ),
        "restore": Command(
            "restore",
            "put back the work an audit saved before removing it",
            "specflow restore add-login --checkpoint 3",
        ),
        "merge": Command("merge", "merge the change's branches into their bases", "specflow merge add-login"),
        "push": Command("push", "send a change's branches and checkpoints to their remotes", "specflow push add-login"),
        "pull": Command(
            "pull",
            "bring a change's branches and checkpoints from their remotes, to continue it here",
            "specflow pull add-login",
        ),
        "clean": Command("clean", "remove the worktrees of an archived change", "specflow clean add-login"),
        "discard": Command(
            "discard",
            "give a change up: stop it, remove its worktrees, file it away (--restore undoes)",
            'specflow discard add-login --reason "superseded by add-sso"',
        ),
        "worker": Command(
            "worker",
            "run the phases queued for this machine (the 'queue' extra)",
            "specflow worker --machine laptop --concurrency 2",
        ),
    },
    "review": {
        "status": Command("status", "state of every change, or of one", "specflow status add-login"),
        "history": Command("history", "the recorded attempts of a change", "specflow history add-login --verbose"),
        "diff": Command("diff", "the change's work against its base, in every repo", "specflow diff add-login --stat"),
        "prompt": Command("prompt", "render a phase's prompt without running it", "specflow prompt add-login"),
        "workspace": Command(
            "workspace", "print a change's workspace paths", "specflow workspace add-login --repo api"
        ),
        "checkpoints": Command("checkpoints", "list a change's checkpoints", "specflow checkpoints add-login"),
        "graph": Command("graph", "a workflow as a Mermaid state diagram", "specflow graph --workflow openspec"),
        "ui": Command(
            "ui", "a live dashboard of every change, in a browser (the 'ui' extra)", "specflow ui --port 8765"
        ),
    },
    "OpenSpec": {
        "list": Command("list", "list changes (or specs) with tasks and state", "specflow list --specs"),
        "show": Command("show", "show a change or spec", "specflow show add-login --json"),
        "validate": Command(
            "validate", "validate changes and specs as OpenSpec does", "specflow validate --all --strict"
        ),
        "archive": Command(
            "archive", "merge a change's deltas into the specs and file it away", "specflow archive add-login -y"
        ),
        "adopt": Command("adopt", "put existing OpenSpec changes under a workflow", "specflow adopt --all"),
    },
    "setup": {
        "init": Command("init", "create openspec/ and a commented specflow.yaml in a hub", "specflow init ."),
        "doctor": Command(
            "doctor",
            "check the hub's setup and this machine: repos, branches, agents, tools, sandbox",
            "specflow doctor",
        ),
        "workflows": Command("workflows", "list, show or validate workflows", "specflow workflows show openspec"),
        "completion": Command(
            "completion", "print a shell completion script (bash, zsh, fish)", 'eval "$(specflow completion bash)"'
        ),
        "guard": Command(
            "hook",
            "PreToolUse hook for Claude Code that refuses writes outside the gate",
            "specflow guard --gate gate.json",
        ),
        "demo": Command("demo", "run a change through every phase on an example hub", "specflow demo --dir /tmp/demo"),
    },
}

COMMANDS: dict[str, Command] = {name: cmd for group in GROUPS.values() for name, cmd in group.items()}

# ``entry`` (a process of its own) pauses the garbage collector until the command's modules are
# imported: imports make tens of thousands of objects and free almost none, so the collections
# they set off find nothing, at ~8% of the start.  ``main`` called in a process of its caller's
# leaves the collector alone.  Once they are in, the youngest generation is collected after
# ``YOUNG_COLLECTED_AFTER`` new objects rather than 700: a Claude Code phase's imports, index
# parses and records set off six more collections (~0.7 ms) that found next to nothing to free.
_collector = {"paused": False}
YOUNG_COLLECTED_AFTER = 100_000

# ``specflow __complete ids|items``: what the completion scripts call for change and spec ids
COMPLETE = "__complete"


class Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter, sized without ``shutil``: argparse builds one for every option it
    adds, and ``shutil`` (with ``bz2`` and ``lzma``) cost every command ~3 ms to import."""

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: ``COLUMNS``, the terminal, 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class UsageError(Exception):
    """argparse refused the command line (exit code 2)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    """An argparse parser whose usage errors are raised, so ``--json`` can report them as JSON."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, message)

    def parse_command_line(self, argv: Sequence[str]) -> argparse.Namespace:
        """Parse ``argv``; arguments nobody knows are the command's usage error, not the main one's."""
        args, extra = self.parse_known_args(argv)
        if extra:
            owner = self.commands.get(getattr(args, "command", None) or "", self)
            raise UsageError(owner, f"unrecognized arguments: {' '.join(extra)}")
        return args


def _overview() -> str:
    lines = []
    for group, commands in GROUPS.items():
        lines.append(f"{group}:")
        for name, cmd in commands.items():
            lines.append(f"  {name:<12} {cmd.help}")
            lines.append(f"  {'':<12}   $ {cmd.example}")
        lines.append("")
    lines.append("Global options go before or after the command. With --json, errors are JSON on stdout too.")
    lines.append("Run 'specflow COMMAND --help' for a command's options.")
    return "\n".join(lines)


def _add_global_options(parser: argparse.ArgumentParser, *, on_command: bool) -> None:
    """``-C``, ``--debug`` and ``--no-color``, on the main parser and again on every command.

    On a command they default to ``SUPPRESS``, so an option given before the command is kept.
    """
    group = parser.add_argument_group("global options")
    default: Any = argparse.SUPPRESS if on_command else None
    flag_default: Any = argparse.SUPPRESS if on_command else False
    group.add_argument(
        "-C",
        dest="hub",
        metavar="HUB",
        default=default,
        help="the hub (default: the enclosing git repo with openspec/)",
    )
    group.add_argument("--debug", action="store_true", default=flag_default, help="show tracebacks of internal errors")
    group.add_argument("--no-color", action="store_true", default=flag_default, help="plain output (also NO_COLOR=1)")


def build_parser(command: str | None, *, full: bool = False) -> Parser:
    """The parser; only ``command``'s options are added (all of them with ``full``, for completion)."""
    parser = Parser(
        prog="specflow",
        usage="specflow [-C HUB] [--debug] [--no-color] COMMAND [ARGS]",
        description="Run OpenSpec changes through enforced phases: explore, propose, apply, archive.",
        formatter_class=Formatter,
        epilog=_overview(),
    )
    parser.add_argument("--version", action="version", version=f"specflow {__version__}")
    _add_global_options(parser, on_command=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", help=argparse.SUPPRESS)
    for name, cmd in COMMANDS.items():
        if command in COMMANDS and name != command and not full:
            continue  # thirty parsers cost ~5 ms: a command line that names one needs only it
        p = sub.add_parser(
            name,
            prog=f"specflow {name}",
            description=cmd.help,
            epilog=f"example:\n  $ {cmd.example}",
            formatter_class=Formatter,
        )
        if name == command or full:
            module = importlib.import_module(f"specflow.cli.commands.{cmd.module}")
            module.add_arguments(p)
            p.set_defaults(_module=module)
            _add_global_options(p, on_command=True)
        parser.commands[name] = p
    return parser


def _command_at(argv: Sequence[str]) -> int | None:
    """Where the command is in ``argv``: the first word that is neither an option nor ``-C``'s value."""
    skip = False
    for at, arg in enumerate(argv):
        if skip:
            skip = False
            continue
        if arg == "-C":
            skip = True
            continue
        if arg == "--":
            return None
        if arg.startswith("-"):
            continue
        return at
    return None


def _options(argv: Sequence[str]) -> list[str]:
    """The arguments before a ``--``, where options may be."""
    return list(argv[: argv.index("--")]) if "--" in argv else list(argv)


def _json_after_command(argv: list[str], at: int) -> list[str]:
    """``specflow --json status`` means ``specflow status --json``."""
    before = argv[:at]
    if "--json" not in before:
        return argv
    return [a for a in before if a != "--json"] + [argv[at], "--json"] + argv[at + 1 :]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    options = _options(args_list)
    ctx = CliContext(
        debug="--debug" in options,
        color="--no-color" not in options and "NO_COLOR" not in os.environ,
        json_errors="--json" in options,
    )
    at = _command_at(args_list)
    command = None if at is None else args_list[at]
    if at is not None and command == COMPLETE:
        from specflow.cli.completion import complete

        hub_at = args_list.index("-C") if "-C" in args_list else -1
        ctx.hub_arg = args_list[hub_at + 1] if 0 <= hub_at < len(args_list) - 1 else None
        return complete(args_list[at + 1 :], ctx)
    if command is not None and command not in COMMANDS:
        import difflib  # did-you-mean, only for a word that names no command

        close = difflib.get_close_matches(command, list(COMMANDS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        message = f"unknown command '{command}'{hint}"
        fix = "run 'specflow --help' for the list"
        ctx.fail(message, fix, 2, text=f"specflow: {message}\nRun 'specflow --help' for the list.")
        return 2
    if at is not None:
        args_list = _json_after_command(args_list, at)
    parser = build_parser(command)
    _collect_again()
    try:
        args = parser.parse_command_line(args_list)
    except UsageError as exc:
        return _usage_error(exc, ctx)
    except SystemExit as exc:  # --help and --version exit 0
        return int(exc.code or 0)
    if args.command is None:
        if ctx.json_errors:
            ctx.fail("no command given", "run 'specflow --help' for the list", 2)
        else:
            parser.print_help()
        return 2
    _terminate_like_interrupt()
    ctx.hub_arg = args.hub
    ctx.debug = args.debug
    ctx.color = not args.no_color and "NO_COLOR" not in os.environ
    return run_command(args, ctx)


def _usage_error(exc: UsageError, ctx: CliContext) -> int:
    if ctx.json_errors:
        ctx.fail(exc.message, f"run '{exc.parser.prog} --help' for its usage", 2)
    else:
        exc.parser.print_usage(ctx.stderr)
        ctx.err(f"{exc.parser.prog}: error: {exc.message}")
    return 2


def _terminate_like_interrupt() -> None:
    """SIGTERM behaves as Ctrl-C, so a running agent (and its children) is stopped, not orphaned."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # not the main thread (embedded use): leave signals alone
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, handler)


def run_command(args: Any, ctx: CliContext) -> int:
    """Run the parsed command, turning errors into messages and exit codes."""
    try:
        return int(args._module.run(args, ctx) or 0)
    except KeyboardInterrupt:
        ctx.fail("interrupted", None, 130)
        return 130
    except SpecflowError as exc:
        ctx.error(exc)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:
        last = f"{type(exc).__qualname__}: {exc}" if str(exc) else type(exc).__qualname__
        fix = "this is a bug in specflow; run again with --debug for the traceback and report it"
        if ctx.debug:
            sys.excepthook(type(exc), exc, exc.__traceback__)  # the interpreter's own traceback
        if ctx.debug and not ctx.json_errors:
            return 3
        ctx.fail(
            f"internal error: {last}",
            fix,
            3,
            text=f"internal error: {last}\n"
            "This is a bug in specflow. Run again with --debug for the traceback and report it.",
        )
        return 3


def _collect_again() -> None:
    """The command's modules are in: collect garbage again, never rescanning what they made."""
    if _collector["paused"]:
        _collector["paused"] = False
        gc.freeze()
        gc.set_threshold(YOUNG_COLLECTED_AFTER, *gc.get_threshold()[1:])
        gc.enable()


def run_command_line(*, collector_paused: bool) -> NoReturn:
    """Run the command ``sys.argv`` names and end the process (``leave``); ``collector_paused``: the
    entry point (``specflow.cli.start``) paused the garbage collector while the modules loaded."""
    _collector["paused"] = collector_paused
    leave(main())


def leave(code: int) -> NoReturn:
    """End the process with ``code`` as ``sys.exit`` would, without taking the interpreter apart.

    Every exit handler runs (``atexit``: what libraries and ``weakref.finalize`` registered) and
    both streams are flushed; then the process ends, sparing the ~10 ms that tearing down every
    module's objects one by one costs after ``advance`` (the operating system frees them at once).
    While a thread other than daemons still runs, or a stream cannot be flushed, it is a plain
    ``sys.exit``: the interpreter waits for the thread and reports the stream as it always does.
    """
    threading = sys.modules.get("threading")  # never imported: no thread was started
    if threading is not None and any(
        t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()
    ):
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)
