"""OpenSpec compatibility: parse, validate, list, show and archive exactly as OpenSpec 1.13.2 does.

Pure Python, no Node.  Submodules are imported on demand so ``specflow list`` starts fast:
``tasks`` (tasks.md), ``markdown`` (fence-aware scanning), ``specs`` (main and delta specs),
``meta`` (.openspec.yaml and config.yaml), ``validate``, ``listing``, ``archive``, ``adopt`` and
``steps`` (workflow steps and the ``openspec-archive`` action).
"""

from __future__ import annotations
