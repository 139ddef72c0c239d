"""Durations as people write them in config and on the command line: "15m", "2s", "1h30m", "250ms", or plain seconds ("30").

Writing one back for people is cockpit.format.format_duration's job.
"""

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
