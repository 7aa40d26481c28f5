"""OpenSpec compatibility: parse, validate, list, show and archive exactly as OpenSpec 1.13.2 does.

Pure Python, no Node.  Submodules are imported on demand so ``specflow list`` starts fast:

- ``jsre``, ``markdown``: JavaScript string semantics; fence-aware line scanning and sections
- ``tasks``, ``taskcheck``: tasks.md checkboxes; the task-file lint of ``validate``
- ``requirements``, ``deltas``, ``specs``: requirement blocks, delta specs, main specs
- ``flatyaml``: the small reader for OpenSpec's flat YAML files (ruamel only as a fallback)
- ``meta``, ``schemas``: ``.openspec.yaml``, ``openspec/config.yaml`` and workflow schemas
- ``discovery``: change ids, capability paths (nested), stray delta files, wrapper folders
- ``issues``: a finding (level, path, message) and a report of them
- ``mainspecs``, ``deltarules``, ``changerules``, ``validate``: main specs read once; the rules on
  each delta spec and on a change (ordered lists); the rules on a main spec and the JSON report
- ``mergechecks``, ``mergeops``, ``merge``, ``leftovers``: archive's checks of a delta (PRECHECKS),
  its operations on a main spec's requirements (OPERATIONS), applying it in memory, what no
  requirement accounts for
- ``archivepreflight``, ``specupdates``, ``retire``, ``archive``, ``specwrites``: archive's checks
  and questions before it builds anything; each delta spec's main spec rebuilt in memory and
  checked; retiring capabilities; the atomic archive operation; its writes and rollback
- ``listing``, ``show``, ``jsonstr``: ``list`` (with specflow's state) and ``show`` documents; JSON text
  as ``JSON.stringify(value, null, 2)`` writes it
- ``adopt``: putting in-flight changes under a workflow, in the state their files show
"""

from __future__ import annotations
