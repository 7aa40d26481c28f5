"""Loading workflow definitions: every layer's errors name file, line, key path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from specflow.definitions.mermaid import mermaid
from specflow.definitions.workflow import load_workflow
from specflow.errors import TemplateError, WorkflowError
from specflow.steps.registry import StepCollector, StepRegistry, StepResult

steps = StepCollector()


@steps("the change exists")
def _exists(ctx):  # type: ignore[no-untyped-def]
    return StepResult.passed()


@steps('the file "{path}" exists')
def _file(ctx, path):  # type: ignore[no-untyped-def]
    return StepResult.passed()


REGISTRY = StepRegistry(steps)

GOOD = """\
workflow: t
description: test
initial: draft
states:
  draft: {}
  explore:
    prompt: p.md.j2
    workspace: read-only
  propose:
    prompt: p.md.j2
    workspace:
      write: ["openspec/changes/{{ change.id }}/**"]
  archive:
    final: true
scenarios:
  - scenario: one
    given: [the change exists]
    from: draft
    to: explore
  - scenario: two
    from: explore
    to: propose
    then: ['the file "proposal.md" exists']
  - scenario: three
    from: propose
    to: archive
  - scenario: back
    when: reject
    from: propose
    to: explore
"""


@pytest.fixture
def wdir(tmp_path: Path) -> Path:
    (tmp_path / "openspec" / "templates").mkdir(parents=True)
    (tmp_path / "openspec" / "templates" / "p.md.j2").write_text("Hello {{ change.id }}\n")
    (tmp_path / "openspec" / "workflows").mkdir(parents=True)
    return tmp_path


def load(wdir: Path, text: str) -> object:
    p = wdir / "openspec" / "workflows" / "t.yaml"
    p.write_text(text)
    return load_workflow(p, hub_root=wdir, registry=REGISTRY, actions={})


def error_of(wdir: Path, text: str) -> WorkflowError:
    with pytest.raises(WorkflowError) as info:
        load(wdir, text)
    return info.value


def test_good_workflow_loads(wdir: Path) -> None:
    wf = load(wdir, GOOD)
    assert list(wf.states) == ["draft", "explore", "propose", "archive"]  # type: ignore[attr-defined]
    assert wf.states["explore"].gate.read_only  # type: ignore[attr-defined]
    assert wf.states["propose"].gate.write == ("openspec/changes/{{ change.id }}/**",)  # type: ignore[attr-defined]
    assert wf.triggers_from("propose") == ["advance", "reject"]  # type: ignore[attr-defined]


def test_malformed_yaml_names_file_and_line(wdir: Path) -> None:
    err = error_of(wdir, GOOD.replace("  explore:\n", "  explore\n    x: [\n"))
    assert str(err).startswith(f"{wdir}/openspec/workflows/t.yaml:")
    assert "malformed YAML" in err.message


def test_unknown_key_suggests_the_closest(wdir: Path) -> None:
    err = error_of(wdir, GOOD.replace("      write: [", "      wirte: ["))
    assert err.message == (
        f"{wdir}/openspec/workflows/t.yaml:12: states.propose.workspace: unknown key 'wirte' (did you mean 'write'?)"
    )
    assert err.fix is not None and "write" in err.fix


def test_unknown_top_level_key(wdir: Path) -> None:
    err = error_of(wdir, GOOD + "extra: 1\n")
    assert err.line == 31
    assert "unknown key 'extra'" in err.message


def test_missing_required_key(wdir: Path) -> None:
    err = error_of(wdir, GOOD.replace("    to: archive\n", "", 1))
    assert "scenarios[2]: missing required key 'to'" in err.message


def test_unknown_step_names_the_closest_known(wdir: Path) -> None:
    err = error_of(wdir, GOOD.replace("[the change exists]", "[the change exist]"))
    assert err.message == (
        f"{wdir}/openspec/workflows/t.yaml:17: scenarios[0].given[0]: unknown step 'the change exist';"
        " closest known: 'the change exists', 'the file \"{path}\" exists'"
    )


def test_unreachable_state(wdir: Path) -> None:
    text = GOOD.replace("  archive:\n    final: true\n", "  archive:\n    final: true\n  orphan: {}\n")
    err = error_of(wdir, text)
    assert err.detail == "state 'orphan' is unreachable from the initial state 'draft'"
    assert err.key_path == "states.orphan"
    assert err.line == 15


def test_unknown_target_state(wdir: Path) -> None:
    err = error_of(wdir, GOOD.replace("    to: archive\n", "    to: archiv\n"))
    assert err.detail == "unknown state 'archiv' (did you mean 'archive'?)"


def test_nothing_leaves_a_final_state(wdir: Path) -> None:
    text = GOOD + "  - scenario: reopen\n    when: reopen\n    from: archive\n    to: draft\n"
    err = error_of(wdir, text)
    assert "leaves the final state 'archive'" in err.detail


def test_dead_end_state(wdir: Path) -> None:
    text = GOOD.replace(
        "  - scenario: three\n    from: propose\n    to: archive\n",
        "  - scenario: three\n    from: draft\n    to: archive\n",
    )
    err = error_of(wdir, text)
    assert "dead end" in err.detail


def test_no_final_state(wdir: Path) -> None:
    err = error_of(wdir, GOOD.replace("    final: true\n", ""))
    assert err.detail == "no state is final"


def test_missing_template(wdir: Path) -> None:
    err = error_of(
        wdir, GOOD.replace("prompt: p.md.j2\n    workspace: read-only", "prompt: nope.md.j2\n    workspace: read-only")
    )
    assert "template 'nope.md.j2' not found" in err.detail
    assert err.key_path == "states.explore.prompt"


def test_template_syntax_error_names_template_and_line(wdir: Path) -> None:
    (wdir / "openspec" / "templates" / "p.md.j2").write_text("line one\n{% if %}\n")
    with pytest.raises(TemplateError) as info:
        load(wdir, GOOD)
    assert str(info.value).startswith(f"{wdir}/openspec/templates/p.md.j2:2: template syntax error")


def test_python_tags_are_refused(wdir: Path) -> None:
    err = error_of(wdir, GOOD.replace("description: test", "description: !!python/object:os.system echo"))
    assert "python" in err.message.lower() or "tag" in err.message.lower()


def test_yes_no_on_off_stay_strings(wdir: Path) -> None:
    wf = load(wdir, GOOD.replace("description: test", "description: no"))
    assert wf.description == "no"  # type: ignore[attr-defined]


def test_bad_trigger_name(wdir: Path) -> None:
    err = error_of(wdir, GOOD.replace("when: reject", "when: Re Ject"))
    assert "trigger 'Re Ject'" in err.message


def test_mermaid_marks_the_current_state(wdir: Path) -> None:
    wf = load(wdir, GOOD)
    out = mermaid(wf, "explore")  # type: ignore[arg-type]
    assert "[*] --> draft" in out
    assert "propose --> explore: reject" in out
    assert "class explore current" in out


def test_validated_workflow_is_cached_and_invalidated_by_edits(wdir: Path) -> None:
    p = wdir / "openspec" / "workflows" / "t.yaml"
    p.write_text(GOOD)
    first = load_workflow(p, hub_root=wdir, registry=REGISTRY, actions={})
    assert list((wdir / ".specflow" / "cache").glob("workflow-*.json"))
    cached = load_workflow(p, hub_root=wdir, registry=REGISTRY, actions={})
    assert cached == first
    assert cached.states["propose"].gate == first.states["propose"].gate
    assert cached.scenarios_from("propose", "reject")[0].to == "explore"
    # an edit that breaks the workflow is seen at once: the cache never hides an error
    p.write_text(GOOD.replace("[the change exists]", "[the change exist]"))
    with pytest.raises(WorkflowError, match="unknown step 'the change exist'"):
        load_workflow(p, hub_root=wdir, registry=REGISTRY, actions={})
    # so is a template that appears earlier on the search path, or one that disappears
    p.write_text(GOOD)
    load_workflow(p, hub_root=wdir, registry=REGISTRY, actions={})
    (wdir / "openspec" / "templates" / "p.md.j2").unlink()
    with pytest.raises(WorkflowError, match=r"template 'p\.md\.j2' not found"):
        load_workflow(p, hub_root=wdir, registry=REGISTRY, actions={})


def test_errors_in_imported_templates_name_that_template(wdir: Path) -> None:
    (wdir / "openspec" / "templates" / "_parts.md.j2").write_text("ok\n{% if %}\n")
    (wdir / "openspec" / "templates" / "p.md.j2").write_text('{% import "_parts.md.j2" as parts %}Hello\n')
    with pytest.raises(TemplateError) as info:
        load(wdir, GOOD)
    assert str(info.value).startswith(f"{wdir}/openspec/templates/_parts.md.j2:2: template syntax error")


def test_a_workflow_file_must_carry_its_own_name(wdir: Path) -> None:
    from specflow.definitions.workflow import load_workflow_by_name

    (wdir / "openspec" / "workflows" / "team.yaml").write_text(GOOD)  # still says 'workflow: t'
    with pytest.raises(WorkflowError) as info:
        load_workflow_by_name("team", wdir, registry=REGISTRY, actions={})
    assert info.value.message == (
        f"{wdir}/openspec/workflows/team.yaml:1: workflow: the file of workflow 'team' names itself 't'"
    )


@pytest.mark.parametrize("record", ["../../etc/x", "/tmp/x", ".specflow/history.jsonl"])
def test_record_must_stay_in_the_change_folder(wdir: Path, record: str) -> None:
    err = error_of(
        wdir, GOOD.replace("    workspace: read-only\n", f"    workspace: read-only\n    record: {record}\n", 1)
    )
    assert err.key_path == "states.explore.record"
    assert "must be a file inside the change folder" in err.detail


def test_capitalised_state_names_keep_their_place_in_errors(wdir: Path) -> None:
    text = GOOD.replace("  explore:\n    prompt: p.md.j2", "  explore:\n    promt: p.md.j2")
    text = text.replace("explore", "Explore")
    err = error_of(wdir, text)
    assert err.key_path == "states.Explore"
    assert err.detail == "unknown key 'promt' (did you mean 'prompt'?)"
    assert err.line == 7
