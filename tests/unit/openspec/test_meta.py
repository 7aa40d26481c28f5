"""``.openspec.yaml`` and ``config.yaml``: the mini reader, OpenSpec's schema messages, markers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from specflow.openspec.meta import ChangeMeta, YamlSyntaxError, load_simple_yaml, metadata_issue, project_config
from tests.unit.openspec.ostree import Tree


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("schema: spec-driven\ncreated: 2026-01-15\n", {"schema": "spec-driven", "created": "2026-01-15"}),
        ("# c\nschema: 'a b'  # trailing\nskip_specs: True\n", {"schema": "a b", "skip_specs": True}),
        ('schema: "x"\ngoal: ship it\n', {"schema": "x", "goal": "ship it"}),
        ("affected_areas:\n  - api\n  - web\n", {"affected_areas": ["api", "web"]}),
        ("affected_areas: [api, web]\n", {"affected_areas": ["api", "web"]}),
        ("initiative:\n  store: main\n  id: q1\n", {"initiative": {"store": "main", "id": "q1"}}),
        (
            "schema: ~\nretire_capabilities: false\nn: 12\nf: 1.5\n",
            {"schema": None, "retire_capabilities": False, "n": 12, "f": 1.5},
        ),
        ("", None),
        ("goal: |\n  multi\n  line\n", {"goal": "multi\nline\n"}),  # falls back to the full parser
        ("- a\n", ["a"]),
    ],
)
def test_mini_yaml(text: str, data: Any) -> None:
    assert load_simple_yaml(text) == data


def test_bad_yaml_is_a_syntax_error() -> None:
    with pytest.raises(YamlSyntaxError):
        load_simple_yaml("schema: [spec-driven\n")
    with pytest.raises(YamlSyntaxError):
        load_simple_yaml("schema: a\nschema: b\n")


TOO_SMALL = "Too small: expected string to have >=1 characters"
KEBAB = "must be kebab-case with lowercase letters, numbers, and single hyphen separators"


@pytest.mark.parametrize(
    ("data", "issue"),
    [
        ({"schema": "s"}, None),
        ({}, (["schema"], "Invalid input: expected string, received undefined")),
        ({"schema": 5}, (["schema"], "Invalid input: expected string, received number")),
        ({"schema": ""}, (["schema"], "schema is required")),
        ({"schema": "s", "created": "2026-1-1"}, (["created"], "created must be YYYY-MM-DD format")),
        ({"schema": "s", "goal": ""}, (["goal"], TOO_SMALL)),
        ({"schema": "s", "affected_areas": ["a", ""]}, (["affected_areas", 1], TOO_SMALL)),
        ({"schema": "s", "skip_specs": "yes"}, (["skip_specs"], "Invalid input: expected boolean, received string")),
        ({"schema": "s", "initiative": {"store": "A", "id": "x"}}, (["initiative", "store"], f"Store id {KEBAB}")),
        ({"schema": "s", "initiative": {"store": "a", "id": "x", "z": 1}}, (["initiative"], 'Unrecognized key: "z"')),
        (["a"], ([], "Invalid input: expected object, received array")),
        (None, ([], "Invalid input: expected object, received null")),
    ],
)
def test_metadata_schema_messages(data: Any, issue: Any) -> None:
    assert metadata_issue(data) == issue


def _meta(tree: Tree, text: str) -> ChangeMeta:
    d = tree.change("c", meta=text)
    return ChangeMeta.load(d, tree.root)


def test_markers(tree: Tree) -> None:
    assert _meta(tree, "schema: spec-driven\nskip_specs: true\n").marker("skip_specs").declared
    assert not _meta(tree, "schema: spec-driven\n").marker("skip_specs").declared
    bad = _meta(tree, 'schema: spec-driven\nskip_specs: "yes"\n').marker("skip_specs")
    assert not bad.declared and bad.invalid == "skip_specs: Invalid input: expected boolean, received string"
    unknown = _meta(tree, "schema: mine\nskip_specs: true\n").marker("skip_specs")
    assert unknown.invalid == "schema: unknown schema 'mine'"
    assert _meta(tree, "schema: [x\nskip_specs: true\n").marker("skip_specs").invalid == "the file is not valid YAML"
    assert _meta(tree, "schema: [x\n# skip_specs: true\n").marker("skip_specs").invalid is None
    # an explicit false never drags unrelated problems in
    assert _meta(tree, "skip_specs: false\n").marker("skip_specs").invalid is None


def test_schema_resolution_and_tracked_tasks(tree: Tree) -> None:
    d = tree.change("c", meta=None, tasks="- [ ] x\n")
    meta = ChangeMeta.load(d, tree.root)
    assert meta.schema_name() == "spec-driven"
    assert meta.tracked_task_files() == [d / "tasks.md"]
    assert meta.uses_builtin_spec_driven()
    tree.write("openspec/config.yaml", "schema: mine\n")
    tree.write(
        "openspec/schemas/mine/schema.yaml",
        "name: mine\nversion: 1\nartifacts:\n  - id: todo\n    generates: todo.md\napply:\n  tracks: todo.md\n",
    )
    tree.write("openspec/changes/c/todo.md", "- [x] y\n")
    meta = ChangeMeta.load(d, tree.root)
    assert meta.schema_name() == "mine"
    assert meta.tracked_task_files() == [d / "todo.md"]
    assert not meta.uses_builtin_spec_driven()


def test_project_config_reads_top_level_scalars(tmp_path: Path) -> None:
    (tmp_path / "openspec").mkdir()
    (tmp_path / "openspec" / "config.yaml").write_text(
        "schema: spec-driven\n\n# comment\ncontext: |\n  Tech: Python\nrules:\n  proposal:\n    - short\n"
    )
    assert project_config(tmp_path)["schema"] == "spec-driven"
    assert project_config(tmp_path / "missing") == {}
