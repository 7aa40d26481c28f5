"""``show``: a change's proposal and parsed deltas, or a main spec, in OpenSpec's JSON shape."""

from __future__ import annotations

import re
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from specflow.errors import ShowError
from specflow.openspec import discovery
from specflow.openspec.gcpause import paused_gc
from specflow.openspec.jsre import lazy_compile
from specflow.openspec.markdown import find_section, js_trim, normalize, parse_sections
from specflow.openspec.requirements import extract_requirement_text
from specflow.openspec.specs import ParsedSpec, SpecParseError, parse_spec
from specflow.openspec.textfile import read_text

_TITLE_RE = lazy_compile(r"^#[ \t]+(?:Change:[ \t]+)?([^\n\r\u2028\u2029]+)$", re.M | re.I)
_SIMPLE_DELTA_RE = lazy_compile(r"^\s*-\s*\*\*([^*:]+)(?::\*\*|\*\*:)\s*(.+)$")


def change_title(proposal: str, change_id: str) -> str:
    """The proposal's ``# `` title (``Change:`` prefix dropped), or the id for ``# Proposal``."""
    m = _TITLE_RE.search(proposal)
    title = m.group(1).strip() if m else ""
    return title if title and title.lower() != "proposal" else change_id


def _requirement_json(block_raw: str) -> dict[str, Any] | None:
    header, *body = block_raw.split("\n")
    title = js_trim(re.sub(r"^###[ \t]*", "", header))
    lines = f"### {title}\n{chr(10).join(body)}".split("\n") if body else [f"### {title}"]
    sections = parse_sections(lines)
    if not sections or not re.match(r"^Requirement:\s*\S", js_trim(sections[0].title), re.I):
        return None
    sec = sections[0]
    text = extract_requirement_text(sec.title, sec.content.split("\n"))
    scenarios = [{"rawText": c.content} for c in sec.children if js_trim(c.content)]
    return {"text": text, "scenarios": scenarios}


def _simple_deltas(what_changes: str) -> list[dict[str, Any]]:
    out = []
    for line in what_changes.split("\n"):
        m = _SIMPLE_DELTA_RE.match(line)
        if not m:
            continue
        spec, desc = m.group(1).strip(), m.group(2).strip()
        low = desc.lower()
        op = "MODIFIED"
        if re.search(r"\brename(s|d|ing)?\b", low) or re.search(r"\brenamed\s+(to|from)\b", low):
            op = "RENAMED"
        elif re.search(r"\badd(s|ed|ing)?\b|\bcreate(s|d|ing)?\b|\bnew\b", low):
            op = "ADDED"
        elif re.search(r"\bremove(s|d|ing)?\b|\bdelete(s|d|ing)?\b", low):
            op = "REMOVED"
        out.append({"spec": spec, "operation": op, "description": desc})
    return out


def change_deltas(change_dir: Path, what_changes: str = "") -> list[dict[str, Any]]:
    """The deltas ``openspec show <change> --json`` reports, in its order and shape."""
    from specflow.openspec.deltas import parse_delta_spec  # a change's; a spec's show needs none

    deltas: list[dict[str, Any]] = []
    any_sections = False
    for spec in discovery.discover_spec_files(change_dir / "specs"):
        try:
            plan = parse_delta_spec(spec.path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        any_sections = any_sections or plan.has_sections
        for op, verb, blocks in (("ADDED", "Add", plan.added), ("MODIFIED", "Modify", plan.modified)):
            for block in blocks:
                req = _requirement_json(block.raw)
                if req is not None:
                    deltas.append(
                        {
                            "spec": spec.id,
                            "operation": op,
                            "description": f"{verb} requirement: {req['text']}",
                            "requirement": req,
                            "requirements": [req],
                        }
                    )
        pool = list(plan.removed_blocks)
        for name in plan.removed:
            idx = next((i for i, b in enumerate(pool) if b.name == name), -1)
            raw = pool.pop(idx).raw if idx >= 0 else f"### Requirement: {name}"
            req = _requirement_json(raw)
            if req is not None:
                deltas.append(
                    {
                        "spec": spec.id,
                        "operation": "REMOVED",
                        "description": f"Remove requirement: {req['text']}",
                        "requirement": req,
                        "requirements": [req],
                    }
                )
        for r in plan.renamed:
            deltas.append(
                {
                    "spec": spec.id,
                    "operation": "RENAMED",
                    "description": f'Rename requirement from "{r.src}" to "{r.dst}"',
                    "rename": {"from": r.src, "to": r.dst},
                }
            )
    return deltas if any_sections else _simple_deltas(what_changes)


def show_change_json(root: Path, change_id: str) -> dict[str, Any]:
    """``openspec show <change> --json``: id, title, deltaCount, deltas, root."""
    change_dir = root / "openspec" / "changes" / change_id
    proposal_path = change_dir / "proposal.md"
    try:
        proposal = proposal_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        if change_dir.is_dir():
            nested = discovery.nested_changes(change_dir.parent, change_id)
            if nested:
                raise ShowError(discovery.describe_nested(change_id, nested)) from None
            raise ShowError(
                f'Change "{change_id}" has no proposal.md yet. Run "openspec status --change'
                f' {change_id}" to see which artifact comes next.'
            ) from None
        raise ShowError(f'Change "{change_id}" not found at {proposal_path}') from None
    sections = parse_sections(normalize(proposal).split("\n"))
    why = find_section(sections, "Why")
    what = find_section(sections, "What Changes")
    if why is None or not why.content:
        raise ShowError("Change must have a Why section")
    if what is None or not what.content:
        raise ShowError("Change must have a What Changes section")
    deltas = change_deltas(change_dir, what.content)
    return {
        "id": change_id,
        "title": change_title(proposal, change_id),
        "deltaCount": len(deltas),
        "deltas": deltas,
        "root": {"path": str(root), "source": "nearest"},
    }


def show_spec_text(root: Path, spec_id: str) -> str:
    """``stringify(show_spec_json(root, spec_id))``, written straight from the parsed spec.

    A 5,000-requirement spec is 20,000 JSON objects: building them as dicts and walking them
    with the generic writer took a third of ``show``.  The layout is ``JSON.stringify``'s with
    two spaces, the strings encoded by the same encoder as ``stringify``'s.
    """
    spec = _read_spec(root, spec_id)
    with paused_gc():
        return _spec_text(root, spec_id, spec)


def _spec_text(root: Path, spec_id: str, spec: ParsedSpec) -> str:
    i1, i2, i3, i4 = "\n    ", "\n      ", "\n        ", "\n          "  # items, fields, scenarios, theirs
    # the pieces between the encoded strings, laid out once; each requirement appends to one list
    text_key, scenarios_key, next_item = "{" + i2 + '"text": ', "," + i2 + '"scenarios": ', "," + i1
    first, between = "[" + i3 + "{" + i4 + '"rawText": ', i3 + "}," + i3 + "{" + i4 + '"rawText": '
    last, none = i3 + "}" + i2 + "]" + i1 + "}", "[]" + i1 + "}"
    head = (
        "{\n"
        f'  "id": {encode_basestring(spec_id)},\n'
        f'  "title": {encode_basestring(spec_id)},\n'
        f'  "overview": {encode_basestring(spec.overview)},\n'
        f'  "requirementCount": {len(spec.requirements)},\n'
        '  "requirements": '
    )
    tail = (
        ",\n"
        '  "metadata": {\n    "version": "1.0.0",\n    "format": "openspec"\n  },\n'
        f'  "root": {{\n    "path": {encode_basestring(str(root))},\n    "source": "nearest"\n  }}\n'
        "}"
    )
    if not spec.requirements:
        return head + "[]" + tail
    parts = [head, "[" + i1]  # the whole document is one join: a 2 MB text is copied once
    add = parts.append
    for r in spec.requirements:
        add(text_key)
        add(encode_basestring(r.text))
        add(scenarios_key)
        if r.scenarios:
            add(first)
            add(between.join(map(encode_basestring, r.scenarios)))
            add(last)
        else:
            add(none)
        add(next_item)
    parts[-1] = "\n  ]"
    add(tail)
    return "".join(parts)


def show_json(root: Path, item: str, type_: str | None = None) -> tuple[str, dict[str, Any]]:
    """``openspec show <item> --json``: the item's kind and its document.

    Raises ``ItemError`` (``ShowError`` among them) with OpenSpec's code and message.
    """
    kind = discovery.resolve_item(root, item, type_)
    discovery.check_item_path(kind, item)
    return kind, show_change_json(root, item) if kind == "change" else show_spec_json(root, item)


def _read_spec(root: Path, spec_id: str) -> ParsedSpec:
    path = (root / "openspec" / "specs").joinpath(*spec_id.split("/"), "spec.md")
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise ShowError(f"Spec '{spec_id}' not found at {path}") from None
    try:
        with paused_gc():  # a long spec is tens of thousands of objects, and no cycle among them
            return parse_spec(text, spec_id)
    except SpecParseError as exc:
        raise ShowError(str(exc)) from None


def show_spec_json(root: Path, spec_id: str) -> dict[str, Any]:
    """``openspec show <spec> --json``: id, title, overview, requirements, metadata, root."""
    spec = _read_spec(root, spec_id)
    data = spec.to_json()
    return {
        "id": spec_id,
        "title": spec_id,
        "overview": data["overview"],
        "requirementCount": len(spec.requirements),
        "requirements": data["requirements"],
        "metadata": data["metadata"],
        "root": {"path": str(root), "source": "nearest"},
    }


__all__ = ["change_deltas", "change_title", "show_change_json", "show_json", "show_spec_json", "show_spec_text"]
