"""How the CLI shows things to people: tables, step results, live agent progress.

Rich is used on a terminal (colour unless ``NO_COLOR``); piped output is plain, stable text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from specflow.agents.base import AgentEvent
    from specflow.cli.context import CliContext


class _Rich(NamedTuple):
    markup: ModuleType
    table: ModuleType
    text: ModuleType


def _rich() -> _Rich:
    """``rich``'s markup, table and text modules: its door, for a terminal's output only."""
    from rich import markup, table, text

    return _Rich(markup, table, text)


def table(
    ctx: CliContext,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    title: str | None = None,
    *,
    whole: Sequence[int] = (),
    droppable: Sequence[int] = (),
) -> list[str]:
    """A table: rich on a terminal, aligned plain columns otherwise; returns the headers left out.

    On a narrow terminal the columns wrap to fit, except those in ``whole`` (such as change ids),
    which are never wrapped nor cut.  If the table cannot fit even so, the columns in
    ``droppable`` are left out, first named first, until it does.
    """
    if ctx.fancy:
        console = ctx.console()
        shown = list(range(len(headers)))
        t = _rich_table(headers, rows, title, whole, shown)
        for column in droppable:
            if _narrowest(headers, rows, whole, shown) <= console.width:
                break
            shown.remove(column)
            t = _rich_table(headers, rows, title, whole, shown)
        console.print(t)
        return [headers[i] for i in range(len(headers)) if i not in shown]
    cells = [[str(h) for h in headers], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [title] if title else []
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    ctx.out("\n".join(lines))  # one write, not one per row: a status of 500 changes is 500 rows
    return []


def _narrowest(headers: Sequence[str], rows: Sequence[Sequence[Any]], whole: Sequence[int], shown: list[int]) -> int:
    """How narrow the table can be: whole columns at full width, the others at their longest word."""
    width = 0
    for i in shown:
        texts = [str(headers[i]), *(str(r[i]) for r in rows)]
        if i in whole:
            width += max(len(t) for t in texts)
        else:
            width += max(len(word) for t in texts for word in t.split() or [""])
    return width + 3 * len(shown) - 1  # a space either side of each column, a rule between them


def _rich_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None, whole: Sequence[int], shown: list[int]
) -> Any:
    rich = _rich()
    t = rich.table.Table(title=title, show_edge=False, header_style="bold")
    for i in shown:
        if i in whole:
            widest = max([len(str(headers[i])), *(len(str(r[i])) for r in rows)])
            t.add_column(headers[i], no_wrap=True, min_width=widest)
        else:
            t.add_column(headers[i], overflow="fold")
    for r in rows:
        # data is shown as written (a glob like 'src/[ab]*.py' is not markup); styled cells are Text
        t.add_row(*[r[i] if isinstance(r[i], rich.text.Text) else rich.text.Text(str(r[i])) for i in shown])
    return t


def styled(ctx: CliContext, text: str, style: str) -> Any:
    """A table cell: ``text`` in ``style`` on a terminal (a rich ``Text``), plain text otherwise."""
    if not ctx.fancy:
        return text
    return _rich().text.Text(text, style=style)


def heading(ctx: CliContext, title: str) -> None:
    """A section heading: a rule on a terminal, an underlined line otherwise."""
    if ctx.fancy:
        ctx.console().rule(f"[bold]{_rich().markup.escape(title)}[/bold]", align="left")
    else:
        ctx.out(title)
        ctx.out("-" * len(title))


def say(ctx: CliContext, text: str, style: str | None = None) -> None:
    if ctx.fancy:
        ctx.console().print(
            f"[{style}]{_rich().markup.escape(text)}[/{style}]" if style else _rich().markup.escape(text)
        )
    else:
        ctx.out(text)


STATE_STYLE = {
    "ok": "green",
    "failed": "red",
    "interrupted": "yellow",
    "running": "cyan",
    "unmanaged": "dim",
    "broken": "red",
}


class LiveProgress:
    """Shows an agent's events as they happen.

    On a terminal: a spinner line with the current tool call, elapsed time and turns, with
    notable events printed above it.  Elsewhere: one plain line per event, prefixed with the
    elapsed time.
    """

    def __init__(self, ctx: CliContext, quiet: bool = False) -> None:
        self.ctx = ctx
        self.quiet = quiet
        self.start = time.monotonic()
        self.turns = 0
        self.current = "starting"
        self._status: Any = None

    def __enter__(self) -> LiveProgress:
        if self.ctx.fancy and not self.quiet:
            # the line is read again at every refresh, so its clock runs while the agent is silent
            self._status = self.ctx.console().status(_LiveLine(self), spinner="dots")
            self._status.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.start:5.1f}s"

    def _line(self) -> str:
        return f"[cyan]{self._elapsed()}[/cyan] turn {self.turns} · {_rich().markup.escape(self.current)}"

    def __call__(self, event: AgentEvent) -> None:
        if self.quiet:
            return
        kind, msg = event.kind, event.message
        if kind == "text":
            msg = compact_text(msg)
        if kind == "tool":
            self.turns = int(event.data.get("turn", self.turns + 1) or self.turns + 1)
            self.current = msg
        if self.ctx.fancy:
            styles = {
                "phase": "bold",
                "step": "green" if event.data.get("ok") else "red",
                "refused": "yellow",
                "warning": "yellow",
                "tool": "cyan",
                "output": "dim",
                "text": "",
                "start": "dim",
                "result": "dim",
            }
            style = styles.get(kind, "")
            prefix = {
                "phase": "▸ ",
                "step": "  ✓ " if event.data.get("ok") else "  ✗ ",
                "refused": "  ⛔ ",
                "warning": "  ! ",
                "tool": "  → ",
            }.get(kind, "    ")
            line = _rich().markup.escape(prefix + msg)
            self.ctx.console().print(f"[{style}]{line}[/{style}]" if style else line)
        else:
            self.ctx.out(f"[{self._elapsed().strip():>6}] {kind}: {msg}")
        fix = event.data.get("fix") if kind == "warning" else None
        if not fix:
            return
        # a warning that says how to put it right (a change that did not land on main, ...)
        if self.ctx.fancy:
            self.ctx.console().print(f"[yellow]{_rich().markup.escape(f'    fix: {fix}')}[/yellow]")
        else:
            self.ctx.out(f"{'':9}fix: {fix}")


class _LiveLine:
    """The live progress line as rich renders it: built anew at each refresh of the spinner."""

    def __init__(self, progress: LiveProgress) -> None:
        self.progress = progress

    def __rich__(self) -> Any:
        return _rich().text.Text.from_markup(self.progress._line())


def compact_text(text: str, width: int = 160) -> str:
    """An agent's text as one progress line: its first line, and how many more there are.

    The whole text is in the transcript (and, for a phase with a ``record``, in that file).
    """
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0] if len(lines[0]) <= width else lines[0][: width - 1] + "…"
    more = len(lines) - 1
    return first + (f" (+{more} more line{'s' if more > 1 else ''})" if more else "")


def status_error(
    ctx: CliContext, as_json: bool, code: str, message: str, fix: str | None = None, *, prefixed: bool = True
) -> int:
    """An OpenSpec-style refusal: ``{"status": [{severity, code, message, fix}]}`` or text; returns 1.

    ``prefixed``: ``error: <message>`` / ``  fix: <fix>`` (``show``); otherwise the bare lines
    OpenSpec's ``validate`` prints.
    """
    if as_json:
        entry: dict[str, Any] = {"severity": "error", "code": code, "message": message}
        if fix:
            entry["fix"] = fix
        ctx.json({"status": [entry]})
    elif prefixed:
        ctx.err(f"error: {message}" + (f"\n  fix: {fix}" if fix else ""))
    else:
        ctx.err(message + (f"\n{fix}" if fix else ""))
    return 1
