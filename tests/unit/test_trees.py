"""specflow.trees: a folder removed with everything in it, however deep, links never followed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from specflow.trees import remove_tree


def nest(top: Path, depth: int) -> Path:
    """A folder ``depth`` levels below ``top`` (made one level at a time: ``os.makedirs`` recurses)."""
    top.mkdir(parents=True, exist_ok=True)
    for _ in range(depth):
        top = top / "d"
        top.mkdir()
    return top


def test_a_tree_deeper_than_pythons_stack_is_removed_where_shutil_gives_up(tmp_path: Path) -> None:
    for name in ("ours", "shutils"):
        deepest = nest(tmp_path / name, 1_200)
        (deepest / "f.txt").write_text("deep\n")
    with pytest.raises(RecursionError):
        shutil.rmtree(tmp_path / "shutils", ignore_errors=True)  # what the tree would do to a clean-up
    remove_tree(tmp_path / "ours")
    assert not (tmp_path / "ours").exists()
    remove_tree(tmp_path / "shutils")
    assert not (tmp_path / "shutils").exists()


def test_links_inside_are_removed_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "file.txt").write_text("mine\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "to-folder").symlink_to(outside / "keep")
    (tree / "to-file").symlink_to(outside / "keep" / "file.txt")
    (tree / "sub" / "a.txt").write_text("a\n")
    remove_tree(tree)
    assert not tree.exists()
    assert (outside / "keep" / "file.txt").read_text() == "mine\n"


def test_a_missing_folder_or_a_link_as_the_top_fails_unless_errors_are_ignored(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        remove_tree(tmp_path / "missing")
    remove_tree(tmp_path / "missing", ignore_errors=True)
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("f\n")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OSError, match="symbolic link"):
        remove_tree(tmp_path / "link")
    remove_tree(tmp_path / "link", ignore_errors=True)
    assert (tmp_path / "real" / "f").read_text() == "f\n"
