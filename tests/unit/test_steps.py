"""The step registry: pattern matching, suggestions, built-in steps on real files."""

from __future__ import annotations

import importlib
import shlex
import sys
from pathlib import Path

import parse
import pytest
from hypothesis import given
from hypothesis import strategies as st

from specflow.definitions.config import HubConfig
from specflow.errors import StepError
from specflow.steps.builtin import STEPS
from specflow.steps.registry import (
    ON_DEMAND,
    PROVIDERS,
    StepCollector,
    StepContext,
    StepDef,
    StepRegistry,
    StepResult,
    build_registry,
)


def ctx_for(tmp_path: Path, state: str = "propose") -> StepContext:
    change = tmp_path / "openspec" / "changes" / "add-x"
    change.mkdir(parents=True, exist_ok=True)
    return StepContext(
        hub_root=tmp_path, change_id="add-x", change_dir=change, state=state, config=HubConfig(), command_timeout=5
    )


def test_pattern_fields_are_parsed() -> None:
    reg = StepRegistry(STEPS)
    hit = reg.find('the file "docs/a.md" contains "Why"')
    assert hit is not None
    assert hit[1] == {"path": "docs/a.md", "text": "Why"}


def test_unknown_step_suggests_close_patterns() -> None:
    reg = StepRegistry(STEPS)
    assert reg.find("all task are done") is None
    assert reg.suggest("all task are done")[0] == "all tasks are done"


def test_duplicate_pattern_with_different_function_is_refused() -> None:
    a, b = StepCollector(), StepCollector()
    a("the sky is blue")(lambda ctx: True)
    b("the sky is blue")(lambda ctx: False)
    with pytest.raises(StepError, match="defined twice"):
        StepRegistry([*a, *b])


def test_file_steps(tmp_path: Path) -> None:
    reg = StepRegistry(STEPS)
    ctx = ctx_for(tmp_path)
    missing = reg.evaluate('the file "proposal.md" exists', ctx)
    assert not missing.ok and "proposal.md is missing or empty" in missing.reason
    (ctx.change_dir / "proposal.md").write_text("## Why\nBecause.\n")
    assert reg.evaluate('the file "proposal.md" exists', ctx).ok
    assert reg.evaluate('the file "proposal.md" contains "Because"', ctx).ok
    no = reg.evaluate('the file "proposal.md" contains "Never"', ctx)
    assert not no.ok and no.reason == "proposal.md does not contain 'Never'"
    escape = reg.evaluate('the file "../../../etc/passwd" exists', ctx)
    assert not escape.ok and "outside the change folder" in escape.reason


def test_all_tasks_are_done_follows_openspec_checkbox_rules(tmp_path: Path) -> None:
    reg = StepRegistry(STEPS)
    ctx = ctx_for(tmp_path)
    tasks = ctx.change_dir / "tasks.md"
    tasks.write_text("## 1. Build\n- [x] 1.1 one\n- [ ] 1.2 two\n* [X] 1.3 three\n")
    out = reg.evaluate("all tasks are done", ctx)
    assert not out.ok and out.reason == "2/3 tasks done; still open: 1.2 two"
    tasks.write_text("## 1. Build\n- [x] 1.1 one\n- [X] 1.2 two\n")
    assert reg.evaluate("all tasks are done", ctx).ok
    tasks.write_text("nothing to do\n")
    assert reg.evaluate("all tasks are done", ctx).reason == "tasks.md has no tasks ('- [ ] ...' lines)"


def test_command_step_runs_in_the_hub_with_a_time_limit(tmp_path: Path) -> None:
    reg = StepRegistry(STEPS)
    ctx = ctx_for(tmp_path)
    (tmp_path / "marker").write_text("x")
    (tmp_path / "check.py").write_text("import os\nassert os.path.exists('marker')\n")
    python = shlex.quote(sys.executable)  # a command is split as a shell would split it
    ok = reg.evaluate(f'the command "{python} check.py" succeeds', ctx)
    assert ok.ok, ok.reason
    bad = reg.evaluate(f"the command \"{python} -c 'raise SystemExit(4)'\" succeeds", ctx)
    assert not bad.ok and "exited with 4" in bad.reason
    ctx.command_timeout = 0.5
    slow = reg.evaluate(f"the command \"{python} -c 'import time; time.sleep(30)'\" succeeds", ctx)
    assert not slow.ok and "did not finish within 0.5 s" in slow.reason


def test_a_crashing_user_step_is_a_failure_with_its_cause(tmp_path: Path) -> None:
    col = StepCollector()

    @col("the moon is full")
    def boom(ctx: StepContext) -> StepResult:
        raise RuntimeError("no moon")

    out = StepRegistry(col).evaluate("the moon is full", ctx_for(tmp_path))
    assert not out.ok and out.reason == "step raised RuntimeError: no moon"


def _hub_with_steps(root: Path, module: str, pattern: str) -> Path:
    root.mkdir(parents=True)
    (root / f"{module}.py").write_text(
        f"from specflow import step\n\n@step({pattern!r})\ndef check(ctx):\n    return True\n", encoding="utf-8"
    )
    return root


def test_a_hubs_step_modules_are_its_own_in_a_process_with_several_hubs(tmp_path: Path) -> None:
    from specflow.steps.registry import build_registry

    a = _hub_with_steps(tmp_path / "a", "teamsteps_iso", "the A check holds")
    c = _hub_with_steps(tmp_path / "c", "teamsteps_iso", "the C check holds")  # same module name, other hub
    b = tmp_path / "b"
    b.mkdir()
    try:
        assert build_registry(a, ["teamsteps_iso"]).find("the A check holds") is not None
        # a hub that does not list the module does not get its steps
        assert build_registry(b).find("the A check holds") is None
        # a hub whose own module has the same name gets its own steps, not the other hub's
        in_c = build_registry(c, ["teamsteps_iso"])
        assert in_c.find("the C check holds") is not None
        assert in_c.find("the A check holds") is None
        in_a = build_registry(a, ["teamsteps_iso"])
        assert in_a.find("the A check holds") is not None
        assert in_a.find("the C check holds") is None
    finally:
        sys.modules.pop("teamsteps_iso", None)


def test_openspec_steps_load_when_a_workflow_names_one_and_no_other_step_shadows_them(tmp_path: Path) -> None:
    eager = StepRegistry()
    for provider in PROVIDERS:
        eager.extend(importlib.import_module(provider).STEPS)
    on_demand = [d.pattern for module in ON_DEMAND for d in importlib.import_module(module).STEPS]
    assert "the change passes strict validation" in on_demand
    assert [p for p in on_demand if eager.find(p) is not None] == []
    registry = build_registry(tmp_path)
    hit = registry.find("the change passes strict validation")
    assert hit is not None and hit[0].source.startswith("specflow.steps.openspec.")


def test_a_cached_workflow_check_depends_on_the_same_steps_whether_or_not_they_are_loaded(tmp_path: Path) -> None:
    registry = build_registry(tmp_path)
    before = registry.fingerprint()
    assert "the change passes strict validation" in registry.patterns  # loads the on-demand steps
    assert registry.fingerprint() == before


# -- patterns of plain fields match as ``parse`` matches them, without importing it -------------

_WORDS = st.text(alphabet=st.sampled_from('ab "-.?*\n{}/'), max_size=6)


@given(
    literals=st.lists(_WORDS.filter(lambda t: "{" not in t and "}" not in t), min_size=1, max_size=4),
    values=st.lists(_WORDS.filter(lambda t: t != ""), min_size=3, max_size=3),
    extra=_WORDS,
)
def test_a_pattern_of_plain_fields_matches_as_parse_does(literals: list[str], values: list[str], extra: str) -> None:
    names = ["path", "name", "n2"][: len(literals) - 1]
    pattern = literals[0] + "".join(f"{{{n}}}{lit}" for n, lit in zip(names, literals[1:], strict=True))
    step = StepDef(pattern, lambda ctx: True, "test")
    assert step._plain is not None
    reference = parse.compile(pattern, case_sensitive=True)
    texts = [
        literals[0] + "".join(v + lit for v, lit in zip(values, literals[1:], strict=False)),
        extra,
        literals[0] + extra,
    ]
    for text in texts:
        expected = reference.parse(text)
        assert step.match(text) == (None if expected is None else dict(expected.named))


def test_a_pattern_with_formats_or_braces_is_left_to_parse() -> None:
    for pattern in ("{n:d} items", "{a} and {a}", "a {{literal}} {x}", "{} anonymous", "{a.b} dotted"):
        assert StepDef(pattern, lambda ctx: True, "test")._plain is None
    assert StepDef("{n:d} items", lambda ctx: True, "test").match("12 items") == {"n": 12}
