"""Generate a reproducible OpenSpec tree for benchmarks: 500 changes over 200 specs by default.

    python benchmarks/gen_openspec_tree.py OUT_DIR [--changes 500] [--specs 200] [--seed 7]
        [--requirements N]

Each main spec has several requirements with scenarios (exactly ``N`` with ``--requirements``:
``--specs 3 --requirements 1000`` is the tree of three big specs every change modifies); each
change has ``.openspec.yaml``, ``proposal.md``, ``tasks.md`` (some done, some open) and a few delta
specs that ADD, MODIFY, REMOVE and RENAME requirements (a handful deliberately flawed, so
validation has work to report).
"""

from __future__ import annotations

import argparse
import random
import shutil
from datetime import date
from pathlib import Path

WORDS = [
    "account",
    "audit",
    "billing",
    "cache",
    "catalog",
    "checkout",
    "config",
    "export",
    "feed",
    "gateway",
    "import",
    "index",
    "invoice",
    "ledger",
    "login",
    "metrics",
    "notify",
    "order",
    "payment",
    "profile",
    "quota",
    "report",
    "search",
    "session",
    "share",
    "storage",
    "sync",
    "token",
    "upload",
    "webhook",
]


def _title(rng: random.Random, n: int = 3) -> str:
    return " ".join(rng.choice(WORDS).capitalize() for _ in range(n))


def _scenario(rng: random.Random, name: str) -> str:
    return (
        f"#### Scenario: {name}\n"
        f"- **WHEN** the user requests {rng.choice(WORDS)} {rng.choice(WORDS)}\n"
        f"- **THEN** the system returns the {rng.choice(WORDS)} result\n"
    )


def _requirement(rng: random.Random, name: str, scenarios: list[str]) -> str:
    body = (
        f"### Requirement: {name}\n"
        f"The system SHALL handle {rng.choice(WORDS)} for {rng.choice(WORDS)} requests and MUST"
        f" record the {rng.choice(WORDS)} outcome.\n\n"
    )
    return body + "\n".join(_scenario(rng, s) for s in scenarios)


def generate(
    out: Path, n_changes: int = 500, n_specs: int = 200, seed: int = 7, requirements: int | None = None
) -> None:
    """Write the tree under ``out`` (replacing it); ``requirements`` fixes the size of every spec."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    specs_dir = out / "openspec" / "specs"
    changes_dir = out / "openspec" / "changes"
    (changes_dir / "archive").mkdir(parents=True)
    (changes_dir / "archive" / ".gitkeep").write_text("")
    specs_dir.mkdir(parents=True)
    (out / "openspec" / "config.yaml").write_text("schema: spec-driven\n\n# Project context\n")
    spec_reqs: dict[str, list[tuple[str, list[str]]]] = {}
    for s in range(n_specs):
        cap = f"cap-{s:03d}" if s % 10 else f"area-{s // 50}/cap-{s:03d}"
        reqs = []
        for r in range(requirements if requirements is not None else rng.randint(3, 6)):
            reqs.append((f"{_title(rng)} {s}-{r}", [f"Case {k}" for k in range(rng.randint(1, 3))]))
        spec_reqs[cap] = reqs
        text = (
            f"# {cap} Specification\n\n## Purpose\nThis capability covers {rng.choice(WORDS)} and"
            f" {rng.choice(WORDS)} handling for the whole platform.\n\n## Requirements\n"
            + "\n".join(_requirement(rng, name, sc) for name, sc in reqs)
        )
        path = specs_dir.joinpath(*cap.split("/"), "spec.md")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    caps = sorted(spec_reqs)
    today = date.today().isoformat()
    for c in range(n_changes):
        cid = f"change-{c:04d}-{rng.choice(WORDS)}"
        d = changes_dir / cid
        d.mkdir()
        (d / ".openspec.yaml").write_text(f"schema: spec-driven\ncreated: {today}\n")
        (d / "proposal.md").write_text(
            f"# Change: {_title(rng)}\n\n## Why\nBecause {rng.choice(WORDS)} needs work.\n\n"
            f"## What Changes\n- Update {rng.choice(WORDS)}\n"
        )
        tasks = ["## 1. Implementation\n"]
        done_all = rng.random() < 0.3
        for t in range(rng.randint(2, 8)):
            mark = "x" if done_all or rng.random() < 0.5 else " "
            tasks.append(f"- [{mark}] 1.{t + 1} Do {rng.choice(WORDS)}\n")
        (d / "tasks.md").write_text("".join(tasks))
        for k in range(rng.randint(1, 4)):
            cap = rng.choice(caps) if k or rng.random() < 0.9 else f"new-cap-{c:04d}"
            reqs = spec_reqs.get(cap, [])
            parts = []
            added = [_requirement(rng, f"New {_title(rng, 2)} {c}-{k}", ["Works"])]
            if rng.random() < 0.05:
                added.append(f"### Requirement: Broken {c}-{k}\nThe system does things.\n")
            parts.append("## ADDED Requirements\n" + "\n".join(added))
            if reqs and rng.random() < 0.6:
                name, sc = rng.choice(reqs)
                parts.append("## MODIFIED Requirements\n" + _requirement(rng, name, [*sc, "Extra"]))
            if reqs and rng.random() < 0.2:
                parts.append(f"## REMOVED Requirements\n- ### Requirement: {reqs[-1][0]}\n")
            if reqs and rng.random() < 0.15:
                parts.append(
                    f"## RENAMED Requirements\n- FROM: `### Requirement: {reqs[0][0]}`\n"
                    f"- TO: `### Requirement: {reqs[0][0]} Renamed`\n"
                )
            path = d.joinpath("specs", *cap.split("/"), "spec.md")
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text("\n".join(parts))


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--changes", type=int, default=500)
    p.add_argument("--specs", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--requirements", type=int, help="requirements per spec (default: 3 to 6)")
    args = p.parse_args(argv)
    generate(args.out, args.changes, args.specs, args.seed, args.requirements)
    print(f"wrote {args.changes} changes and {args.specs} specs under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
