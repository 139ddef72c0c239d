"""cockpit.format: every unit, the rounding edges, missing and not-a-number values, negatives, and its weight."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from cockpit.config import SignalConfig
from cockpit.format import (
    MISSING,
    format_clock,
    format_countdown,
    format_duration,
    format_limit,
    format_number,
    format_offset,
    format_remaining,
    format_value,
    format_weight,
)

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.142, "s", "142ms"),
    (0.0085, "s", "8.5ms"),
    (0.0005, "s", "0.5ms"),
    (1.5, "s", "1.5s"),
    (6.72, "s", "6.72s"),
    (31.0, "s", "31s"),
    (0.0123, "ratio", "1.23%"),
    (0.002, "ratio", "0.2%"),
    (0.021, "ratio", "2.1%"),
    (0.0, "ratio", "0%"),
    (1.0, "ratio", "100%"),
    (0.3, "per_min", "0.3/min"),
    (0.25, "per_min", "0.25/min"),
    (142.4, "per_min", "142/min"),
    (3, "count", "3"),
    (12.5, "count", "12.5"),
    (1_250_000.0, "count", "1250000"),
    (12.0, "", "12"),
    (1536, "bytes", "1.5KiB"),
    (512, "bytes", "512B"),
    (3 * 1024**3, "bytes", "3GiB"),
    (12, "dead tuples", "12 dead tuples"),
])
def test_values_read_in_their_unit(value, unit, text):
    assert format_value(value, unit) == text


def test_one_error_rate_reads_one_way_everywhere():
    from cockpit.run.warroom_log import SignalCell, format_cell

    # The screen said 1.23%, the war-room log 1.2%: both now read it from here.
    assert format_cell(SignalCell("error_rate", "5xx", 0.0123, "PASS", "ratio")) == "5xx=" + format_value(0.0123, "ratio")


@pytest.mark.parametrize(("value", "unit", "text"), [
    (0.99949, "s", "999ms"),
    (0.9996, "s", "1s"),  # rounds to 1000 ms: reads as seconds, never "1000ms"
    (9.996, "s", "10s"),
    (99.95, "count", "100"),
    (999.6, "count", "1000"),
    (1234.5678, "count", "1235"),  # whole from the precision up, never 1.23e+03
    (0.00012345, "count", "0.000123"),
    (1e-9, "count", "0.000000001"),
    (1023.9, "bytes", "1KiB"),
])
def test_rounding_edges(value, unit, text):
    assert format_value(value, unit) == text


def test_audit_keeps_four_significant_digits():
    assert format_value(0.14236, "s", style="audit") == "142.4ms"
    assert format_value(0.012346, "ratio", style="audit") == "1.235%"
    assert format_value(0.012346, "ratio") == "1.23%"
    assert format_value(3.14159, "", style="audit") == "3.142"
    assert format_value(0.99996, "s", style="audit") == "1s"


@pytest.mark.parametrize("value", [None, "0.2", True, [1]])
def test_a_missing_value_is_the_one_mark(value):
    assert format_value(value, "s") == MISSING == "—"
    assert format_number(value) == MISSING


@pytest.mark.parametrize(("value", "text"), [(math.nan, "NaN"), (math.inf, "+Inf"), (-math.inf, "-Inf")])
def test_not_a_number_reads_as_prometheus_writes_it(value, text):
    for unit in ("s", "ratio", "per_min", "count", "bytes", "dead tuples"):
        assert format_value(value, unit) == text
        assert format_value(value, unit, style="audit") == text
    assert format_duration(value) == text


@pytest.mark.parametrize(("value", "unit", "text"), [
    (-0.142, "s", "-142ms"),
    (-1.5, "s", "-1.5s"),
    (-0.0123, "ratio", "-1.23%"),
    (-0.5, "per_min", "-0.5/min"),
    (-1536, "bytes", "-1.5KiB"),
    (-0.0, "ratio", "0%"),
    (-0.0004, "count", "-0.0004"),
])
def test_negative_values(value, unit, text):
    assert format_value(value, unit) == text


def test_limits():
    assert format_limit(0.2, "s") == "≤200ms"
    assert format_limit(None, "ratio", SignalConfig(query="q", unit="ratio", max=0.01)) == "≤1%"
    assert format_limit(None, "per_min", SignalConfig(query="q", unit="per_min", min=10)) == "≥10/min"
    assert format_limit(None, "count", SignalConfig(query="q", max_vs_baseline=1.1)) == "≤base×1.1"
    assert format_limit(12, "count", SignalConfig(query="q", max_vs_baseline=1.1)) == "≤12"
    assert format_limit(None, "s") == MISSING


# ---------------------------------------------------------------- weights


def test_weights_read_like_people_write_them():
    assert [format_weight(w) for w in (1.0, 5, 25.0, 12.5, 100.0)] == ["1%", "5%", "25%", "12.5%", "100%"]
    assert [format_weight(w, percent=False) for w in (1.0, 5, 25.0, 2.5, 100.0)] == ["1", "5", "25", "2.5", "100"]
    assert format_weight(None) == format_weight("5") == format_weight(math.nan) == MISSING


# ---------------------------------------------------------------- durations


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0ms"), (0.25, "250ms"), (0.9996, "1s"), (42, "42s"), (90, "1m30s"), (900, "15m"), (3600, "1h"),
    (5400, "1h30m"), (3725, "1h2m5s"), (86400 + 61, "24h1m1s"), (59.6, "1m"),
])
def test_durations(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (0.2, "200ms"), (1.52, "1.5s"), (9.94, "9.9s"), (9.96, "10s"), (12.4, "12s"), (95, "1m35s"),
])
def test_measured_spans_keep_tenths_under_ten_seconds(seconds, text):
    assert format_duration(seconds, "measured") == text


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0s"), (42.9, "42s"), (61, "1m"), (119.9, "1m"), (3725, "1h2m")])
def test_ages_drop_their_seconds_past_a_minute(seconds, text):
    assert format_duration(seconds, "age") == text


def test_duration_edges():
    assert format_duration(None) == MISSING
    assert format_duration(-90) == "-1m30s" and format_duration(-0.25, "measured") == "-250ms"


# ---------------------------------------------------------------- clocks and offsets


def test_clocks_are_utc():
    assert format_clock(T0 + 3 * 3600 + 62.9) == "11:01:02"
    assert format_clock(T0, zone=True) == "08:00:00Z"
    assert format_clock(None) == format_clock(math.nan) == format_clock(None, zone=True) == MISSING


def test_run_of_show_offsets_and_countdowns():
    assert [format_offset(s) for s in (-1800, 0, 0.4, 5400, 86400, 90)] == ["T-30m", "T-0", "T-0", "T+1h30m", "T+24h", "T+1m30s"]
    assert format_countdown(-582.3) == "T-09:43"
    assert format_countdown(-0.2) == "T-00:01"
    assert format_countdown(0) == "T+00:00"
    assert format_countdown(903) == "T+15:03"
    assert format_countdown(86400 + 61) == "T+24:01:01"
    assert format_remaining(581.2) == "9:42" and format_remaining(3723) == "1:02:03" and format_remaining(-5) == "0:00"


# ---------------------------------------------------------------- light and pure


def test_importing_it_loads_no_textual_and_no_pydantic():
    code = "import sys, cockpit.format; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'pydantic', 'rich', 'asyncio', 'datetime')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
