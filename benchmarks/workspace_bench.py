"""Benchmark checkpoints, audits and worktree creation against git itself, in one run.

    python benchmarks/workspace_bench.py [--files 20000|1000,20000,100000] [--dirty 200] [--runs 7] [--wt-runs 7]

On a generated hub (``workspace_gen.py``: 20,000 tracked files, or each size of ``--files``, 200
modified or new) it measures the median time of

- ``git status --porcelain --untracked-files=all`` — the floor: one scan of the working tree;
- a checkpoint (``Workspaces.checkpoint``, with no index parse kept in memory from before, as in
  the fresh process of ``specflow advance``: what the previous audit left on disk is all it has)
  and an audit (``Workspaces.audit``, after an agent turn that changed a few files inside the
  gate, in the checkpoint's process) — targets: each at most 2x the status scan;
- (at the first size) creating the change's worktrees (``Workspaces.ensure_worktrees``: in this
  single-repo hub, the change's worktree of the hub on ``specflow/<id>``) against a bare
  ``git worktree add`` of the same commit — target: at most 1.2x.  Both write 1,000 files and
  their folders, so on a disk the ratio also carries how fast the disk is that minute; with
  ``TMPDIR=/dev/shm`` (a tmpfs) it is specflow's own cost alone.

and prints a table with the ratios.  Exit code 1 if a target is missed.
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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workspace_gen import CHANGE, generate

from specflow.definitions.config import HubConfig
from specflow.workspace.indexfile import forget_parsed_indexes
from specflow.workspace.workspaces import Workspaces


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def bench_scans(hub: Path, runs: int) -> dict[str, float]:
    """Medians (ms) of git status, a checkpoint and an audit on the same tree."""
    ws = Workspaces(hub, HubConfig(), CHANGE, [])
    policy = ws.policy(read_only=False, write=[f"openspec/changes/{CHANGE}/**"], worktrees=False, phase="propose")
    status = ["git", "status", "--porcelain", "--untracked-files=all"]
    tasks = hub / "openspec" / "changes" / CHANGE / "tasks.md"
    # warm up: the file cache, and the first snapshot (which hashes the dirty files once)
    for _ in range(2):
        subprocess.run(status, cwd=hub, check=True, capture_output=True)
    ws.audit(ws.checkpoint(phase="propose", state="explore"), policy)
    st: list[float] = []
    cp: list[float] = []
    au: list[float] = []

    def scan() -> None:
        start = time.perf_counter()
        subprocess.run(status, cwd=hub, check=True, capture_output=True)
        st.append(time.perf_counter() - start)

    for i in range(runs):
        if i % 2 == 0:  # the reference goes first in one run, last in the next
            scan()
        # 'specflow advance' takes its checkpoint in a fresh process: nothing parsed in memory before
        forget_parsed_indexes()
        start = time.perf_counter()
        checkpoint = ws.checkpoint(phase="propose", state="explore")
        cp.append(time.perf_counter() - start)
        # the agent's turn: a few files inside the gate
        tasks.write_text(f"- [x] 1.1 one (run {i})\n")
        (tasks.parent / f"design-{i}.md").write_text("design\n")
        start = time.perf_counter()
        report = ws.audit(checkpoint, policy)
        au.append(time.perf_counter() - start)
        assert report.ok, report.summary()
        if i % 2 == 1:
            scan()
    return {"status": median_ms(st), "checkpoint": median_ms(cp), "audit": median_ms(au)}


def bench_worktrees(hub: Path, runs: int) -> dict[str, float]:
    """Medians (ms) of a bare ``git worktree add`` and of ``ensure_worktrees``.

    The two alternate which goes first, and each new worktree is removed before the next one,
    so neither side profits from the file cache; the removal is written back to disk before the
    next creation starts (``os.sync``), so neither pays for the other's clean-up (left to the
    kernel, that write-back landed in whichever creation came next: a bare add took 56 to 272 ms
    from one run of this benchmark to the next).
    """
    bare: list[float] = []
    ours: list[float] = []
    scratch = hub.parent / "bare-worktrees"

    def run_bare(i: int) -> None:
        path = scratch / f"wt{i}"
        bare.append(timed(lambda: git(hub, "worktree", "add", "-q", "-b", f"bare-{i}", str(path), "main")))
        shutil.rmtree(scratch, ignore_errors=True)
        git(hub, "worktree", "prune")
        os.sync()

    def run_ours(i: int) -> None:
        ws = Workspaces(hub, HubConfig(), f"wt-{i}", [])
        created: dict[str, Path] = {}
        ours.append(timed(lambda: created.update(ws.ensure_worktrees())))
        assert (next(iter(created.values())) / "openspec").is_dir()  # the change's own worktree of the hub
        shutil.rmtree(hub / ".specflow" / "worktrees", ignore_errors=True)
        git(hub, "worktree", "prune")
        os.sync()

    for i in range(runs):
        first, second = (run_bare, run_ours) if i % 2 == 0 else (run_ours, run_bare)
        first(i)
        second(i)
    return {"bare": median_ms(bare), "ours": median_ms(ours)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--files",
        type=lambda v: [int(n) for n in v.split(",")],
        default=[20_000],
        help="tracked files, or several sizes comma-separated (1000,20000,100000); worktrees at the first",
    )
    parser.add_argument("--dirty", type=int, default=200)
    parser.add_argument("--runs", type=int, default=7, help="runs of the scans (median)")
    parser.add_argument("--wt-runs", type=int, default=7, help="interleaved pairs of worktree creations (median)")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()

    rows: list[tuple[str, float, str | None, float | None, float | None]] = []
    for n, files in enumerate(args.files):
        base = args.keep / str(files) if args.keep else Path(tempfile.mkdtemp(prefix="specflow-bench-"))
        hub = base / "hub"
        try:
            t0 = time.perf_counter()
            generate(hub, files, args.dirty)
            # the generated files are written back to disk now, not by the kernel while the scans run
            os.sync()
            print(
                f"generated {files} tracked files, {args.dirty} modified or new in"
                f" {time.perf_counter() - t0:.1f}s ({hub})",
                flush=True,
            )
            scans = bench_scans(hub, args.runs)
            wt = bench_worktrees(hub, args.wt_runs) if n == 0 else None
        finally:
            if args.keep is None:
                shutil.rmtree(base, ignore_errors=True)
        rows += [
            (f"git status -uall, {files} files", scans["status"], None, None, None),
            (f"checkpoint, {files} files", scans["checkpoint"], "status", scans["checkpoint"] / scans["status"], 2.0),
            (f"audit, {files} files", scans["audit"], "status", scans["audit"] / scans["status"], 2.0),
        ]
        if wt is not None:
            rows += [
                (f"git worktree add, {files} files", wt["bare"], None, None, None),
                ("ensure_worktrees", wt["ours"], "bare add", wt["ours"] / wt["bare"], 1.2),
            ]
    print(
        f"\neach scan run, on a hub with {args.dirty} files modified or new (uncommitted):"
        "\n  git status -uall (first in one run, last in the next); a checkpoint (nothing changed since the"
        "\n  previous audit, as in a phase after the engine commits its records), taken as in a fresh"
        "\n  process (no index parse in memory); the agent's turn writes 2 files inside the gate; the audit"
        "\n  (in the checkpoint's process, as in 'specflow advance')"
    )
    print(f"medians of {args.runs} scan runs and {args.wt_runs} worktree runs\n")
    print(f"{'operation':<34} {'median':>10}  {'vs':<9} {'ratio':>6}  {'target':>6}  result")
    failed = False
    for name, ms, ref, ratio, target in rows:
        if ref is None or ratio is None or target is None:
            print(f"{name:<34} {ms:>8.1f}ms")
            continue
        ok = ratio <= target
        failed |= not ok
        print(f"{name:<34} {ms:>8.1f}ms  {ref:<9} {ratio:>5.2f}x  {target:>5.1f}x  {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
