"""Benchmark the sandbox's start-up cost per phase against a bare start, in one run.

    python benchmarks/sandbox_bench.py [--pairs 15] [--target-ms 20]

One "start" is what an agent's phase pays before and after the program itself: the launcher
(``specflow.sandbox.launch.spawn``: choosing the layer, the policy, the private temporary folder,
the wrapper) up to the exit of a trivial program (``true``), and the clean-up.  Against it, a bare
``subprocess.Popen(["true"])`` to its exit.  For every layer that runs here (bubblewrap,
Landlock, and no layer: the supervising helper alone) it takes interleaved pairs (bare, then
sandboxed, then the other way round) and reports the median extra cost.

Target: at most 20 ms per phase for every layer.  Exit code 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from specflow.sandbox.launch import spawn
from specflow.sandbox.layers import problem
from specflow.sandbox.settings import Layer, SandboxSettings
from specflow.workspace.gates import GatePolicy

LAYERS: tuple[Layer, ...] = ("bubblewrap", "landlock", "off")


def bare_start(cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["true"], cwd=cwd, check=True)
    return time.perf_counter() - start


def sandboxed_start(cwd: Path, gate: GatePolicy, layer: Layer) -> float:
    start = time.perf_counter()
    launch = spawn(["true"], cwd=cwd, env=dict(os.environ), gate=gate, settings=SandboxSettings(mode=layer))
    code = launch.proc.wait()
    launch.close()
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"the {layer} start failed with exit code {code}")
    return elapsed


def measure(layer: Layer, hub: Path, gate: GatePolicy, pairs: int) -> tuple[float, float]:
    """Median bare and sandboxed start (ms) over interleaved pairs, after one warm-up each."""
    bare_start(hub)
    sandboxed_start(hub, gate, layer)  # warm-up: the layer probe is paid once per process
    bare: list[float] = []
    boxed: list[float] = []
    for i in range(pairs):
        if i % 2 == 0:
            bare.append(bare_start(hub))
            boxed.append(sandboxed_start(hub, gate, layer))
        else:
            boxed.append(sandboxed_start(hub, gate, layer))
            bare.append(bare_start(hub))
    return statistics.median(bare) * 1000, statistics.median(boxed) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=15, help="interleaved pairs per layer (at least 7)")
    parser.add_argument("--target-ms", type=float, default=20.0)
    args = parser.parse_args()
    pairs = max(args.pairs, 7)
    missed = False
    with tempfile.TemporaryDirectory(prefix="specflow-sandbox-bench-") as tmp:
        hub = Path(tmp) / "hub"
        (hub / "openspec" / "changes" / "add-x").mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(hub)], check=True)
        gate = GatePolicy(hub=hub, write_globs=("openspec/changes/add-x/**",))
        print(f"{'layer':<12} {'bare ms':>9} {'sandboxed ms':>13} {'extra ms':>9}  target <= {args.target_ms:g} ms")
        for layer in LAYERS:
            why = problem(layer)
            if why is not None:
                print(f"{layer:<12} skipped: {why}")
                continue
            bare, boxed = measure(layer, hub, gate, pairs)
            extra = boxed - bare
            ok = extra <= args.target_ms
            missed |= not ok
            print(f"{layer:<12} {bare:9.1f} {boxed:13.1f} {extra:9.1f}  {'ok' if ok else 'MISSED'}")
    print(f"({pairs} interleaved pairs per layer, medians)")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
