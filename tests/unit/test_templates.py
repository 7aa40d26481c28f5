"""Prompt templates that only fill in fields are filled in without Jinja, exactly as Jinja would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from specflow.definitions.templates import PromptRenderer

CONTEXT = {
    "change": {"id": "add-login", "goal": "Sign people in", "number": 7, "done": False},
    "gate": {"description": "You may write openspec/changes/add-login/**.", "items": "not a method here"},
}

SIMPLE = [
    "Think about {{ change.id }}.\n{{ gate.description }}\n",
    "{{change.id}} #{{ change.number }} done={{ change.done }}",
    "no fields at all\n\n",
    "trailing newlines kept\n\n\n",
]
JINJA = [
    "{% if change.done %}done{% endif %}{{ change.id }}\n",  # a block
    "{{ change.id | upper }}",  # a filter
    "{# a comment #}{{ change.id }}",
    "{{ gate.items }}",  # Jinja reads a mapping's method here, not the key
    "line\r\nendings {{ change.id }}\r\n",  # Jinja normalises them
]


@pytest.mark.parametrize("source", SIMPLE + JINJA)
def test_a_template_renders_as_jinja_renders_it(tmp_path: Path, source: str) -> None:
    (tmp_path / "t.md.j2").write_bytes(source.encode())
    renderer = PromptRenderer(None)
    renderer.dirs = [tmp_path]
    expected = renderer.env.from_string(source).render(**CONTEXT)
    assert renderer.render("t.md.j2", CONTEXT) == expected


def test_a_simple_template_is_filled_in_without_loading_jinja(tmp_path: Path) -> None:
    (tmp_path / "t.md.j2").write_text(SIMPLE[0])
    code = (
        "import sys\nfrom pathlib import Path\nfrom specflow.definitions.templates import PromptRenderer\n"
        f"r = PromptRenderer(None)\nr.dirs = [Path({str(tmp_path)!r})]\n"
        f"print(r.render('t.md.j2', {CONTEXT!r}), end='')\nprint('jinja2' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "Think about add-login.\nYou may write openspec/changes/add-login/**.\nFalse\n"
