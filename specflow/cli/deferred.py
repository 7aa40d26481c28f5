"""A standard-library module that loads when first used rather than when imported.

``transitions`` imports ``inspect`` (with ``ast``, ``dis`` and ``tokenize``: ~6 ms, a tenth of
what ``advance`` imports) for one ``inspect.ismethod`` that a model without methods named after
its triggers never reaches.  The ``specflow`` command puts a deferred ``inspect`` in
``sys.modules`` before anything imports it; a process embedding the API keeps its modules as it
had them.

The standard library's ``importlib.util.LazyLoader`` cannot do this on Python 3.11: an
``import inspect`` statement reads the module's ``__spec__``, and that alone runs it.  Here the
module's own attributes (``__spec__``, ``__name__``, ...) are plain ones, and the first other
name looked up on it runs the real module in place, under a lock, so two threads never see it
half-loaded by the other.
"""

from __future__ import annotations

import _thread
import importlib.util
import os
import sys
import types
from typing import Any

#: What the ``specflow`` command defers: ``inspect`` (above); ``tokenize`` and ``textwrap``, which
#: ``logging`` (imported by ``transitions``) brings through ``traceback`` and ``linecache`` for
#: the source lines and notes of a traceback it prints (~3 ms; ``tokenize`` compiles its patterns);
#: ``ipaddress``, which ``urllib.parse`` (under ``pathlib``) reads only for a URL's ``[host]``, and
#: ``bz2`` and ``lzma``, which ``shutil`` imports to know it could make such archives (~2 ms together).
ON_THE_COMMAND = ("inspect", "tokenize", "textwrap", "ipaddress", "bz2", "lzma")

#: Windows' modules, which the standard library tries to import on every start (``ntpath`` five
#: times, ``subprocess`` twice), each try a search of every folder on ``sys.path``.
WINDOWS_ONLY = ("nt", "msvcrt", "_winapi")

_LOCK = "_specflow_deferred_lock"  # in the module until its code has run
_RUNNING = "_specflow_deferred_running"  # while its code runs


class _Deferred(types.ModuleType):
    """A module whose code runs when a name it does not have yet is first looked up."""

    def __getattr__(self, name: str) -> Any:
        lock = self.__dict__.get(_LOCK)
        if lock is not None:
            # re-entrant: while the module's code runs, what it imports may read from it (as from
            # any module part way through its import); another thread waits until it has run
            with lock:
                if type(self) is _Deferred and not self.__dict__.get(_RUNNING):
                    self.__dict__[_RUNNING] = True
                    try:
                        self.__spec__.loader.exec_module(self)  # type: ignore[union-attr]
                    finally:
                        self.__class__ = types.ModuleType  # type: ignore[assignment]
                        self.__dict__.pop(_LOCK, None)
                        self.__dict__.pop(_RUNNING, None)
        return types.ModuleType.__getattribute__(self, name)


def defer(name: str) -> bool:
    """Put a deferred ``name`` in ``sys.modules``; False when it is already imported or not found."""
    if name in sys.modules:
        return False
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return False
    module = importlib.util.module_from_spec(spec)
    module.__class__ = _Deferred
    module.__dict__[_LOCK] = _thread.RLock()
    sys.modules[name] = module
    return True


def known_absent(name: str) -> bool:
    """Mark ``name`` as absent without looking for it (``None`` in ``sys.modules``: importing it
    raises ``ModuleNotFoundError`` at once, as the search would have); False when it is imported."""
    if name in sys.modules:
        return False
    sys.modules[name] = None  # type: ignore[assignment]
    return True


def on_the_command() -> None:
    """What the ``specflow`` command does before its modules load: ``ON_THE_COMMAND`` deferred and,
    on POSIX, ``WINDOWS_ONLY`` marked absent."""
    for name in ON_THE_COMMAND:
        defer(name)
    if os.name == "posix":
        for name in WINDOWS_ONLY:
            known_absent(name)


__all__ = ["defer", "known_absent", "on_the_command"]
