"""The graph checks of a workflow, one invariant each, and the pure graph helpers under them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from specflow.definitions import graph
from specflow.definitions.invariants import INVARIANTS, check_graph
from specflow.definitions.mermaid import mermaid
from specflow.definitions.workflow_types import Scenario, StateDef, Workflow
from specflow.errors import WorkflowError
from tests.conftest import REPO_ROOT, HubFixture

LOOP = {"a": {"b"}, "b": {"c", "a"}, "d": {"c"}}


def test_reachable_follows_edges_and_includes_the_start() -> None:
    assert graph.reachable(["a"], LOOP) == {"a", "b", "c"}
    assert graph.reachable(["c"], LOOP) == {"c"}


def test_reaching_is_reachability_backwards() -> None:
    assert graph.reaching(["c"], LOOP) == {"a", "b", "c", "d"}
    assert graph.reaching(["d"], LOOP) == {"d"}
    assert graph.reverse(LOOP) == {"b": {"a"}, "c": {"b", "d"}, "a": {"b"}}


def test_successors_and_first_repeat() -> None:
    assert graph.successors([("a", "b"), ("a", "c"), ("b", "a")]) == {"a": {"b", "c"}, "b": {"a"}}
    assert graph.first_repeat(["x", "y", "z", "y", "x"]) == 3
    assert graph.first_repeat(["x", "y"]) is None


def workflow(*edges: tuple[str, str, str], initial: str = "draft", final: tuple[str, ...] = ("done",)) -> Workflow:
    """A workflow from ``(from, trigger, to)`` edges; every state named in them exists."""
    names = dict.fromkeys([initial, *[s for e in edges for s in (e[0], e[2]) if s != "*"], *final])
    return Workflow(
        workflow="w",
        initial=initial,
        states={n: StateDef(final=n in final) for n in names},
        scenarios=tuple(Scenario(scenario=f"s{i}", from_=(a,), when=t, to=b) for i, (a, t, b) in enumerate(edges)),
    )


def broken(wf: Workflow) -> str:
    with pytest.raises(WorkflowError) as info:
        check_graph(wf)
    assert info.value.fix
    return info.value.detail


def test_a_sound_workflow_passes_every_invariant() -> None:
    wf = workflow(("draft", "advance", "work"), ("work", "advance", "done"), ("*", "cancel", "done"))
    for check in INVARIANTS:
        check(wf, None)


def test_initial_state_must_exist() -> None:
    wf = workflow(("draft", "advance", "done"))
    assert broken(Workflow("w", "drat", wf.states, wf.scenarios)) == "unknown state 'drat' (did you mean 'draft'?)"


def test_initial_state_must_not_be_final() -> None:
    assert broken(workflow(("draft", "advance", "done"), initial="done")) == "the initial state 'done' is final"


def test_some_state_must_be_final() -> None:
    assert broken(workflow(("draft", "advance", "x"), final=())) == "no state is final"


def test_sources_and_targets_must_exist() -> None:
    wf = workflow(("draft", "advance", "done"))
    ghost_source = Scenario(scenario="ghost", from_=("nowhere",), to="done")
    ghost_target = Scenario(scenario="ghost", from_=("draft",), to="elsewhere")
    assert broken(Workflow("w", "draft", wf.states, (*wf.scenarios, ghost_source))) == "unknown state 'nowhere'"
    assert broken(Workflow("w", "draft", wf.states, (*wf.scenarios, ghost_target))) == "unknown state 'elsewhere'"


def test_nothing_leaves_a_final_state() -> None:
    wf = workflow(("draft", "advance", "done"), ("done", "reopen", "draft"))
    assert broken(wf) == "scenario 's1' leaves the final state 'done'"


def test_a_transition_is_written_once() -> None:
    wf = workflow(("draft", "advance", "done"), ("draft", "advance", "done"))
    assert broken(wf) == "scenario 's1' repeats the transition draft --advance--> done"


def test_a_star_source_that_repeats_a_transition_is_named() -> None:
    wf = workflow(("draft", "cancel", "done"), ("*", "cancel", "done"))
    assert broken(wf) == "scenario 's1' repeats the transition draft --cancel--> done"


def test_every_state_is_reachable() -> None:
    wf = workflow(("draft", "advance", "done"), ("island", "advance", "done"))
    assert broken(wf) == "state 'island' is unreachable from the initial state 'draft'"


def test_no_state_is_a_dead_end() -> None:
    wf = workflow(("draft", "advance", "done"), ("draft", "stray", "loop"), ("loop", "again", "loop2"))
    assert broken(wf) == "state 'loop' is a dead end: no final state can be reached from it"


def test_mermaid_draws_every_concrete_edge_and_the_final_states() -> None:
    wf = workflow(("draft", "advance", "work"), ("work", "advance", "done"), ("*", "cancel", "done"))
    assert mermaid(wf, "work").splitlines() == [
        "stateDiagram-v2",
        "    [*] --> draft",
        "    draft --> work: advance",
        "    work --> done: advance",
        "    draft --> done: cancel",
        "    work --> done: cancel",
        "    done --> [*]",
        "    classDef current fill:#f9d71c,stroke:#333,stroke-width:2px",
        "    class work current",
    ]
    assert "class" not in mermaid(wf, "nowhere")


PROBE = """
import json, sys
from specflow.engine.hub import Hub
hub = Hub.open(sys.argv[1])
wf = hub.workflow()
print(json.dumps({"states": list(wf.states), "pydantic": "pydantic" in sys.modules}))
"""


def test_a_cached_workflow_and_config_load_without_pydantic(hub: HubFixture) -> None:
    def load() -> dict[str, object]:
        out = subprocess.run(
            [sys.executable, "-c", PROBE, str(hub.root)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        ).stdout
        result: dict[str, object] = json.loads(out)
        return result

    first, second = load(), load()
    assert first == {"states": ["draft", "think", "write", "done"], "pydantic": True}
    assert second == {"states": ["draft", "think", "write", "done"], "pydantic": False}
    (hub.root / "openspec" / "workflows" / "mini.yaml").write_text(
        (hub.root / "openspec" / "workflows" / "mini.yaml").read_text() + "\n# edited\n"
    )
    assert load()["pydantic"] is True  # an edit is validated again


def test_the_graph_command_draws_the_hub_workflow(hub: HubFixture, cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, err = cli("-C", hub.root, "graph")
    assert code == 0, err
    assert out.splitlines()[:2] == ["stateDiagram-v2", "    [*] --> draft"]
    assert "    write --> think: reject" in out.splitlines()
