"""``show <spec> --json`` against the real ``openspec show``, byte for byte, on specs made to be odd.

``parse_spec`` reads a spec from one split of its text and writes the JSON by hand; these specs
are drawn (with a fixed seed) from lines that make the shapes that can go wrong: levels skipped and
repeated, header runs without a title, headers in fences, JavaScript's whitespace and line
separators, blank scenarios, metadata-only statements, CRLF and a byte order mark.
"""

from __future__ import annotations

import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from specflow.openspec.show import show_spec_text
from tests.parity.harness import OpenSpec

pytestmark = pytest.mark.openspec_cli

LINES = [
    "### Requirement: A",
    "### Requirement: B ###",
    "###\tRequirement: Tab",
    "#### Scenario: S",
    "#### Scenario: T",
    "##### Deeper",
    "###### Six",
    "####### Seven",
    "## Other",
    "# Top",
    "##",
    "## ",
    "###  ",
    "#### \u00a0",
    "### \u2028x",
    "### x\u2028",
    "####\u3000Wide space",
    "#nospace",
    "  ### indented",
    "```",
    "~~~",
    "`inline` code",
    "The system SHALL do it.",
    "  The system MUST also do it.  ",
    "**ID**: R-1",
    "- **WHEN** it runs",
    "- **THEN** it works \u2014 caf\u00e9 \u62b9\u8336 \U0001f600",
    'quotes " and \\ back\tslash',
    "",
    "",
    " ",
]

#: Hand-written cases, each an edge where reading the pieces between headers differs from
#: reading a requirement's whole content as OpenSpec does.
CASES = {
    "blank-titled-header-last": "## Purpose\nP\n## Requirements\n### Requirement: A\nThe system SHALL a.\n####  \n",
    "indented-first-line": "## Purpose\nP\n## Requirements\n### Requirement: A\n\n   ###  \n",
    "boundary-then-nested": "## Purpose\nP\n## Requirements\n### Requirement: A\nx\n## \n### Requirement: B\ny\n",
    "purpose-later": "## Requirements\n### Requirement: A\nThe system SHALL a.\n## Purpose\nLate.\n",
    "fenced-scenario": "## Purpose\nP\n## Requirements\n### R\n```\n#### Scenario: no\n```\nThe system SHALL r.\n",
    "crlf-bom": "\ufeff# t\r\n## Purpose\r\nP\r\n## Requirements\r\n### Requirement: A\r\nThe system SHALL a.\r\n"
    "\r\n#### Scenario: S\r\n- ok\r\n",
}


def _drawn(rng: random.Random) -> str:
    body = [rng.choice(LINES) for _ in range(rng.randint(5, 40))]
    return "# cap\n\n## Purpose\nWhy.\n\n## Requirements\n" + "\n".join(body) + rng.choice(["", "\n"])


def _specflow_show(openspec: OpenSpec, spec_id: str, root: Path) -> bytes:
    proc = subprocess.run(
        [sys.executable, "-m", "specflow", "show", spec_id, "--json", "--type", "spec"],
        cwd=root,
        env=openspec.env(),
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_odd_specs_show_as_openspec_shows_them(openspec: OpenSpec, tmp_path: Path) -> None:
    rng = random.Random(16)
    specs = dict(CASES) | {f"drawn-{i:02d}": _drawn(rng) for i in range(24)}
    for spec_id, text in specs.items():
        path = tmp_path / "openspec" / "specs" / spec_id / "spec.md"
        path.parent.mkdir(parents=True)
        path.write_bytes(text.encode())

    def theirs(spec_id: str) -> subprocess.CompletedProcess[str]:
        return openspec.run(["show", spec_id, "--json", "--type", "spec", "--no-interactive"], tmp_path)

    with ThreadPoolExecutor(2) as pool:
        outputs = dict(zip(specs, pool.map(theirs, specs), strict=True))
    for spec_id, proc in outputs.items():
        assert proc.returncode == 0, f"{spec_id}: {proc.stdout}{proc.stderr}"
        assert show_spec_text(tmp_path, spec_id) + "\n" == proc.stdout, spec_id
    # and through the command, whose bytes are what a pipe gets
    for spec_id in ("crlf-bom", "drawn-00"):
        assert _specflow_show(openspec, spec_id, tmp_path) == outputs[spec_id].stdout.encode(), spec_id
