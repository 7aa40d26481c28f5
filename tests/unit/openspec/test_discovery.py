"""Resolving an item name as ``openspec show`` / ``validate`` do, and their did-you-mean."""

from __future__ import annotations

import pytest

from specflow.errors import ItemError
from specflow.openspec.discovery import nearest_matches, resolve_item
from tests.unit.openspec.ostree import Tree, req


def test_nearest_matches_ranks_by_edit_distance_and_keeps_ties_in_order() -> None:
    candidates = ["login", "logout", "audit", "lgoin", "billing", "log", "xyz"]
    assert nearest_matches("login", candidates) == ["login", "lgoin", "log", "logout", "audit"]
    assert nearest_matches("login", candidates, limit=2) == ["login", "lgoin"]
    assert nearest_matches("anything", []) == []


def test_nearest_matches_counts_utf16_units_as_javascript_does() -> None:
    # one emoji is two UTF-16 units: as far from "xy" as from "z", so the order given stands
    assert nearest_matches("\U0001f600", ["xy", "z"]) == ["xy", "z"]
    assert nearest_matches("é", ["xy", "z"]) == ["z", "xy"]


def test_resolve_item_kinds_ambiguity_and_unknown(tree: Tree) -> None:
    tree.spec("auth")
    tree.change("auth", {"auth": "## ADDED Requirements\n" + req("Audit", "The system SHALL audit.")})
    tree.change("add-login", {"auth": "## ADDED Requirements\n" + req("Login", "The system SHALL log in.")})
    assert resolve_item(tree.root, "add-login", None) == "change"
    assert resolve_item(tree.root, "auth", "spec") == "spec"
    assert resolve_item(tree.root, "missing", "change") == "change"  # --type is taken at its word
    with pytest.raises(ItemError) as ambiguous:
        resolve_item(tree.root, "auth", None)
    assert (ambiguous.value.code, ambiguous.value.fix) == ("ambiguous_item", "Pass --type change|spec.")
    with pytest.raises(ItemError) as unknown:
        resolve_item(tree.root, "add-logn", None)
    assert unknown.value.code == "unknown_item"
    assert unknown.value.message == "Unknown item 'add-logn'. Did you mean: add-login, auth, auth?"
