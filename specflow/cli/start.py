"""The ``specflow`` command's entry point: what it does before any of the command's modules loads.

The garbage collector is paused while they load (``specflow.cli.main`` collects again once they are
in), and the standard-library modules the command imports but does not use are put off or marked
absent (``specflow.cli.deferred``) before ``specflow.cli.main`` is imported: its ``pathlib`` brings
``urllib.parse`` with ``ipaddress``, and ``ntpath``'s five tries of Windows' ``nt``.  A process that
embeds the API or calls ``main`` keeps its modules and its collector as they were.
"""

from __future__ import annotations

import gc

from specflow.cli import deferred


def entry() -> None:
    """Console-script entry point (``specflow``, ``python -m specflow``)."""
    paused = gc.isenabled()
    gc.disable()
    deferred.on_the_command()
    from specflow.cli.main import run_command_line  # after the deferrals: its imports meet them

    run_command_line(collector_paused=paused)
