"""Definitions: what a hub says in YAML, read in layers.

``specflow.yamlio`` parses (safe, bounded, with lines; below every package, for the machine
identity's config file too); ``*_model`` are the pydantic schemas, applied by
``model_check``; ``invariants`` checks a workflow's graph over the pure helpers of ``graph``;
``workflow`` finds and loads workflows into the records of ``workflow_types``; ``config``
loads ``specflow.yaml``; ``cache`` remembers what passed; ``mermaid`` draws a workflow;
``scaffold`` writes a new hub's files.
"""
