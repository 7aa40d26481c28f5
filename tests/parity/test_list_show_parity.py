"""``specflow list`` and ``show`` against ``openspec list`` / ``show`` (JSON)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from specflow.openspec.listing import list_changes_json, list_specs_json
from specflow.openspec.show import show_change_json, show_spec_json
from specflow.openspec.validate import report_json, validate_items
from tests.parity import treefmt
from tests.parity.harness import Combined, OpenSpec, all_fixtures

pytestmark = pytest.mark.openspec_cli

STANDALONE = [fx for fx in all_fixtures() if fx.standalone]


def _strip_state(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    out["changes"] = [{k: v for k, v in c.items() if k not in ("state", "workflow")} for c in doc["changes"]]
    out.pop("root", None)
    return out


def _no_root(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "root"}


def test_list_changes_json(openspec: OpenSpec, combined: Combined) -> None:
    code, theirs = openspec.json(["list", "--json"], combined.root)
    assert code == 0
    mine = list_changes_json(combined.root)
    assert all("state" in c and "workflow" in c for c in mine["changes"])
    assert _strip_state(mine) == _no_root(theirs)


def test_list_specs_json(openspec: OpenSpec, combined: Combined) -> None:
    code, theirs = openspec.json(["list", "--specs", "--json"], combined.root)
    assert code == 0
    assert _no_root(list_specs_json(combined.root)) == _no_root(theirs)


SHOW = [
    ("change", "v01-add-billing"),
    ("change", "v13-rename-conflicts"),
    ("change", "v23-removed-forms"),
    ("change", "v24-repeats"),
    ("change", "a08-everything"),
    ("spec", "s01-good"),
    ("spec", "s15-loose"),
    ("spec", "s14-area/sub/cap"),
]


def test_show_json(openspec: OpenSpec, combined: Combined) -> None:
    def theirs(item: tuple[str, str]) -> tuple[int, Any]:
        return openspec.json(["show", item[1], "--json", "--type", item[0], "--no-interactive"], combined.root)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(theirs, SHOW))
    for (kind, item), (code, doc) in zip(SHOW, results, strict=True):
        assert code == 0, doc
        mine = show_change_json(combined.root, item) if kind == "change" else show_spec_json(combined.root, item)
        assert _no_root(mine) == _no_root(doc), item


@pytest.mark.parametrize("fx", STANDALONE, ids=[f.name for f in STANDALONE])
def test_standalone_trees(fx: treefmt.Fixture, openspec: OpenSpec, tmp_path: Path) -> None:
    root = tmp_path / "tree"
    treefmt.write(fx, root)
    with ThreadPoolExecutor(2) as pool:
        v = pool.submit(openspec.json, ["validate", "--all", "--json", "--no-interactive"], root)
        ls = pool.submit(openspec.json, ["list", "--json"], root)
        (_, theirs_v), (_, theirs_l) = v.result(), ls.result()
    mine_v = report_json(validate_items(root), root)
    for t, m in zip(theirs_v["items"], mine_v["items"], strict=True):
        t.pop("durationMs")
        m.pop("durationMs")
        assert m == t
    assert mine_v["summary"] == theirs_v["summary"]
    assert _strip_state(list_changes_json(root)) == _no_root(theirs_l)
