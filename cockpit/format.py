"""How the cockpit writes numbers, weights, durations and times for people: one place, one reading.

The same value reads the same on the screen, in the war-room log, in the
one-liner, the RCA and the report, and in a notification. Where a text needs
another precision for a reason, it says so with a style argument of the same
function, never with a copy of its own:

- values by unit: `s` -> 142ms / 1.5s, `ratio` -> 1.23%, `per_min` -> 0.3/min,
  `count` and no unit -> 12.5, `bytes` -> 1.5MiB, any other unit after the
  number (12 dead tuples). Three significant digits ("brief"); evidence and
  check results keep four ("audit") because an auditor compares them with the
  raw answer. Whole numbers from the precision up (1234ms, never 1.23e+03).
- weights: 1%, 12.5% (or 12.5 where a command or file name wants the bare number).
- durations: 250ms, 42s, 1m30s, 1h30m ("plain"); a measured span keeps tenths
  under ten seconds, 1.5s ("measured"); an age drops its seconds past a minute,
  3m, 1h5m ("age").
- clocks: 14:03:07 UTC (14:03:07Z where the reader may be in another zone);
  the run-of-show's T-30m offsets, T+15:03 countdowns and 9:42 time left.

A missing value is always MISSING ("—"), never "?", "-" or a made-up zero;
NaN and infinities read as Prometheus writes them (NaN, +Inf, -Inf): a value
that is there but not a number is not a missing one.

Pure and light on purpose: no Textual, no pydantic, nothing beyond the standard
library's math and time, because the TUI's start-up is measured.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any, Literal

MISSING = "—"

ValueStyle = Literal["brief", "audit"]
DurationStyle = Literal["plain", "measured", "age"]

_DIGITS: Mapping[str, int] = {"brief": 3, "audit": 4}
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def _finite(value: Any) -> float | None:
    """A real number as a float (bools and text are not numbers); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _not_a_number(value: float) -> str:
    """NaN, +Inf, -Inf: how Prometheus writes the values that are not numbers."""
    if math.isnan(value):
        return "NaN"
    return "+Inf" if value > 0 else "-Inf"


def format_number(value: float | None, style: ValueStyle = "brief") -> str:
    """A bare number to the style's significant digits, trailing zeros dropped, never in exponent form."""
    number = _finite(value)
    if number is None:
        return MISSING
    if not math.isfinite(number):
        return _not_a_number(number)
    if number == 0:
        return "0"
    digits = _DIGITS[style]
    decimals = digits - 1 - math.floor(math.log10(abs(number)))
    if decimals <= 0:
        return f"{number:.0f}"
    text = f"{number:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _rounds_below(value: float, limit: float, style: ValueStyle) -> bool:
    """Whether `value` still reads below `limit` once rounded (999.7ms reads 1s, not 1000ms)."""
    return abs(float(format_number(value, style))) < limit


def _bytes(value: float, style: ValueStyle) -> str:
    scaled, index = value, 0
    while index < len(_BYTE_UNITS) - 1 and not _rounds_below(scaled, 1024, style):
        scaled, index = scaled / 1024, index + 1
    return format_number(scaled, style) + _BYTE_UNITS[index]


def format_value(value: float | None, unit: str = "", style: ValueStyle = "brief") -> str:
    """A value in its unit for people: 142ms, 1.5s, 1.23%, 0.3/min, 12, 1.5MiB, 12 dead tuples."""
    number = _finite(value)
    if number is None:
        return MISSING
    if not math.isfinite(number):
        return _not_a_number(number)
    if unit == "s":
        if _rounds_below(number * 1000, 1000, style):
            return format_number(number * 1000, style) + "ms"
        return format_number(number, style) + "s"
    if unit == "ratio":
        return format_number(number * 100, style) + "%"
    if unit == "per_min":
        return format_number(number, style) + "/min"
    if unit == "bytes":
        return ("-" if number < 0 else "") + _bytes(abs(number), style)
    if unit in ("", "count"):
        return format_number(number, style)
    return f"{format_number(number, style)} {unit}"


def format_limit(limit: float | None, unit: str, signal_config: Any = None) -> str:
    """A signal's limit cell: ≤200ms, ≥10/min, ≤base×1.5 (a relative limit before its baseline is known)."""
    is_floor = signal_config is not None and getattr(signal_config, "min", None) is not None and getattr(signal_config, "max", None) is None
    if limit is None and signal_config is not None:
        limit = getattr(signal_config, "min", None) if is_floor else getattr(signal_config, "max", None)
        if limit is None and getattr(signal_config, "max_vs_baseline", None) is not None:
            return f"≤base×{signal_config.max_vs_baseline:g}"
    if limit is None:
        return MISSING
    return ("≥" if is_floor else "≤") + format_value(limit, unit)


def format_weight(weight: float | None, *, percent: bool = True) -> str:
    """A canary weight as written in the plan: 1%, 12.5%; `percent=False` gives the bare 12.5 for commands and file names."""
    number = _finite(weight)
    if number is None or not math.isfinite(number):
        return MISSING
    return f"{number:g}" + ("%" if percent else "")


def _clock_parts(whole: int) -> tuple[int, int, int]:
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return hours, minutes, secs


def format_duration(seconds: float | None, style: DurationStyle = "plain") -> str:
    """A duration: 250ms, 42s, 1m30s, 1h30m; "measured" keeps tenths under 10 s (1.5s), "age" drops seconds past a minute (3m, 1h5m)."""
    number = _finite(seconds)
    if number is None:
        return MISSING
    if not math.isfinite(number):
        return _not_a_number(number)
    if number < 0:
        return "-" + format_duration(-number, style)
    if style == "age":
        whole = int(number)  # an age says how long at least: 59s old is not yet "1m"
        if whole >= 60:
            whole -= whole % 60
    else:
        if round(number * 1000) < 1000:
            return f"{round(number * 1000)}ms"
        if style == "measured" and round(number, 1) < 10:
            return f"{number:.1f}s"
        whole = int(round(number))
    hours, minutes, secs = _clock_parts(whole)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs or whole < 60 else ""]
    return "".join(parts)


def format_clock(ts: float | None, *, zone: bool = False) -> str:
    """An epoch time as HH:MM:SS UTC; `zone=True` adds the Z where the reader may live in another zone."""
    number = _finite(ts)
    if number is None or not math.isfinite(number):
        return MISSING
    return time.strftime("%H:%M:%S", time.gmtime(math.floor(number))) + ("Z" if zone else "")


def format_offset(seconds: float) -> str:
    """A run-of-show offset from T-0: T-30m, T-0, T+1h30m, T+24h."""
    whole = int(round(abs(seconds)))
    if whole == 0:
        return "T-0"
    hours, minutes, secs = _clock_parts(whole)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return f"T{'-' if seconds < 0 else '+'}{text}"


def format_countdown(elapsed: float) -> str:
    """The big clock from T-0: T-09:42 before, T+15:03 after, with hours when there are any."""
    sign = "-" if elapsed < 0 else "+"
    whole = int(abs(elapsed)) if elapsed >= 0 else int(-elapsed + 0.999)  # T-0:01 until the very second
    hours, minutes, secs = _clock_parts(whole)
    if hours:
        return f"T{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"T{sign}{minutes:02d}:{secs:02d}"


def format_remaining(seconds: float) -> str:
    """Time left as a clock, rounded up so 0:00 means now: 9:42, 1:02:03."""
    whole = max(0, int(seconds + 0.999))
    hours, minutes, secs = _clock_parts(whole)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
