"""Prepare a checkout of this repo for work: check the interpreter, compile, leave a marker.

specflow runs this in every new worktree (``setup:`` in the hub's specflow.yaml).
"""

from __future__ import annotations

import compileall
import re
import sys
from pathlib import Path

version = sys.version.split()[0]
if sys.version_info < (3, 11):
    sys.exit(f"Python 3.11 or newer is needed; this is {version}")
root = Path(__file__).resolve().parent.parent
# hidden folders (.git) are skipped; linked folders (openspec/, shared/) are never followed
if not compileall.compile_dir(root, quiet=1, rx=re.compile(r"[/\\]\.")):
    sys.exit("some files do not compile")
(root / ".setup-done").write_text(f"python {version}\n", encoding="utf-8")
print(f"{root.name}: ready (python {version})")
