"""The journal's vocabulary lives in cockpit/events.py: every event documented, no event named anywhere else.

Some event names are also words of other vocabularies ("hold" is an action,
"note" a control command, "warroom" a screen): those are flagged only where a
string is used as an event (compared with a record's "event", a dict's
"event", the first argument of emit/append, a lookup in records grouped by
event). The others are flagged wherever they appear as a whole string.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from cockpit.events import RECORD_FIELDS, SPECS, Event

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [ROOT / "cockpit", ROOT / "app"]
HOME = ROOT / "cockpit" / "events.py"
VALUES = {e.value for e in Event}
# Event names that are also other words of the project's vocabulary.
SHARED_WORDS = {"sample", "decision", "hold", "operator", "note", "warroom"}


def _is_event_lookup(node: ast.AST) -> bool:
    """`x.get("event")`, `x["event"]` or a name `event`: where a record's event is read."""
    if isinstance(node, ast.Name):
        return node.id == "event"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "event"
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "event"
    return False


def _event_constants(tree: ast.AST) -> list[ast.Constant]:
    """String constants used as an event name (see the module docstring)."""
    found: list[ast.Constant] = []

    def strings(node: ast.AST) -> list[ast.Constant]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node]
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return [c for e in node.elts for c in strings(e)]
        return []

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_event_lookup(s) for s in sides):
                found += [c for s in sides for c in strings(s)]
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "event" and value is not None:
                    found += strings(value)
        elif isinstance(node, ast.Call) and node.args:
            func, first = node.func, node.args[0]
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "emit" or (name == "append" and len(node.args) >= 2):
                found += strings(first)
            elif name == "get" and isinstance(func, ast.Attribute) and "by_event" in ast.unparse(func.value):
                found += strings(first)
        elif isinstance(node, ast.MatchValue):
            found += strings(node.value)
    return found


def test_no_event_name_is_spelled_outside_events_py() -> None:
    offences = []
    for folder in SCANNED:
        for path in sorted(folder.rglob("*.py")):
            if path == HOME:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            flagged = {id(c): c for c in _event_constants(tree) if c.value in VALUES}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and node.value in VALUES - SHARED_WORDS:
                    flagged[id(node)] = node
            offences += [f"{path.relative_to(ROOT)}:{c.lineno}: {c.value!r}" for c in flagged.values()]
    assert not offences, "name events as cockpit.events.Event members:\n" + "\n".join(sorted(offences))


def test_the_scan_sees_an_event_literal_where_one_is_used() -> None:
    source = 'if record.get("event") == "hold": emit("note", x=1)\nr = {"event": "warroom"}\nok = kind == "hold"'
    assert sorted(c.value for c in _event_constants(ast.parse(source))) == ["hold", "note", "warroom"]


def test_every_event_is_documented_with_its_fields() -> None:
    assert set(SPECS) == set(Event)
    for event, spec in SPECS.items():
        assert spec.doc.strip(), f"{event} has no description"
        assert spec.fields, f"{event} names no fields"
        assert not set(spec.fields) & set(spec.optional), f"{event}: a field is both always and sometimes there"
        assert not set(spec.fields + spec.optional) & set(RECORD_FIELDS) - {"seq"}, f"{event} repeats the journal's fields"


def test_an_event_is_its_string_in_the_journal() -> None:
    assert json.dumps({"event": Event.ROLLBACK_DONE}) == '{"event": "rollback_done"}'
    assert Event.HOLD == "hold" and str(Event.HOLD) == "hold"
