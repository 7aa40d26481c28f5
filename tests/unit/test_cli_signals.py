"""A command that waits for Ctrl-C or SIGTERM (``specflow worker``) wakes whichever of its threads
the signal reaches."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

# A process as the worker is: threads that start processes all the time (DBOS's, running git and
# agents) beside a main thread that waits for the signal; SIGTERM raises KeyboardInterrupt there.
WAITER = textwrap.dedent(
    """
    import os, subprocess, threading
    from specflow.cli.commands.worker import wait_for_a_signal
    from specflow.cli.main import _terminate_like_interrupt

    _terminate_like_interrupt()

    def spawning():
        while True:
            subprocess.run(["true"])

    def waiting():
        while True:
            threading.Event().wait(0.01)

    for work in (spawning, spawning, spawning, waiting, waiting):
        threading.Thread(target=work, daemon=True).start()
    try:  # as in the worker, a signal as soon as it says it waits is caught too
        print("waiting", flush=True)
        wait_for_a_signal()
    except KeyboardInterrupt:
        print("stopped", flush=True)
        os._exit(0)
    os._exit(1)
    """
)


def test_sigterm_stops_the_wait_whichever_thread_takes_it() -> None:
    # signal.pause() slept through the signal in about 1 of 8 such processes (a worker still
    # waiting 20 s after SIGTERM); 30 of them, in batches of 6, each signalled a little after it
    # says it waits
    stuck: list[str] = []
    for batch in range(5):
        procs = [subprocess.Popen([sys.executable, "-c", WAITER], stdout=subprocess.PIPE, text=True) for _ in range(6)]
        try:
            for i, proc in enumerate(procs):
                assert proc.stdout is not None
                assert proc.stdout.readline() == "waiting\n"
                time.sleep(0.01 * i)
                proc.send_signal(signal.SIGTERM)
            for i, proc in enumerate(procs):
                try:
                    out, _ = proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    stuck.append(f"batch {batch}, process {i}: still waiting 10 s after SIGTERM")
                    continue
                assert (proc.returncode, out) == (0, "stopped\n")
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    assert stuck == []
