"""OpenSpec's regexes compile on first use, not at import, and behave as compiled ones."""

from __future__ import annotations

import re
import subprocess
import sys

from specflow.openspec.jsre import lazy_compile

COUNT_COMPILES = """\
import re, sys
compiled = []
original = re._compile
def counting(pattern, flags):
    caller = sys._getframe(2).f_globals.get("__name__", "")
    if caller.startswith("specflow.openspec"):
        compiled.append(caller)
    return original(pattern, flags)
re._compile = counting
import specflow.openspec.show, specflow.openspec.validate, specflow.openspec.archive, specflow.openspec.listing
print(len(compiled), sorted(set(compiled)))
"""


def test_importing_the_openspec_rules_compiles_no_regex() -> None:
    out = subprocess.run([sys.executable, "-c", COUNT_COMPILES], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0 []"


def test_a_lazy_pattern_answers_as_the_compiled_one() -> None:
    source, text = r"(?P<word>[a-z]+)-(\d+)", "abc-12 de-3 x"
    lazy, eager = lazy_compile(source, re.I), re.compile(source, re.I)
    assert lazy.pattern == source
    assert lazy.match(text) is not None and lazy.match(text).groups() == eager.match(text).groups()  # type: ignore[union-attr]
    assert lazy.fullmatch("de-3") is not None and lazy.fullmatch(text) is None
    assert lazy.search(text, 3).group(0) == "de-3"  # type: ignore[union-attr]
    assert lazy.sub(r"\2", text) == eager.sub(r"\2", text) == "12 3 x"
    assert [m.group("word") for m in lazy.finditer(text)] == ["abc", "de"]
    assert lazy.findall(text) == eager.findall(text)
    assert lazy.split(text) == eager.split(text)
    assert lazy.compiled() is lazy.compiled()
