"""tasks.md: OpenSpec's checkbox rules."""

from __future__ import annotations

import pytest

from specflow.openspec.tasks import count_tasks, parse_tasks, task_status


@pytest.mark.parametrize(
    ("line", "done"),
    [
        ("- [ ] open", False),
        ("- [x] done", True),
        ("- [X] done", True),
        ("* [x] star", True),
        ("+ [ ] plus", False),
        ("1. [x] ordered", True),
        ("12) [ ] paren", False),
        ("    - [x] nested", True),
        ("- [~] tilde counts as open", False),
        ("- [] empty box", False),
        ("- [ x ] padded", True),
        ("- [x]tight", True),
        ("- [ ](not a link) whitespace box still counts", False),
        ("- [x] 1.1 with CRLF\r", True),
    ],
)
def test_task_lines(line: str, done: bool) -> None:
    tasks = parse_tasks(line)
    assert tasks.total == 1
    assert tasks.done == (1 if done else 0)


@pytest.mark.parametrize(
    "line",
    ["- [Some doc](./doc.md)", "- [A](https://x)", "- [1][ref]", "- [WIP] multi-char", "[x] no bullet", "-[x]"],
)
def test_not_task_lines(line: str) -> None:
    assert parse_tasks(line).total == (1 if line == "-[x]" else 0)


def test_text_is_trimmed_and_fences_are_not_skipped() -> None:
    tasks = parse_tasks("```\n- [ ] in a fence\n```\n- [x]   Write tests  \n")
    assert [(t.line, t.done, t.text) for t in tasks.items] == [(2, False, "in a fence"), (4, True, "Write tests")]
    assert tasks.status == "in-progress"


def test_status() -> None:
    assert task_status(0, 0) == "no-tasks"
    assert task_status(3, 3) == "complete"
    assert task_status(3, 1) == "in-progress"
    assert parse_tasks("no tasks here").status == "no-tasks"


def test_count_matches_parse() -> None:
    text = "- [x] a\n\n- [ ] b\n* [X] c\n1. [ ] d\n- [link](x)\n  + [x] e\r\n"
    t = parse_tasks(text)
    assert count_tasks(text) == (t.total, t.done) == (5, 3)
