"""Sandboxes around an agent's process tree: Landlock, bubblewrap, seatbelt, and choosing one.

Adapters start their agent through ``specflow.sandbox.launch.spawn``; the layer is chosen by
``specflow.sandbox.layers.choose_layer`` from ``SandboxSettings``.  Nothing is imported here:
the re-exec helper imports ``specflow.sandbox.exec`` in an interpreter without ``site``.
"""
