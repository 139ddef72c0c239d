"""Reading PromQL text without a parser: the metric names it selects, and its range selectors bounded to a run.

A small tokenizer, enough for what the canary needs and careful where plain
regular expressions go wrong: strings ("5..", regexes with brackets), label
matchers (`{code=~"5..", le="0.5"}` name labels, not metrics), function and
aggregation names (`rate(`, `sum by (le) (`), grouping lists (`by (le)`,
`on(instance)`, `group_left(x)`), keywords (`and`, `offset`, `bool`, `inf`),
numbers and durations (`0.95`, `1e6`, `5m`, `1h30m`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass

from cockpit.engine.promql_text import promql_duration

_TOKEN = re.compile(
    r"""
    (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<comment>\#[^\n]*)
  | (?P<number>(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(?:[A-Za-z]+\d*)*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<space>\s+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)

# Words that are never metric names where they stand: operators, modifiers, literals, and the
# aggregations (they may be followed by `by (...)` instead of an opening parenthesis).
_KEYWORDS = frozenset(
    "and or unless bool offset atan2 inf nan start end "
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio".split()
)
# Followed by a parenthesised list of label names.
_GROUPING = frozenset("by without on ignoring group_left group_right".split())
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


def _tokens(expr: str) -> list[_Token]:
    return [
        _Token(m.lastgroup or "other", m.group(), m.start(), m.end())
        for m in _TOKEN.finditer(expr)
        if m.lastgroup not in ("space", "comment")
    ]


def _skip_group(tokens: list[_Token], i: int, opening: str, closing: str) -> int:
    """The index just past the bracket group opening at tokens[i]."""
    depth = 0
    while i < len(tokens):
        text = tokens[i].text if tokens[i].kind == "other" else ""
        if text == opening:
            depth += 1
        elif text == closing:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def metric_names(expr: str) -> list[str]:
    """The metric names `expr` selects, in first-seen order (from `name{...}` and `{__name__="name"}`).

    Placeholders must already be rendered. A `__name__` matched by a regex is not a name
    and is left out (nothing can be asked about it by name).
    """
    tokens = _tokens(expr)
    names: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.kind == "other" and token.text == "{":
            end = _skip_group(tokens, i, "{", "}")
            names.extend(_name_matchers(tokens[i + 1 : end - 1]))
            i = end
            continue
        if token.kind == "other" and token.text == "[":
            i = _skip_group(tokens, i, "[", "]")  # a range or subquery: durations only
            continue
        if token.kind == "ident":
            word = token.text.lower()
            if word in _GROUPING and following is not None and following.text == "(":
                i = _skip_group(tokens, i + 1, "(", ")")
                continue
            is_call = following is not None and following.kind == "other" and following.text == "("
            if not is_call and word not in _KEYWORDS and word not in _GROUPING:
                names.append(token.text)
        i += 1
    return list(dict.fromkeys(names))


def _name_matchers(inside: list[_Token]) -> Iterator[str]:
    """`__name__="x"` inside a label-matcher list."""
    for at, token in enumerate(inside):
        if token.kind != "ident" or token.text != "__name__":
            continue
        rest = inside[at + 1 : at + 3]
        if len(rest) == 2 and rest[0].text == "=" and rest[1].kind == "string":
            yield rest[1].text[1:-1]


def duration_seconds(text: str) -> float | None:
    """A PromQL duration ("5m", "1h30m", "500ms") in seconds; None when it is not one."""
    parts = list(_DURATION.finditer(text))
    if not parts or "".join(p.group() for p in parts) != text:
        return None
    return sum(float(p.group(1)) * _UNIT_SECONDS[p.group(2)] for p in parts)


def longest_range(expr: str) -> float | None:
    """The longest range (or subquery range) in `expr`, in seconds; None when it has none."""
    ranges = [seconds for _, _, seconds in _ranges(expr)]
    return max(ranges) if ranges else None


def bound_ranges(expr: str, ceiling: float) -> str:
    """`expr` with every range selector longer than `ceiling` seconds cut to it: `[2m]` → `[40s]`, `[5m:30s]` → `[40s:30s]`."""
    if ceiling <= 0:
        raise ValueError(f"a range must be positive, not {ceiling!r}s")
    out: list[str] = []
    last = 0
    for start, end, seconds in _ranges(expr):
        if seconds > ceiling:
            out += [expr[last:start], promql_duration(_whole(ceiling))]
            last = end
    out.append(expr[last:])
    return "".join(out)


def _whole(seconds: float) -> float:
    """Whole seconds (PromQL ranges read best so), milliseconds under one second; never more than `seconds`."""
    return float(int(seconds)) if seconds >= 1 else max(0.001, math.floor(seconds * 1000) / 1000)


def age_window(age: float) -> float:
    """The longest window that fits in a run `age` seconds old, as PromQL can say it (at least 1 ms)."""
    return _whole(max(0.001, age))


def _ranges(expr: str) -> Iterator[tuple[int, int, float]]:
    """(start, end, seconds) of each range duration's text, the part of `[range]` / `[range:step]` before any colon."""
    tokens = _tokens(expr)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "other" and token.text == "[":
            end = _skip_group(tokens, i, "[", "]")
            inside = tokens[i + 1 : end - 1]
            if inside and inside[0].kind in ("number", "ident"):
                seconds = duration_seconds(inside[0].text)
                if seconds is not None:
                    yield inside[0].start, inside[0].end, seconds
            i = end
            continue
        i += 1
