"""``specflow init`` finds the sibling repos that link to the hub, and never overwrites a file."""

from __future__ import annotations

import os
from pathlib import Path

from specflow.definitions.config import load_config
from specflow.definitions.scaffold import LinkedRepo, linked_repos, scaffold_hub
from tests.conftest import init_repo


def sibling(place: Path, name: str, link_to: str | None, git: bool = True) -> Path:
    repo = init_repo(place / name) if git else place / name
    repo.mkdir(parents=True, exist_ok=True)
    if link_to is not None:
        os.symlink(link_to, repo / "openspec")
    return repo


def test_only_git_repos_whose_link_resolves_to_this_hub_are_offered(tmp_path: Path) -> None:
    hub = init_repo(tmp_path / "hub")
    (hub / "openspec").mkdir()
    (tmp_path / "other-hub" / "openspec").mkdir(parents=True)
    sibling(tmp_path, "api", "../hub/openspec")
    sibling(tmp_path, "web", str(hub / "openspec"))  # absolute links count too
    sibling(tmp_path, "elsewhere", "../other-hub/openspec")
    sibling(tmp_path, "plain", "../hub/openspec", git=False)
    sibling(tmp_path, "unlinked", None)
    assert linked_repos(hub) == [LinkedRepo("api", "../api"), LinkedRepo("web", "../web")]


def test_written_repos_load_as_config_and_shared_is_explained(tmp_path: Path) -> None:
    hub = init_repo(tmp_path / "hub")
    (hub / "openspec").mkdir()
    sibling(tmp_path, "api", "../hub/openspec")
    result = scaffold_hub(hub, write_linked=True)
    assert result.repos_written and hub / "specflow.yaml" in result.created
    assert {n: r.path for n, r in load_config(hub, cache=False).repos.items()} == {"api": "../api"}
    text = (hub / "specflow.yaml").read_text(encoding="utf-8")
    assert "# shared: [shared]" in text and "besides openspec/" in text


def test_an_existing_config_is_kept_and_repos_it_lists_are_not_offered_again(tmp_path: Path) -> None:
    hub = init_repo(tmp_path / "hub")
    (hub / "openspec").mkdir()
    sibling(tmp_path, "api", "../hub/openspec")
    sibling(tmp_path, "web", "../hub/openspec")
    config = "repos:\n  backend:\n    path: ../api\n"
    (hub / "specflow.yaml").write_text(config, encoding="utf-8")
    result = scaffold_hub(hub, write_linked=True)
    assert (hub / "specflow.yaml").read_text(encoding="utf-8") == config
    assert result.config_existed and not result.repos_written
    assert result.linked == [LinkedRepo("web", "../web")]  # api is listed as 'backend' already
