"""Metric names read out of PromQL, and range selectors bounded to a run's age."""

from __future__ import annotations

import pytest

from cockpit.engine.model import Action, SignalReading, SignalState, TriggerReading
from cockpit.engine.promql_parts import age_window, bound_ranges, duration_seconds, metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{track="canary"}[2m])))',
         ["http_request_duration_seconds_bucket"]),
        ('sum(rate(http_requests_total{code=~"5..",track="c"}[1m])) by (instance) / on(instance) group_left(le) up',
         ["http_requests_total", "up"]),
        ('count_values("version", build_info) and on() label_replace(x, "dst", "$1", "src", "(.*)")', ["build_info", "x"]),
        ('{__name__="named", job="x"} > bool 1e6 + y offset 5m + time() + vector(0) or z[5m:30s] unless inf', ["named", "y", "z"]),
        ('max(ws_staleness_seconds{le="0.5", quantile="sum"}) > 30  # the "quantile" label is not a metric', ["ws_staleness_seconds"]),
        ('{__name__=~"node_.*"}', []),
    ],
)
def test_metric_names(expr, names):
    assert metric_names(expr) == names


def test_ranges_are_cut_to_the_run_and_strings_are_left_alone():
    expr = 'rate(x{code=~"[45].."}[2m]) + y[5m:30s] + z[10s]'
    assert bound_ranges(expr, 40) == 'rate(x{code=~"[45].."}[40s]) + y[40s:30s] + z[10s]'
    assert bound_ranges(expr, 600) == expr
    assert bound_ranges("rate(x[1h30m])", 0.5) == "rate(x[500ms])"
    assert duration_seconds("1h30m") == 5400 and duration_seconds("5x") is None


def test_age_window_never_reaches_back_before_the_run():
    assert age_window(42.9) == 42 and age_window(0.4567) == 0.456 and age_window(0) == 0.001


def test_a_trigger_waiting_for_its_window_never_proceeds_and_never_rolls_back():
    from cockpit.engine.decision import StageContext, decide

    signal = SignalReading("errors", SignalState.PASS, 0.0, 0.01, "q", 100.0)
    waiting = TriggerReading("error_rate_breach", False, False, "rollback", False, "e", 100.0, waiting="not asked yet")
    stage = StageContext(now=100.0, stage_started_at=0.0, stage_ends_at=50.0, holds_used=2, max_holds=2)
    decision = decide([signal], [waiting], stage)
    assert decision.action == Action.HOLD  # the stage is over, but a trigger not asked yet is not a quiet one
    assert any("not asked yet" in r.message for r in decision.reasons)
    quiet = TriggerReading("error_rate_breach", False, False, "rollback", False, "e", 100.0)
    assert decide([signal], [quiet], stage).action == Action.PROCEED
