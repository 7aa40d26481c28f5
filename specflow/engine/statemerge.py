"""Histories that merge: the git attributes and the merge driver that let two clones' records combine.

``history.jsonl`` is append-only, so git's built-in ``union`` driver merges it: both clones'
events, no conflict.  ``state.json`` is derived from the history, so it is never merged line by
line: the ``specflow-state`` driver keeps this clone's record and marks it for recomputing, and
its next reader replays the merged history (``specflow.changestate.replay``).  A clone where the
driver is not configured gets git's conflict markers instead, which the reader recomputes the
same way: ``status`` never calls a merged change corrupted.

``init`` writes the attributes into the hub's ``.gitattributes`` (committed, so every clone has
the union driver); ``init``, ``push`` and ``pull`` also write them into ``.git/info/attributes``
and configure the driver in the repository's own config (neither is ever committed).

Run as ``python -m specflow.engine.statemerge %O %A %B`` by git.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from specflow.changestate.replay import RECOMPUTE_KEY
from specflow.errors import GitError
from specflow.workspace.git import GitRepo

DRIVER = "specflow-state"
RECORDS = "openspec/changes/**/.specflow"
ATTRIBUTES = (
    f"{RECORDS}/history.jsonl merge=union",
    f"{RECORDS}/state.json merge={DRIVER}",
    # the running totals are a cache, checked against the history before use: never a conflict
    f"{RECORDS}/summary.json merge=union",
)
_COMMENT = "# specflow: a change's records merge without conflict (see 'Several machines' in the README)"


def register(hub_root: Path, *, gitattributes: bool = False) -> list[Path]:
    """Register the attributes and the driver in the hub's repository; return the files written."""
    written = [hub_root / ".gitattributes"] if gitattributes and _add_lines(hub_root / ".gitattributes") else []
    try:
        repo = GitRepo.open(hub_root)
    except GitError:  # a hub not under git yet: its .gitattributes is enough until it is
        return written
    command = f"{_quoted(sys.executable)} -m specflow.engine.statemerge %O %A %B"
    if repo.config_get(f"merge.{DRIVER}.driver") != command:
        repo.config_set(f"merge.{DRIVER}.name", "specflow: a change's state, recomputed from its merged history")
        repo.config_set(f"merge.{DRIVER}.driver", command)
    local = repo.common_dir / "info" / "attributes"
    if _add_lines(local):
        written.append(local)
    return written


def _add_lines(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    missing = [line for line in ATTRIBUTES if line not in text.splitlines()]
    if not missing:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = "" if not text or text.endswith("\n") else "\n"
    path.write_text(text + prefix + "\n".join([_COMMENT, *missing]) + "\n", encoding="utf-8")
    return True


def _quoted(text: str) -> str:
    return text if all(c.isalnum() or c in "/._-+" for c in text) else "'" + text.replace("'", "'\\''") + "'"


def merge_state(ours: Path, theirs: Path) -> None:
    """Keep this clone's record, marked for recomputing from the merged history (never a conflict)."""
    data: object = None
    for path in (ours, theirs):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            break
    record = data if isinstance(data, dict) else {}
    record[RECOMPUTE_KEY] = True
    ours.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: Sequence[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: python -m specflow.engine.statemerge BASE OURS THEIRS (git's %O %A %B)\n")
        return 2
    merge_state(Path(argv[1]), Path(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
