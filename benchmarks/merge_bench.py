"""``merge`` of a change against ``git merge --no-ff`` of the same branch, on a 20,000-file hub, in one run.

    python benchmarks/merge_bench.py [--files 20000] [--changed 50] [--pairs 7]

A single-repo hub (``workspace_gen.py``: ``--files`` tracked files, nothing dirty) gets a change
(``Hub.new_change``: its branch ``specflow/<id>`` and its worktree of the hub) whose worktree
commits ``--changed`` edited and new files.  In interleaved pairs the hub's ``main`` is then
merged with that branch, each time from the same commit (``git reset --hard`` in between,
untimed):

- ``git merge --no-ff --no-edit specflow/<id>`` in the hub's checkout: the reference;
- ``Change.merge()``, what ``specflow merge <id>`` runs: its checks (uncommitted work in the
  worktree, the checkout of ``main``, conflicts), the merge commit and its journal.

Target (issue 16): median specflow / median git <= 1.3x.  Exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workspace_gen import file_path, generate

from specflow.engine.hub import Hub

TARGET = 1.3
CHANGE = "merge-bench"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def prepare(root: Path, files: int, changed: int) -> Path:
    """The hub, and a change whose branch holds ``changed`` committed files; returns the hub."""
    generate(root, files, 0)
    (root / "specflow.yaml").write_text("sandbox: off\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "specflow.yaml")
    worktree = Hub.open(root).new_change(CHANGE).root
    for i in range(changed):
        if i % 2:
            (worktree / f"pkg{i % 100:03d}" / f"merged{i:03d}.py").write_text(f"merged = {i}\n")
        else:
            with open(worktree / file_path(i * 97), "a", encoding="utf-8") as fh:
                fh.write("merged = True\n")
    git(worktree, "add", "-A")
    git(worktree, "commit", "-q", "-m", "the change's work")
    return root


def timed_s(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--changed", type=int, default=50)
    ap.add_argument("--pairs", type=int, default=7)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="specflow-bench-"))
    try:
        hub = prepare(tmp / "hub", args.files, args.changed)
        start = git(hub, "rev-parse", "HEAD").strip()
        branch = f"specflow/{CHANGE}"

        def reference() -> None:
            git(hub, "merge", "--no-ff", "--no-edit", "-q", "-m", f"merge {branch}", branch)

        def ours() -> None:
            results = Hub.open(hub).change(CHANGE).merge()
            assert [r.status for r in results] == ["merged"], results

        refs: list[float] = []
        mine: list[float] = []
        for i in range(args.pairs + 1):  # the first pair warms the file cache and is not counted
            for name in ("ref", "ours") if i % 2 == 0 else ("ours", "ref"):
                took = timed_s(reference if name == "ref" else ours)
                git(hub, "reset", "-q", "--hard", start)
                if i:
                    (refs if name == "ref" else mine).append(took)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ref_s, our_s = statistics.median(refs), statistics.median(mine)
    ratio = our_s / ref_s
    print(f"hub: {args.files} files, {args.changed} changed on the branch; medians of {args.pairs} interleaved pairs;")
    print(f"     {os.cpu_count()} CPUs")
    print(f"reference  git merge --no-ff:   {ref_s * 1000:7.1f} ms")
    print(f"specflow   merge (Change.merge): {our_s * 1000:7.1f} ms")
    print(f"ratio      {ratio:.2f}x (target <= {TARGET}x) {'ok' if ratio <= TARGET else 'MISS'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
