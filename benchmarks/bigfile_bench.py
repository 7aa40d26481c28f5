"""A checkpoint and an audit with a changed 256 MiB file, against ``git status`` on the same tree.

    python benchmarks/bigfile_bench.py [--mib 256] [--pairs 7] [--keep DIR]

A hub (``workspace_gen.generate``: a few hundred small files) holds a committed file of ``--mib``
MiB of random bytes (incompressible: the worst case) inside the change's folder, so inside the
write gate.  In each of ``--pairs`` rounds, 1 MiB of the file is rewritten at a new offset
(the mtime moves, so every tool must read and hash the whole file), then are timed:

- ``git status --porcelain``: the reference, which hashes the changed file once;
- a checkpoint (``Workspaces.checkpoint``);
- the agent's turn rewrites another 1 MiB of the file, then the audit (``Workspaces.audit``);
- the commit of the attempt's work (``Workspaces.commit``) right after: it stages the blob the
  audit stored (the audit, finding the file written moments before, read it once its stat data
  would show a later write, at most ``bigfiles.SETTLE_WAIT_NS`` on), not reading the file again.

Also printed: what one version of the file costs in ``.git/objects`` (its growth over the
rounds, divided by the versions stored: the checkpoint's and the audit's; the commits store
none).  Targets (issue 16): checkpoint, audit and commit <= 2 s each.  Exits 1 on a miss.
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

from workspace_gen import CHANGE, generate

from specflow.definitions.config import HubConfig
from specflow.workspace.workspaces import Workspaces

TARGET_S = 2.0
MIB = 1 << 20


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def disk_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def write_big(path: Path, mib: int) -> None:
    with path.open("wb") as fh:
        for _ in range(mib):
            fh.write(os.urandom(MIB))


def touch_big(path: Path, offset_mib: int) -> None:
    """Rewrite 1 MiB of the file at ``offset_mib``: new content, same size."""
    with path.open("r+b") as fh:
        fh.seek(offset_mib * MIB)
        fh.write(os.urandom(MIB))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--pairs", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="specflow-bench-"))
    hub = base / "hub"
    try:
        generate(hub, 400, 0)
        big = hub / "openspec" / "changes" / CHANGE / "data.bin"
        write_big(big, args.mib)
        git(hub, "add", "-A")
        git(hub, "commit", "-q", "-m", "a big file")
        ws = Workspaces(hub, HubConfig(), CHANGE, [])
        policy = ws.policy(read_only=False, write=[f"openspec/changes/{CHANGE}/**"], worktrees=False, phase="apply")
        status = ["git", "status", "--porcelain"]
        ws.audit(ws.checkpoint(phase="apply", state="propose"), policy)  # the first snapshot's index
        objects = hub / ".git" / "objects"
        before = disk_bytes(objects)
        st: list[float] = []
        cp: list[float] = []
        au: list[float] = []
        co: list[float] = []
        for i in range(args.pairs):
            touch_big(big, (2 * i) % args.mib)
            start = time.perf_counter()
            subprocess.run(status, cwd=hub, check=True, capture_output=True)
            st.append(time.perf_counter() - start)
            start = time.perf_counter()
            checkpoint = ws.checkpoint(phase="apply", state="propose")
            cp.append(time.perf_counter() - start)
            touch_big(big, (2 * i + 1) % args.mib)  # the agent's turn, inside the gate
            start = time.perf_counter()
            report = ws.audit(checkpoint, policy)
            au.append(time.perf_counter() - start)
            assert report.ok, report.summary()
            start = time.perf_counter()
            ws.commit(f"round {i}\n")
            co.append(time.perf_counter() - start)
        per_version = (disk_bytes(objects) - before) / (2 * args.pairs)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    ref, ours_cp, ours_au, ours_co = (statistics.median(v) for v in (st, cp, au, co))
    print(f"a changed {args.mib} MiB file; medians of {args.pairs} interleaved rounds; {os.cpu_count()} CPUs")
    print(f"reference  {'git status --porcelain':<24}  {ref:6.2f} s")
    failed = False
    for name, value in (("checkpoint", ours_cp), ("audit", ours_au), ("commit", ours_co)):
        ok = value <= TARGET_S
        failed |= not ok
        print(
            f"specflow   {name:<24}  {value:6.2f} s  {value / ref:5.2f}x git status"
            f"  (target <= {TARGET_S:.0f} s) {'ok' if ok else 'MISS'}"
        )
    share = per_version / (args.mib * MIB)
    print(f"disk       one version in .git/objects: {per_version / MIB:6.1f} MiB ({share:.2f}x the file)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
