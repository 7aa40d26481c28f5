"""The workspace features: gates, repos, checkpoints, restoring saved work, finding the hub, merging.

Every scenario runs the real engine (``specflow advance`` in-process) with a scripted ``command``
agent; the shared steps live in this folder's ``conftest.py``.
"""

from __future__ import annotations

from pytest_bdd import scenarios

scenarios(
    "gates.feature",
    "multirepo.feature",
    "checkpoints.feature",
    "restore.feature",
    "anywhere.feature",
    "merge.feature",
)
