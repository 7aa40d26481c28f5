"""The ``.tree`` fixture format: a whole OpenSpec tree in one readable text file.

::

    # what the fixture shows (comment lines at the top)
    # archive: <change-id> [--yes] [--skip-specs] ...   (an archive fixture)
    # standalone                                        (validate it in a tree of its own)
    === openspec/specs/auth/spec.md
    <file content, verbatim>
    === openspec/changes/x/specs/auth/spec.md [crlf] [bom] [nonl]
    === openspec/changes/link -> ../elsewhere          (a symlink)
    === openspec/changes/empty/                        (an empty directory)

In a combined tree every change id and top-level capability folder is prefixed with the fixture's
short name (``v07-...``), so many fixtures validate in one run without colliding.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

_HEADER = re.compile(r"^=== (\S+?)(/?)(?: -> (\S+))?((?: \[(?:crlf|bom|nonl)\])*)\s*$")


@dataclass
class Entry:
    """One file, symlink or empty directory of a fixture."""

    path: str
    content: bytes = b""
    link: str | None = None
    is_dir: bool = False


@dataclass
class Fixture:
    """A parsed ``.tree`` file."""

    name: str
    description: str
    entries: list[Entry] = field(default_factory=list)
    archive: list[str] | None = None
    standalone: bool = False

    @property
    def prefix(self) -> str:
        """The short name (``v07``) used to namespace the fixture in a combined tree."""
        return self.name.split("-", 1)[0]


def load(path: Path) -> Fixture:
    """Parse a ``.tree`` file."""
    text = path.read_text(encoding="utf-8")
    fx = Fixture(path.stem, "")
    desc: list[str] = []
    current: Entry | None = None
    flags = ""
    body: list[str] = []

    def flush() -> None:
        if current is None or current.link is not None or current.is_dir:
            return
        data = "".join(body)
        if "[nonl]" in flags and data.endswith("\n"):
            data = data[:-1]
        if "[crlf]" in flags:
            data = data.replace("\n", "\r\n")
        raw = data.encode("utf-8")
        if "[bom]" in flags:
            raw = b"\xef\xbb\xbf" + raw
        current.content = raw

    for line in text.splitlines(keepends=True):
        m = _HEADER.match(line.rstrip("\n")) if line.startswith("=== ") else None
        if m:
            flush()
            body = []
            flags = m.group(4) or ""
            current = Entry(m.group(1), link=m.group(3), is_dir=bool(m.group(2)))
            fx.entries.append(current)
            continue
        if current is None:
            stripped = line.strip()
            if stripped.startswith("# archive:"):
                fx.archive = stripped[len("# archive:") :].split()
            elif stripped == "# standalone":
                fx.standalone = True
            elif stripped.startswith("#"):
                desc.append(stripped.lstrip("# "))
            continue
        body.append(line)
    flush()
    fx.description = " ".join(desc)
    return fx


def _prefixed(path: str, prefix: str) -> str:
    parts = path.split("/")
    if parts[:2] == ["openspec", "specs"] and len(parts) > 2:
        parts[2] = f"{prefix}-{parts[2]}"
    elif parts[:2] == ["openspec", "changes"] and len(parts) > 2 and parts[2] != "archive":
        parts[2] = f"{prefix}-{parts[2]}"
        if len(parts) > 4 and parts[3] == "specs" and not (len(parts) == 5 and parts[4] == "spec.md"):
            parts[4] = f"{prefix}-{parts[4]}"
    return "/".join(parts)


def write(fx: Fixture, dest: Path, *, prefixed: bool = False) -> None:
    """Write the fixture's files under ``dest`` (namespaced when ``prefixed``)."""
    for e in fx.entries:
        rel = _prefixed(e.path, fx.prefix) if prefixed else e.path
        target = dest / rel
        if e.is_dir:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if e.link is not None:
            os.symlink(e.link, target)
        else:
            target.write_bytes(e.content)
    (dest / "openspec" / "specs").mkdir(parents=True, exist_ok=True)
    (dest / "openspec" / "changes" / "archive").mkdir(parents=True, exist_ok=True)


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file (bytes), symlink (``-> target``) and directory under ``root``."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = Path(dirpath, d)
            rel = p.relative_to(root).as_posix()
            out[rel + "/"] = f"-> {os.readlink(p)}" if p.is_symlink() else "dir"
        for f in filenames:
            p = Path(dirpath, f)
            rel = p.relative_to(root).as_posix()
            out[rel] = f"-> {os.readlink(p)}" if p.is_symlink() else p.read_bytes()
    return out


def copy(src: Path, dest: Path) -> None:
    """Copy a tree, symlinks kept as symlinks."""
    shutil.copytree(src, dest, symlinks=True)
