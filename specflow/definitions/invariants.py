"""The graph checks of a workflow, one invariant each, over the pure helpers of ``graph``.

Run in order by ``check_graph`` once the schema has passed, so each check may rely on the ones
before it (the targets a reachability check follows exist).  Every error names the file, line and
key path of what breaks the invariant, and the fix.
"""

from __future__ import annotations

from collections.abc import Callable

from specflow.definitions import graph
from specflow.definitions.workflow_types import ANY_STATE, Workflow
from specflow.errors import WorkflowError
from specflow.yamlio import KeyPath, YamlDoc, dotted


def workflow_error(doc: YamlDoc | None, path: KeyPath, message: str, fix: str | None = None) -> WorkflowError:
    """A ``WorkflowError`` at ``path`` of ``doc`` (file and line when the document is known)."""
    return WorkflowError(
        message,
        file=doc.file if doc else None,
        line=doc.line_of(path) if doc else None,
        key_path=dotted(path) or None,
        fix=fix,
    )


def check_graph(wf: Workflow, doc: YamlDoc | None = None) -> None:
    """Raise ``WorkflowError`` for the first invariant of a sound state graph the workflow breaks."""
    for check in INVARIANTS:
        check(wf, doc)


def _unknown_state(wf: Workflow, doc: YamlDoc | None, state: str, path: KeyPath) -> WorkflowError:
    import difflib  # did-you-mean, only on an error's path

    names = list(wf.states)
    close = difflib.get_close_matches(state, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return workflow_error(doc, path, f"unknown state {state!r}{hint}", f"use one of: {', '.join(names)}")


def initial_state_exists(wf: Workflow, doc: YamlDoc | None) -> None:
    if wf.initial not in wf.states:
        raise _unknown_state(wf, doc, wf.initial, ("initial",))


def initial_state_is_not_final(wf: Workflow, doc: YamlDoc | None) -> None:
    if wf.states[wf.initial].final:
        raise workflow_error(
            doc, ("initial",), f"the initial state {wf.initial!r} is final", "make a non-final state initial"
        )


def some_state_is_final(wf: Workflow, doc: YamlDoc | None) -> None:
    if not wf.final_states:
        raise workflow_error(doc, ("states",), "no state is final", "mark the last phase with 'final: true'")


def sources_exist(wf: Workflow, doc: YamlDoc | None) -> None:
    for i, sc in enumerate(wf.scenarios):
        for j, src in enumerate(sc.from_):
            if src != ANY_STATE and src not in wf.states:
                path = ("scenarios", i, "from") if len(sc.from_) == 1 else ("scenarios", i, "from", j)
                raise _unknown_state(wf, doc, src, path)


def nothing_leaves_a_final_state(wf: Workflow, doc: YamlDoc | None) -> None:
    for i, sc in enumerate(wf.scenarios):
        for src in sc.from_:
            if src != ANY_STATE and wf.states[src].final:
                raise workflow_error(
                    doc,
                    ("scenarios", i, "from"),
                    f"scenario {sc.scenario!r} leaves the final state {src!r}",
                    "nothing may leave a final state: remove the scenario or make the state non-final",
                )


def targets_exist(wf: Workflow, doc: YamlDoc | None) -> None:
    for i, sc in enumerate(wf.scenarios):
        if sc.to not in wf.states:
            raise _unknown_state(wf, doc, sc.to, ("scenarios", i, "to"))


def no_transition_is_repeated(wf: Workflow, doc: YamlDoc | None) -> None:
    transitions = list(wf.transitions())
    at = graph.first_repeat((t.source, t.trigger, t.target) for t in transitions)
    if at is not None:
        t = transitions[at]
        raise workflow_error(
            doc,
            ("scenarios", t.scenario),
            f"scenario {wf.scenarios[t.scenario].scenario!r} repeats the transition"
            f" {t.source} --{t.trigger}--> {t.target}",
            "merge the two scenarios' steps into one",
        )


def every_state_is_reachable(wf: Workflow, doc: YamlDoc | None) -> None:
    reach = graph.reachable([wf.initial], _successors(wf))
    for state in wf.states:
        if state not in reach:
            raise workflow_error(
                doc,
                ("states", state),
                f"state {state!r} is unreachable from the initial state {wf.initial!r}",
                f"add a scenario with 'to: {state}', or remove the state",
            )


def no_state_is_a_dead_end(wf: Workflow, doc: YamlDoc | None) -> None:
    can_finish = graph.reaching(wf.final_states, _successors(wf))
    for state in wf.states:
        if state not in can_finish:
            raise workflow_error(
                doc,
                ("states", state),
                f"state {state!r} is a dead end: no final state can be reached from it",
                "add a scenario leaving it, or mark it 'final: true'",
            )


def _successors(wf: Workflow) -> dict[str, set[str]]:
    return graph.successors((t.source, t.target) for t in wf.transitions())


INVARIANTS: tuple[Callable[[Workflow, YamlDoc | None], None], ...] = (
    initial_state_exists,
    initial_state_is_not_final,
    some_state_is_final,
    sources_exist,
    nothing_leaves_a_final_state,
    targets_exist,
    no_transition_is_repeated,
    every_state_is_reachable,
    no_state_is_a_dead_end,
)
"""Checked in this order: each may rely on those before it."""
