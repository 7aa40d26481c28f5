"""YAML specflow reads is bounded: alias bombs and deep nesting are refused at once, with file:line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specflow.errors import DefinitionError
from specflow.yamlio import MAX_ALIASES, MAX_DEPTH, MAX_NODES, parse_yaml
from tests.conftest import REPO_ROOT, HubFixture

# "billion laughs": nine levels of nine aliases each, 9**9 values once expanded
ALIAS_BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n" for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
DEEP_FLOW = "default_agent: " + "[" * 10_000 + "]" * 10_000 + "\n"
DEEP_BLOCK = "agents:\n" + "".join(" " * depth + f"k{depth}:\n" for depth in range(1, 10_000))
DEEP_SEQUENCE = "".join("  " * depth + "-\n" for depth in range(10_000))


def specflow(*args: str | Path, cwd: Path) -> tuple[int, str, str, float]:
    """Run the real CLI in a fresh process; returns (exit code, stdout, stderr, seconds)."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "specflow", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "NO_COLOR": "1"},
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start


def refusal(text: str) -> tuple[DefinitionError, float]:
    start = time.monotonic()
    with pytest.raises(DefinitionError) as info:
        parse_yaml(text, "f.yaml")
    return info.value, time.monotonic() - start


@pytest.mark.parametrize(
    ("text", "line", "found"),
    [
        (ALIAS_BOMB, 6, f"expands to more than {MAX_NODES} values"),
        (DEEP_FLOW, 1, f"nesting deeper than {MAX_DEPTH} levels"),
        ("a: " + "{a: " * 10_000 + "}" * 10_000, 1, f"nesting deeper than {MAX_DEPTH} levels"),
        (DEEP_BLOCK, MAX_DEPTH + 1, f"nesting deeper than {MAX_DEPTH} levels"),
        (DEEP_SEQUENCE, MAX_DEPTH + 1, f"nesting deeper than {MAX_DEPTH} levels"),
        ("a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n", 2, f"more than {MAX_ALIASES} aliases"),
    ],
    ids=["alias-bomb", "deep-flow-list", "deep-flow-map", "deep-block-map", "deep-block-list", "aliases"],
)
def test_each_bound_is_refused_quickly_with_its_line(text: str, line: int, found: str) -> None:
    err, seconds = refusal(text)
    assert err.file == "f.yaml" and err.line == line
    assert found in err.detail and "(the limit is" in err.detail
    assert err.fix
    assert seconds < 1.0


def test_an_alias_inside_its_own_anchor_is_refused() -> None:
    err, seconds = refusal("a: &a [1, *a]\n")
    assert (err.line, err.detail) == (1, "the alias *a refers to a collection that contains it")
    assert seconds < 1.0


def test_nesting_built_from_aliases_counts_too() -> None:
    half = MAX_DEPTH // 2 + 2
    text = f"a: &a {'[' * half}1{']' * half}\nb: {'[' * half}*a{']' * half}\n"
    err, _ = refusal(text)
    assert err.line == 2
    assert err.detail.startswith(f"nesting deeper than {MAX_DEPTH} levels once its aliases (*name) are expanded")


def test_ordinary_anchors_and_nesting_still_load() -> None:
    text = "base: &base {adapter: command, timeout: 5}\nagents:\n  a: *base\n  b: *base\n"
    nested = "x: " + "[" * (MAX_DEPTH - 1) + "1" + "]" * (MAX_DEPTH - 1) + "\n"
    assert parse_yaml(text).data["agents"]["b"] == {"adapter": "command", "timeout": 5}
    assert parse_yaml(nested).data["x"]
    nine = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n"
    assert len(parse_yaml(nine).data["c"]) == 4


@pytest.mark.parametrize(
    "text", [ALIAS_BOMB, DEEP_FLOW, DEEP_BLOCK], ids=["alias-bomb", "deep-flow-list", "deep-block-map"]
)
def test_a_hostile_specflow_yaml_fails_through_the_cli_in_under_a_second(hub: HubFixture, text: str) -> None:
    (hub.root / "specflow.yaml").write_text(text, encoding="utf-8")
    code, _out, err, seconds = specflow("-C", hub.root, "new", "add-login", cwd=hub.root)
    assert code == 1, err
    assert err.startswith(f"error: {hub.root / 'specflow.yaml'}:"), err
    assert "Traceback" not in err and "fix:" in err
    assert seconds < 5  # a fresh interpreter included; the refusal itself is measured above
    assert not (hub.root / "openspec" / "changes" / "add-login").exists()
    assert not (hub.root / ".specflow" / "worktrees" / "add-login").exists()


def test_a_hostile_workflow_fails_validation_through_the_cli(hub: HubFixture) -> None:
    bomb = hub.write("openspec/workflows/bomb.yaml", ALIAS_BOMB)
    deep = hub.write("openspec/workflows/deep.yaml", "workflow: deep\ninitial: " + "[" * 10_000 + "\n")
    code, _out, err, seconds = specflow("-C", hub.root, "workflows", "validate", bomb, deep, cwd=hub.root)
    assert code == 1, err
    assert f"{bomb}:6:" in err and f"{deep}:2:" in err
    assert "Traceback" not in err
    assert seconds < 5


def test_a_hostile_change_metadata_file_does_not_hang_status(hub: HubFixture) -> None:
    code, _out, err, _ = specflow("-C", hub.root, "new", "add-login", cwd=hub.root)
    assert code == 0, err
    (hub.change_dir("add-login") / ".openspec.yaml").write_text(ALIAS_BOMB, encoding="utf-8")
    code, out, err, seconds = specflow("-C", hub.root, "validate", "add-login", cwd=hub.root)
    assert "Traceback" not in err and "internal error" not in err
    assert code == 1 and "add-login" in out + err  # judged (it has no deltas), not crashed nor hung
    assert seconds < 10
