"""SHA-1 and SHA-256 without loading OpenSSL for what is small.

Importing ``hashlib`` loads OpenSSL's ``libcrypto``: about 3.5 ms of a command's start, a twentieth
of what ``advance`` imports.  CPython's own ``_sha1`` and ``_sha256`` (``_sha2`` from Python
3.12) load at once, but hash a fifth as fast (about 210 and 280 MB/s here, against 1,000 MB/s).
So what is small (tree objects, paths, a prompt, a workflow's source, a phase's documents) is
hashed by the built-in ones, and anything of ``BULK`` bytes or more (the index of a few thousand
files, a large file's blob) by ``hashlib``, imported then; once something imported it, ``hashlib``
hashes everything.  Both give the same digest; the hashers returned have ``hashlib``'s interface
(``update``, ``digest``, ``hexdigest``).
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Protocol

BULK = 256 << 10
"""From this many bytes on, ``hashlib``: each such input costs the built-in ones about 1 ms more,
and an ``advance`` hashes its worktree's index three or four times, so its 3.5 ms are paid back."""


def _builtin(modules: tuple[str, ...], name: str) -> Any:
    for module in modules:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    return getattr(importlib.import_module("hashlib"), name)  # a Python built without them


class Hasher(Protocol):
    """What ``hashlib``'s hashers and the built-in ones both offer."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...


_sha1 = _builtin(("_sha1",), "sha1")
_sha256 = _builtin(("_sha2",) if sys.version_info >= (3, 12) else ("_sha256",), "sha256")


def sha1(data: bytes = b"") -> Hasher:
    """A SHA-1 hasher fed ``data`` (git's object names; never used for security here)."""
    if len(data) >= BULK or "hashlib" in sys.modules:
        return bulk_sha1(data)
    hasher: Hasher = _sha1(data, usedforsecurity=False)
    return hasher


def bulk_sha1(data: bytes = b"") -> Hasher:
    """``hashlib``'s SHA-1 hasher fed ``data``, for a stream known to be large (a big file's blob)."""
    import hashlib

    return hashlib.sha1(data, usedforsecurity=False)


def sha256(data: bytes = b"") -> Hasher:
    """A SHA-256 hasher fed ``data``; ``update`` it with more if need be."""
    if len(data) >= BULK or "hashlib" in sys.modules:
        import hashlib

        return hashlib.sha256(data)
    hasher: Hasher = _sha256(data)
    return hasher


__all__ = ["BULK", "Hasher", "bulk_sha1", "sha1", "sha256"]
