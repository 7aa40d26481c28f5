"""What every command gets: where the hub is, and how to print for people and for tools.

Printing lives here and in ``specflow.cli.render``; the library never prints.  Colour and rich
rendering are used only on a terminal without ``NO_COLOR``; piped output is plain text.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from specflow.errors import NoChangeIdError, SpecflowError
from specflow.openspec.jsonstr import stringify

if TYPE_CHECKING:
    from rich.console import Console

    from specflow.engine.hub import Hub
    from specflow.engine.view import BaseHub

    H = TypeVar("H", bound=BaseHub[Any])


class CliContext:
    """Options shared by all commands, and output helpers.

    A plain class rather than a dataclass: it is on every command's start-up path.
    """

    def __init__(
        self,
        hub_arg: str | None = None,
        debug: bool = False,
        color: bool = True,
        json_errors: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.hub_arg = hub_arg
        self.debug = debug
        self.color = color
        self.json_errors = json_errors
        self.stdout: IO[str] = stdout if stdout is not None else sys.stdout
        self.stderr: IO[str] = stderr if stderr is not None else sys.stderr
        self._console: Console | None = None
        self._hub: BaseHub[Any] | None = None

    @property
    def is_tty(self) -> bool:
        try:
            return self.stdout.isatty()
        except (AttributeError, ValueError):
            return False

    @property
    def fancy(self) -> bool:
        """True when output goes to a terminal and colour is allowed."""
        return self.color and self.is_tty

    def console(self) -> Console:
        """A rich console bound to stdout (imported only when needed)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(
                file=self.stdout,
                no_color=not self.fancy,
                force_terminal=self.fancy,
                highlight=False,
                soft_wrap=not self.is_tty,
                emoji=False,
            )
        return self._console

    def open_hub(self) -> Hub:
        """The hub named by ``-C`` or found above the current directory, with every operation."""
        from specflow.engine.hub import Hub  # the engine's door, for the commands that use it

        return self.open(Hub)

    def open_view(self) -> BaseHub[Any]:
        """The hub for reading changes: the one opened already, or a ``HubView`` (no engine)."""
        if self._hub is None:
            from specflow.engine.view import HubView  # the hub's records, without the engine

            return self.open(HubView)
        return self._hub

    def opened(self, kind: type[H]) -> H | None:
        """The hub this command has opened already, if it is a ``kind``."""
        return self._hub if isinstance(self._hub, kind) else None

    def open(self, kind: type[H]) -> H:
        """The hub as a ``kind`` (``HubView`` to read, ``PhaseRunner`` to run phases, ``Hub``):
        a command that names its layer loads nothing of the layers above it."""
        if not isinstance(self._hub, kind):
            self._hub = kind.open(Path(self.hub_arg) if self.hub_arg else None)
        return self._hub

    def hub_root(self) -> Path:
        """The hub's folder, for commands that need only that (``show``, ``list``, ``validate``).

        The common case (a folder at or above, ``-C`` included, holding a plain ``openspec/``) is
        found here without importing the engine (~90 ms of CPU); a link, a repo boundary or a
        missing folder is left to ``HubView.open``, which knows every rule and error.
        """
        return self.plain_hub_root() or self.open_view().root

    def plain_hub_root(self) -> Path | None:
        """``hub_root`` when it is that common case (then no change's worktree is around), else None."""
        if self._hub is not None or (self.hub_arg is not None and not os.path.exists(self.hub_arg)):
            return None
        here = Path(os.path.abspath(self.hub_arg or os.getcwd()))
        for candidate in (here, *here.parents):
            folder = candidate / "openspec"
            if folder.is_symlink():
                break
            if folder.is_dir():
                if (candidate / ".git").is_file():
                    break  # a linked worktree, maybe a change's own: its hub is elsewhere
                return candidate
            if (candidate / ".git").exists():
                break
        return None

    def change_root(self, change_id: str | None) -> Path:
        """The hub as change ``change_id`` sees it: its own worktree when it has one (else the hub).

        Without a worktree folder for that id (a spec, a change on the hub's checkout) the hub's
        records are not even read.
        """
        root = self.hub_root()
        if change_id and "/" not in change_id and self._may_have_worktrees(root, change_id):
            return self.open_view().change_root(change_id)
        return root

    def changes_on_branches(self) -> dict[str, Path | None]:
        """``Hub.changes_on_branches``, without reading the hub when no change has a worktree."""
        root = self.hub_root()
        if self._may_have_worktrees(root, None):
            return self.open_view().changes_on_branches()
        return {}

    @staticmethod
    def _may_have_worktrees(root: Path, change_id: str | None) -> bool:
        """False only when no change (or ``change_id``) can have a worktree of the hub."""
        try:
            custom = "worktrees_dir" in (root / "specflow.yaml").read_text(encoding="utf-8")
        except OSError:
            custom = False
        if custom:
            return True
        folder = root / ".specflow" / "worktrees"
        if change_id is not None:
            return (folder / change_id).is_dir()
        try:
            return any(folder.iterdir())
        except OSError:
            return False

    def change_id(self, given: str | None, command: str) -> str:
        """``given``, or the change whose worktree the command runs in (its branch names it)."""
        if given:
            return given
        hub = self.open_view()
        if hub.here_change:
            return hub.here_change
        where = Path(self.hub_arg) if self.hub_arg else Path.cwd()
        raise NoChangeIdError(
            f"'specflow {command}' needs a change id: none was given, and {where} is not inside a change's worktree",
            fix=f"name the change: specflow {command} ID ('specflow status' lists them), or run it in the"
            " change's worktree",
        )

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def json(self, data: Any) -> None:
        # as JSON.stringify(data, null, 2): UTF-8 text, not \uXXXX escapes
        self.stdout.write(stringify(data) + "\n")
        self.stdout.flush()

    def json_text(self, text: str) -> None:
        """Print JSON text already laid out as ``json`` lays it out."""
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def error(self, exc: SpecflowError) -> None:
        """Print a user error: the message, then the fix."""
        self.fail(exc.message, exc.fix, exc.exit_code)

    def fail(self, message: str, fix: str | None, exit_code: int, *, text: str | None = None) -> None:
        """Report an error: ``{"error", "fix", "exit_code"}`` on stdout under ``--json``, else on stderr.

        ``text`` replaces the usual ``error: <message>`` / ``  fix: <fix>`` lines on stderr.
        """
        if self.json_errors:
            self.json({"error": message, "fix": fix, "exit_code": exit_code})
            return
        if text is not None:
            self.err(text)
            return
        red = "\x1b[31m" if self.color and _isatty(self.stderr) else ""
        reset = "\x1b[0m" if red else ""
        self.err(f"{red}error:{reset} {message}")
        if fix:
            self.err(f"  fix: {fix}")


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
