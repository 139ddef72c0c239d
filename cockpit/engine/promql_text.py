"""Filling a signal's PromQL placeholders: {window}, {selector} and {stable_selector}.

Plain text replacement, never str.format: PromQL is full of braces
(`http_requests_total{code=~"5.."}`) that format() would choke on.
"""

from __future__ import annotations

from typing import Any

CANARY_SELECTOR = 'track="canary"'
STABLE_SELECTOR = 'track="stable"'


def promql_duration(seconds: float) -> str:
    """Seconds as a PromQL duration: 60 -> "1m", 90 -> "90s", 3600 -> "1h", 0.5 -> "500ms"."""
    millis = round(seconds * 1000)
    if millis <= 0:
        raise ValueError(f"a PromQL window must be positive, not {seconds!r}s")
    if millis % 1000:
        return f"{millis}ms"
    whole = millis // 1000
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def render_query(query: str, window_s: float, canary: Any = None) -> str:
    """The query with {window} as a PromQL duration and the canary/stable selectors filled in.

    `canary` is the [canary] config (or None); its `selector` / `stable_selector`
    fields are used when the config has them, else track="canary" / track="stable".
    """
    selector = getattr(canary, "selector", None) or CANARY_SELECTOR
    stable = getattr(canary, "stable_selector", None) or STABLE_SELECTOR
    text = query
    if "{window}" in text:
        text = text.replace("{window}", promql_duration(window_s))
    return text.replace("{stable_selector}", stable).replace("{selector}", selector)
