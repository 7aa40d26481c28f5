"""The hub's machine-local folder ``.specflow/`` (locks, caches, journals, worktrees, logs).

It is never committed: the first time specflow writes there, ``/.specflow/`` is added to the
repository's ``.git/info/exclude`` (never to the user's ``.gitignore``).
"""

from __future__ import annotations

from pathlib import Path

LOCAL_DIR = ".specflow"
_EXCLUDE = f"/{LOCAL_DIR}/"


def ensure(hub_root: Path) -> Path:
    """Create ``<hub>/.specflow`` and keep it out of git status; return it."""
    local = hub_root / LOCAL_DIR
    if local.is_dir():
        return local
    local.mkdir(parents=True, exist_ok=True)
    git_dir = hub_root / ".git"
    if git_dir.is_dir():
        exclude = git_dir / "info" / "exclude"
        try:
            text = exclude.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        if _EXCLUDE not in text.splitlines():
            exclude.parent.mkdir(parents=True, exist_ok=True)
            sep = "" if not text or text.endswith("\n") else "\n"
            with exclude.open("a", encoding="utf-8") as fh:
                fh.write(f"{sep}# specflow: machine-local state\n{_EXCLUDE}\n")
    return local
