"""Generate the repo the workspace benchmark runs on: a single-repo hub with many tracked files.

    python benchmarks/workspace_gen.py DIR [--files 20000] [--dirty 200]

The repo is a hub (``openspec/`` with one change) whose tree holds ``files`` tracked files in
nested folders; after the commit, ``dirty`` files are modified or new (half each), as a working
tree looks in the middle of an agent's work.

Every file is dated an hour back (the dirty ones a minute), and the generator returns once the
second it last wrote in has passed, as a person's files are when a run begins. git compares stat
times to the second: files written (or their inodes changed: the ctime cannot be dated back) in
the very second of a scan look racily clean to it, and git and specflow both read them again at
every scan of that second, which no tree but one generated the moment before shows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

CHANGE = "bench-change"


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def file_path(i: int) -> str:
    """The path of tracked file ``i``: 100 packages x 20 modules x files."""
    return f"pkg{i % 100:03d}/mod{(i // 100) % 20:02d}/file{i:05d}.py"


def _date_back(root: Path, seconds: int, paths: list[Path] | None = None) -> None:
    """Set the times of ``paths`` (default: every file under ``root`` outside ``.git``) ``seconds`` back."""
    when = time.time() - seconds
    if paths is None:
        paths = [Path(folder) / name for folder, dirs, names in os.walk(root) for name in names]
        paths = [p for p in paths if ".git" not in p.relative_to(root).parts]
    for path in paths:
        os.utime(path, (when, when))


def generate(root: Path, files: int = 20_000, dirty: int = 200) -> Path:
    """Create the repo at ``root`` (which must not exist) and return it."""
    root.mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "bench@example.com")
    _git(root, "config", "user.name", "Bench")
    _git(root, "config", "commit.gpgsign", "false")
    change = root / "openspec" / "changes" / CHANGE
    change.mkdir(parents=True)
    (change / "proposal.md").write_text("## Why\nBenchmark.\n")
    (change / "tasks.md").write_text("- [ ] 1.1 one\n")
    (root / "openspec" / "specs").mkdir()
    (root / "openspec" / "specs" / "README.md").write_text("# specs\n")
    made: set[str] = set()
    for i in range(files - 4):
        rel = file_path(i)
        folder = os.path.dirname(rel)
        if folder not in made:
            os.makedirs(root / folder, exist_ok=True)
            made.add(folder)
        with open(root / rel, "w", encoding="utf-8") as fh:
            fh.write(f"# file {i}\nVALUE = {i}\n" + "x = 1\n" * 10)
    (root / "README.md").write_text("bench\n")
    _date_back(root, 3600)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "generated")
    step = max(1, (files - 4) // max(1, dirty // 2))
    touched: list[Path] = []
    for n, i in enumerate(range(0, files - 4, step)):
        if n >= dirty // 2:
            break
        touched.append(root / file_path(i))
        with open(touched[-1], "a", encoding="utf-8") as fh:
            fh.write("changed = True\n")
    for n in range(dirty - dirty // 2):
        touched.append(root / f"pkg{n % 100:03d}" / f"new{n:03d}.py")
        touched[-1].write_text(f"new = {n}\n")
    _date_back(root, 60, touched)
    time.sleep(1.01 - time.time() % 1)  # past the second of the last change (ctime included)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--dirty", type=int, default=200)
    args = parser.parse_args()
    generate(args.dir, args.files, args.dirty)
    print(f"generated {args.dir}: {args.files} tracked files, {args.dirty} modified or new")


if __name__ == "__main__":
    main()
