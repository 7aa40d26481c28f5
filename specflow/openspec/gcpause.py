"""The cycle collector paused while a big tree is parsed.

Parsing a 5,000-requirement spec, or every change and spec of a tree, makes hundreds of thousands
of objects and not one reference cycle among them: the collector's passes over them are pure cost
(a sixth of a big ``show``).  Reference counting still frees everything as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Within the block, no cyclic garbage collection; afterwards, as it was."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
