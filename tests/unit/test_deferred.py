"""``specflow.cli.deferred``: a module put off until first used, as the ``specflow`` command does
with ``inspect`` (which ``transitions`` imports and ``advance`` never uses)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=True
    )
    return out.stdout.strip()


def test_importing_transitions_leaves_inspect_unloaded_until_used() -> None:
    out = _run(
        """
        import sys
        from specflow.cli import deferred
        assert deferred.defer("inspect") is True
        import transitions
        print("ast" in sys.modules, "dis" in sys.modules, type(sys.modules["inspect"]).__name__)
        import inspect
        print(inspect.ismethod(len), "ast" in sys.modules, type(inspect).__name__)
        from inspect import signature
        print(str(signature(lambda a, b=2: None)))
        """
    )
    assert out.splitlines() == ["False False _Deferred", "False True module", "(a, b=2)"]


def test_a_machine_is_built_and_fired_without_loading_inspect() -> None:
    out = _run(
        """
        import sys
        from specflow.cli import deferred
        deferred.defer("inspect")
        import transitions
        class Model: pass
        m = Model()
        machine = transitions.Machine(model=m, states=["a", "b", "c"], initial="a", auto_transitions=False)
        machine.add_transition("advance", "a", "b")
        machine.add_transition("advance", "b", "c")
        machine.add_transition("reject", "b", "a")
        m.advance(); m.advance()
        print(m.state, type(sys.modules["inspect"]).__name__, "ast" in sys.modules)
        """
    )
    assert out == "c _Deferred False"


def test_threads_using_it_at_once_all_see_it_whole() -> None:
    out = _run(
        """
        import threading
        from specflow.cli import deferred
        deferred.defer("inspect")
        import inspect
        start = threading.Barrier(8)
        seen = []
        def use():
            start.wait()
            seen.append(str(inspect.signature(lambda x, *, y=1: None)))
        threads = [threading.Thread(target=use) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(sorted(set(seen)), len(seen))
        """
    )
    assert out == "['(x, *, y=1)'] 8"


def test_a_module_already_imported_or_unknown_is_left_alone() -> None:
    out = _run(
        """
        import sys, json
        from specflow.cli import deferred
        print(deferred.defer("json"), deferred.defer("no_such_module_here"), type(sys.modules["json"]).__name__)
        print("no_such_module_here" in sys.modules)
        """
    )
    assert out.splitlines() == ["False False module", "False"]


def test_the_specflow_command_defers_it() -> None:
    out = _run(
        """
        import atexit, sys
        from specflow.cli.start import entry
        names = ("inspect", "tokenize", "textwrap", "ipaddress", "bz2", "lzma")
        atexit.register(lambda: print(*(type(sys.modules[n]).__name__ for n in names), "ast" in sys.modules))
        windows = ("nt", "msvcrt", "_winapi")
        atexit.register(lambda: print(*(n in sys.modules and sys.modules[n] is None for n in windows)))
        sys.argv = ["specflow", "graph", "--help"]
        entry()
        """
    )
    # help text is wrapped by textwrap, which so ran when first used; the others never were, and
    # Windows' modules were never looked for (the handlers run last registered, first)
    assert out.splitlines()[-2:] == ["True True True", "_Deferred _Deferred module _Deferred _Deferred _Deferred False"]


def test_a_module_marked_absent_is_refused_as_a_missing_one_and_left_alone_when_imported() -> None:
    out = _run(
        """
        import sys, json
        from specflow.cli import deferred
        print(deferred.known_absent("no_such_module_here"), deferred.known_absent("json"))
        try:
            import no_such_module_here
        except ModuleNotFoundError as exc:
            print(type(exc).__name__)
        import importlib.util
        print(importlib.util.find_spec("no_such_module_here"), type(sys.modules["json"]).__name__)
        """
    )
    assert out.splitlines() == ["True False", "ModuleNotFoundError", "None module"]


def test_urls_with_a_bracketed_host_still_parse_with_ipaddress_put_off() -> None:
    out = _run(
        """
        import sys
        from specflow.cli import deferred
        deferred.on_the_command()
        from urllib.parse import urlsplit
        print(type(sys.modules["ipaddress"]).__name__, urlsplit("http://[::1]:8080/x").hostname)
        try:
            urlsplit("http://[not-an-address]/")
        except ValueError:
            print("refused", type(sys.modules["ipaddress"]).__name__)
        """
    )
    assert out.splitlines() == ["_Deferred ::1", "refused module"]


def test_a_module_that_reads_from_itself_while_it_runs_does_not_hang(tmp_path: Path) -> None:
    # the deferred module's code imports a helper that reads a name from the module being run
    (tmp_path / "selfish.py").write_text("import helper\nVALUE = 1\nSEEN = helper.SEEN\n")
    (tmp_path / "helper.py").write_text("import selfish\nSEEN = getattr(selfish, 'VALUE', 'not yet')\n")
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys\nsys.path.insert(0, sys.argv[1])\nfrom specflow.cli import deferred\n"
            "deferred.defer('selfish')\nimport selfish\nprint(selfish.VALUE, selfish.SEEN)",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.split() == ["1", "not", "yet"]
