"""``specflow worker [--machine NAME] [--concurrency N]``: run the phases queued for this machine."""

from __future__ import annotations

import argparse
import os
import select
import signal
import threading
from typing import TYPE_CHECKING

from specflow.cli.context import CliContext
from specflow.errors import QueueError
from specflow.queue.place import machine_name

if TYPE_CHECKING:
    from specflow.queue.worker import Worker


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--machine", metavar="NAME", help="this machine's name (default: SPECFLOW_MACHINE, else the host name)"
    )
    p.add_argument(
        "--concurrency", type=int, default=1, metavar="N", help="phases of different changes run at once (default 1)"
    )


#: How long the worker's shutdown may take once its last phase has finished.
CLOSE_WAIT_S = 10.0


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        from specflow.queue.worker import Worker, describe
    except ImportError as exc:
        raise QueueError(
            f"the queue's dependencies are not installed ({exc.name} is missing)",
            fix="pip install 'specflow-openspec[queue]'",
        ) from None
    worker = Worker(ctx.open_hub(), args.machine or machine_name(), args.concurrency, on_note=ctx.out)
    # From here on, DBOS runs threads that a normal interpreter exit would wait for: whatever happens,
    # the process ends through os._exit, and a signal at any moment (during the start, between two
    # lines of output) stops it like one during the wait.
    try:
        worker.start()
        ctx.out(describe(worker))
        ctx.out("  Ctrl-C (or SIGTERM) takes no more work and lets the running phase finish; twice stops it now")
        wait_for_a_signal()
    except KeyboardInterrupt:
        pass
    os._exit(_stop(worker, ctx))


def wait_for_a_signal() -> None:
    """Block until a signal's handler raises (SIGINT and SIGTERM raise ``KeyboardInterrupt``,
    ``specflow.cli.main``), whichever of the process's threads the signal reached.

    ``signal.pause`` can sleep through it: the kernel may hand a signal to any thread that does not
    block it, and a signal taken by one of DBOS's threads, or arriving just before ``pause`` is
    entered, leaves the main thread waiting for the next one (a worker sent SIGTERM was still
    waiting 20 s later; 5 in 40 such processes whose threads start processes).  Whichever thread
    takes the signal writes its number to a pipe (``signal.set_wakeup_fd``) that the main thread
    waits on; the handler runs as soon as the main thread goes on.
    """
    readable, writable = os.pipe()
    os.set_blocking(writable, False)
    signal.set_wakeup_fd(writable, warn_on_full_buffer=False)
    while True:
        select.select([readable], [], [])
        os.read(readable, 512)


def _stop(worker: Worker, ctx: CliContext) -> int:
    """Let the running phases finish (a second Ctrl-C stops at once), shut DBOS down; the exit code."""
    worker.stop_taking_work()
    try:
        busy = worker.running
        if busy:
            ctx.out(f"stopping: waiting for the phase of {', '.join(busy)} to finish (Ctrl-C again stops it now)")
            worker.wait()
    except KeyboardInterrupt:
        ctx.out("stopped; the interrupted phase runs again from its checkpoint when a worker of this machine starts")
        return 130
    # DBOS's shutdown joins its threads; one stuck (a database that went away, a busy machine) must
    # not keep the worker alive after its last phase: it is given a bounded time
    closing = threading.Thread(target=worker.close, name="specflow-worker-close", daemon=True)
    closing.start()
    try:
        closing.join(CLOSE_WAIT_S)
        ctx.out("stopped")
    except KeyboardInterrupt:
        return 130
    # DBOS's threads still waiting (for an approval, for a change's lock) are left, not joined:
    # their runs are durable and go on at the next start of a worker of this machine
    return 0
