"""``specflow validate`` against ``openspec validate`` on every fixture (one combined tree)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from specflow.openspec.validate import report_json, validate_items
from tests.parity.harness import Combined, all_fixtures

pytestmark = pytest.mark.openspec_cli

FIXTURES = [fx for fx in all_fixtures() if not fx.standalone]


def _items(doc: dict[str, Any], prefix: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["type"], i["id"]): i for i in doc["items"] if i["id"].startswith(prefix + "-")}


def _levels(item: dict[str, Any]) -> Counter[str]:
    return Counter(i["level"] for i in item["issues"])


@pytest.fixture(scope="module")
def ours(combined: Combined) -> tuple[dict[str, Any], dict[str, Any]]:
    results = validate_items(combined.root)
    plain = report_json(results, combined.root)
    strict = report_json(validate_items(combined.root, strict=True), combined.root)
    return plain, strict


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_same_verdicts_and_counts(fx: Any, combined: Combined, ours: tuple[dict[str, Any], dict[str, Any]]) -> None:
    for theirs_doc, our_doc in ((combined.theirs, ours[0]), (combined.theirs_strict, ours[1])):
        theirs = _items(theirs_doc, fx.prefix)
        mine = _items(our_doc, fx.prefix)
        assert theirs, f"fixture {fx.name} produced no items in openspec's report"
        assert sorted(mine) == sorted(theirs)
        for key, item in theirs.items():
            got = mine[key]
            assert got["valid"] == item["valid"], (key, item["issues"], got["issues"])
            assert _levels(got) == _levels(item), (key, item["issues"], got["issues"])
            # Beyond the counts: the same findings, in the same order, with the same words.
            assert [(i["level"], i["path"], i["message"], i.get("line")) for i in got["issues"]] == [
                (i["level"], i["path"], i["message"], i.get("line")) for i in item["issues"]
            ]


def test_whole_report_matches(combined: Combined, ours: tuple[dict[str, Any], dict[str, Any]]) -> None:
    for theirs, mine in ((combined.theirs, ours[0]), (combined.theirs_strict, ours[1])):
        assert [i["id"] for i in mine["items"]] == [i["id"] for i in theirs["items"]], "item order differs"
        assert mine["summary"] == theirs["summary"]
        assert mine["version"] == theirs["version"] == "1.0"
        assert set(mine) == set(theirs)


def test_a_hub_reports_what_a_plain_project_reports(combined: Combined, tmp_path: Path) -> None:
    """In a hub, validate stamps each change's files for its index and reads the folders it listed for
    those stamps; every verdict and issue is the one a plain OpenSpec project gets, cold and warm."""
    root = tmp_path / "hub"
    shutil.copytree(combined.root, root, symlinks=True)

    def report(**kwargs: bool) -> dict[str, Any]:
        doc = report_json(validate_items(root, strict=True, **kwargs), root)
        for item in doc["items"]:
            item.pop("durationMs")
        return doc

    plain = report()
    (root / ".specflow").mkdir()
    assert report(remember=True) == plain  # cold: every item validated, its files stamped
    assert (root / ".specflow" / "cache" / "validate.json").is_file()
    assert report(remember=True) == plain  # warm: what the index kept, the rest validated again
