"""Durations as people write them in config and on the command line: "15m", "2s", "1h30m", "250ms", or plain seconds ("30")."""

from __future__ import annotations

import re

_BARE = re.compile(r"\d+(?:\.\d+)?")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: object) -> float:
    """Seconds for a duration string or number; ValueError says what is wrong."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like '15m' or '30s'")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration like '15m' or '30s'")
    text = value.strip().replace(" ", "")
    if _BARE.fullmatch(text):  # "30": seconds, as `sleep 30` and the seed's scripts read it
        return float(text)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _SECONDS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"{value!r} is not a duration (use e.g. '15m', '30s', '1h30m', '250ms', or seconds: '30')")
    return total


def format_duration(seconds: float) -> str:
    """Compact text for a duration: 90 -> '1m30s', 0.25 -> '250ms'."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return "".join(parts)


def span_text(seconds: float | None) -> str:
    """A measured span (time to detect, to roll back): ms under a second, "not recorded" when missing."""
    if seconds is None:
        return "not recorded"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f}s" if seconds < 10 else format_duration(seconds)
