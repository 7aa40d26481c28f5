"""OpenSpec compatibility: parse, validate, list, show and archive exactly as OpenSpec 1.13.2 does.

Pure Python, no Node.  Submodules are imported on demand so ``specflow list`` starts fast:

- ``jsre``, ``markdown``: JavaScript string semantics; fence-aware line scanning and sections
- ``tasks``, ``taskcheck``: tasks.md checkboxes; the task-file lint of ``validate``
- ``requirements``, ``deltas``, ``specs``: requirement blocks, delta specs, main specs
- ``flatyaml``: the small reader for OpenSpec's flat YAML files (ruamel only as a fallback)
- ``meta``, ``schemas``: ``.openspec.yaml``, ``openspec/config.yaml`` and workflow schemas
- ``discovery``: change ids, capability paths (nested), stray delta files, wrapper folders
- ``issues``: a finding (level, path, message) and a report of them
- ``mainspecs``, ``changerules``, ``validate``: main specs read once; the rules on a change (ordered
  lists); the rules on a main spec, OpenSpec's levels, messages and JSON report
- ``merge``, ``leftovers``, ``archive``: applying deltas in memory (PRECHECKS, then OPERATIONS); what
  no requirement accounts for; the atomic archive operation and its rollback (``specwrites``)
- ``listing``, ``show``, ``jsonstr``: ``list`` (with specflow's state) and ``show`` documents; JSON text
  as ``JSON.stringify(value, null, 2)`` writes it
- ``adopt``, ``steps``: putting changes under a workflow; workflow steps and ``openspec-archive``
"""

from __future__ import annotations
