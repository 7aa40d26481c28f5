"""Write gates: what an agent may write during a phase, as a policy over resolved paths.

A gate is declared per phase in the workflow (``read-only``, hub globs, or worktrees plus hub
globs) and rendered for one change into a ``GatePolicy``.  The same policy is handed to the
prompt (in plain words), to the adapter (to enforce inside the agent where it can) and to the
audit (which holds for every adapter).  Paths are resolved — symlinks followed, ``..`` removed —
before they are compared, so a write through a symlink is judged by where it really lands.

Claude Code's guard hook (``specflow.agents.claude.hook``) loads this module once per writing tool
call, in a bare interpreter: it imports neither ``dataclasses`` (with ``inspect``, ~5 ms) nor
``typing``.
"""

from __future__ import annotations

import json
import os
import re
from functools import cached_property
from pathlib import Path

TYPE_CHECKING = False  # typing itself costs the guard hook more to import than this module
if TYPE_CHECKING:
    from typing import Any

READ_ONLY = "read-only"

#: A write entry naming a file of this name itself (no wildcard) lets the agent only tick it.
TICK_ONLY_NAME = "tasks.md"


def glob_to_regex(pattern: str) -> str:
    """Translate a gitignore-style glob (``*``, ``?``, ``**``, ``[...]``) into a regex source.

    ``*`` and ``?`` never cross ``/``; ``**`` matches any number of whole segments, so
    ``a/**`` matches ``a`` itself and everything below it.
    """
    pattern = pattern.strip().lstrip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**", i):
            before_ok = i == 0 or pattern[i - 1] == "/"
            after = pattern[i + 2 : i + 3]
            if before_ok and after == "/":
                out.append("(?:.*/)?")
                i += 3
                continue
            if before_ok and after == "":
                if out and out[-1] == "/":
                    out.pop()
                    out.append("(?:/.*)?")
                else:
                    out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        elif c == "/":
            out.append("/")
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _plain(entry: str) -> str:
    """A write entry as the hub-relative path it names: no leading ``/`` or ``./``."""
    return entry.strip().lstrip("/").removeprefix("./")


def resolve(path: str | Path, cwd: Path | None = None) -> Path:
    """Resolve ``path`` as the OS would: relative to ``cwd``, symlinks followed, ``..`` removed."""
    p = Path(os.path.expanduser(str(path)))
    if not p.is_absolute():
        p = (cwd or Path.cwd()) / p
    return Path(os.path.realpath(p))


# Never writable by an agent, whatever the gate says: git's own data and specflow's records
# (state, history, locks, worktree bookkeeping).
PROTECTED_PARTS = (".git",)
PROTECTED_HUB_GLOBS = (".specflow/**", "openspec/changes/**/.specflow/**")
_PROTECTED_RE = re.compile("|".join(f"(?:{glob_to_regex(g)})" for g in PROTECTED_HUB_GLOBS) + r"\Z")


def is_protected(real: Path, hub: Path) -> bool:
    """True for paths no agent may write: any ``.git`` folder, and specflow's own records."""
    if any(part in PROTECTED_PARTS for part in real.parts):
        return True
    try:
        rel = real.relative_to(hub).as_posix()
    except ValueError:
        return False
    return bool(_PROTECTED_RE.match(rel))


class GatePolicy:
    """The rendered gate of one phase of one change: a frozen value, compared and hashed by its fields.

    ``write_globs`` are relative to the hub; ``worktrees`` are roots inside which anything may be
    written.  A read-only policy has neither.  A plain class rather than a frozen dataclass: the
    guard hook builds one per tool call.
    """

    hub: Path
    write_globs: tuple[str, ...]
    worktrees: tuple[Path, ...]
    read_only: bool
    phase: str
    change_id: str

    _FIELDS = ("hub", "write_globs", "worktrees", "read_only", "phase", "change_id")

    def __init__(
        self,
        hub: Path,
        write_globs: tuple[str, ...] = (),
        worktrees: tuple[Path, ...] = (),
        read_only: bool = False,
        phase: str = "",
        change_id: str = "",
    ) -> None:
        if read_only and (write_globs or worktrees):
            raise ValueError("a read-only gate cannot list writable paths")
        fields = self.__dict__
        fields["hub"] = Path(os.path.realpath(hub))
        fields["write_globs"] = tuple(write_globs)
        fields["worktrees"] = tuple(Path(os.path.realpath(w)) for w in worktrees)
        fields["read_only"] = read_only
        fields["phase"] = phase
        fields["change_id"] = change_id

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GatePolicy) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"GatePolicy({values})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a GatePolicy is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a GatePolicy is frozen")

    @cached_property
    def _regex(self) -> re.Pattern[str] | None:
        if not self.write_globs:
            return None
        return re.compile("|".join(f"(?:{glob_to_regex(g)})" for g in self.write_globs) + r"\Z")

    @cached_property
    def tick_only(self) -> tuple[str, ...]:
        """Hub-relative files the agent may only tick (``- [ ]`` → ``- [x]``).

        A write entry that names a ``tasks.md`` itself, without a wildcard (the built-in apply's
        ``openspec/changes/{{ change.id }}/tasks.md``), grants ticking, not rewriting; a glob such
        as propose's ``openspec/changes/{{ change.id }}/**`` lets the agent write the file whole.
        """
        entries = (_plain(g) for g in self.write_globs)
        return tuple(g for g in entries if g.rsplit("/", 1)[-1] == TICK_ONLY_NAME and not any(c in g for c in "*?["))

    def is_tick_only(self, real: Path) -> bool:
        """True if the resolved absolute path ``real`` is a file the agent may only tick."""
        try:
            return real.relative_to(self.hub).as_posix() in self.tick_only
        except ValueError:
            return False

    def allows(self, path: str | Path, *, cwd: Path | None = None) -> bool:
        """True if writing ``path`` (resolved) is inside the gate."""
        if self.read_only:
            return False
        return self.allows_real(resolve(path, cwd))

    def allows_real(self, real: Path) -> bool:
        """True if the already resolved absolute path ``real`` is inside the gate.

        The audit judges the paths git reports with it (their folders are real folders, never
        links) and a link's own location, which must be judged without following the link.
        """
        if self.read_only:
            return False
        if any(part in PROTECTED_PARTS for part in real.parts):
            return False
        for root in self.worktrees:
            if real == root or root in real.parents:
                return True
        if is_protected(real, self.hub):
            return False
        return self.allows_hub_relative(real)

    def allows_link(self, location: Path) -> bool:
        """True if a symlink may exist at ``location``: it lies in the gate, and so does its target."""
        where = Path(os.path.realpath(location.parent)) / location.name
        return self.allows_real(where) and self.allows_real(Path(os.path.realpath(location)))

    def allows_hub_relative(self, real: Path) -> bool:
        """True if the resolved absolute path ``real`` lies in the hub and matches a write glob."""
        regex = self._regex
        if regex is None:
            return False
        try:
            rel = real.relative_to(self.hub).as_posix()
        except ValueError:
            return False
        return bool(regex.match(rel))

    def matches_relative(self, rel: str) -> bool:
        """True if the hub-relative posix path ``rel`` matches a write glob (no resolution)."""
        regex = self._regex
        return bool(regex and regex.match(rel))

    def writable_roots(self) -> list[Path]:
        """Directories that contain everything writable: worktree roots and each glob's fixed prefix."""
        roots: list[Path] = list(self.worktrees)
        for g in self.write_globs:
            parts = []
            for part in g.strip("/").split("/"):
                if any(ch in part for ch in "*?["):
                    break
                parts.append(part)
            fixed = "/".join(parts)
            if parts and len(parts) == len(g.strip("/").split("/")):
                # a plain file path: its parent directory is the root to grant
                roots.append((self.hub / fixed).parent)
            else:
                roots.append(self.hub / fixed if fixed else self.hub)
        unique: list[Path] = []
        for r in roots:
            if r not in unique:
                unique.append(r)
        return unique

    def describe(self) -> str:
        """The gate in plain words, for prompts and reports."""
        if self.read_only:
            return "Read-only: you may read anything but must not create, change or delete any file."
        lines = ["You may write only these paths; everything else is read-only:"]
        for w in self.worktrees:
            lines.append(f"- anything inside the worktree {w}")
        ticks = set(self.tick_only)
        for g in self.write_globs:
            only = " (you may only tick its tasks, '- [ ]' to '- [x]')" if _plain(g) in ticks else ""
            lines.append(f"- {g} (relative to the hub {self.hub}){only}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hub": str(self.hub),
            "read_only": self.read_only,
            "write": list(self.write_globs),
            "worktrees": [str(w) for w in self.worktrees],
            "phase": self.phase,
            "change": self.change_id,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GatePolicy:
        return cls(
            hub=Path(data["hub"]),
            write_globs=tuple(data.get("write", ())),
            worktrees=tuple(Path(w) for w in data.get("worktrees", ())),
            read_only=bool(data.get("read_only", False)),
            phase=str(data.get("phase", "")),
            change_id=str(data.get("change", "")),
        )

    @classmethod
    def from_json(cls, text: str) -> GatePolicy:
        return cls.from_dict(json.loads(text))
