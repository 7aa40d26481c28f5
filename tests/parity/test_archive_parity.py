"""``specflow archive`` against ``openspec archive``: same success or refusal, identical trees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from specflow.errors import ArchiveBlocked
from specflow.openspec.archive import archive_change
from tests.parity import treefmt
from tests.parity.harness import ArchiveRun, all_fixtures

pytestmark = pytest.mark.openspec_cli

FIXTURES = [fx for fx in all_fixtures() if fx.archive]


def _ours(fx: treefmt.Fixture, root: Path) -> tuple[int, dict[str, Any]]:
    assert fx.archive is not None
    change_id = fx.archive[0]
    flags = set(fx.archive[1:])
    try:
        result = archive_change(
            root,
            change_id,
            yes="--yes" in flags or "-y" in flags,
            skip_specs="--skip-specs" in flags,
            no_validate="--no-validate" in flags,
        )
    except ArchiveBlocked as exc:
        return 1, {"archive": None, "status": [exc.diagnostic()]}
    return 0, {"archive": result.to_json()}


@pytest.mark.parametrize("fx", FIXTURES, ids=[f.name for f in FIXTURES])
def test_archive_matches_openspec(fx: treefmt.Fixture, archived: dict[str, ArchiveRun], tmp_path: Path) -> None:
    theirs = archived[fx.name]
    root = tmp_path / "ours"
    treefmt.write(fx, root)
    code, mine = _ours(fx, root)
    assert code == theirs.code, (theirs.result, mine)
    if theirs.result["archive"] is None:
        assert mine["archive"] is None
        t, m = theirs.result["status"][0], mine["status"][0]
        assert (m["code"], m["message"]) == (t["code"], t["message"])
        # specflow names its own commands in fixes ("specflow validate x", not "openspec ...").
        expected_fix = t["fix"].replace("openspec ", "specflow ") if t.get("fix") else None
        assert m.get("fix") == expected_fix
    else:
        t, m = theirs.result["archive"], mine["archive"]
        for key in ("change", "archivedAs", "specsUpdated", "totals", "warnings"):
            assert m.get(key) == t.get(key), key
    ours_tree = treefmt.snapshot(root)
    # Everything but OpenSpec's own archive lock file must be byte-identical.
    assert {k: v for k, v in ours_tree.items()} == theirs.tree


def test_every_merge_branch_has_a_fixture() -> None:
    names = {fx.name for fx in FIXTURES}
    assert len(names) >= 30
    assert len(all_fixtures()) >= 60
