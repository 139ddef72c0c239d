"""The drill's configuration (compressed time, real default queries) and how its built-in source matches queries."""

from __future__ import annotations

import math
import sys

import pytest

from cockpit.config import default_playbook, load_config
from cockpit.drill.configuration import compress_ranges, drill_config, time_scale
from cockpit.drill.source import histogram_quantile, quantile_over, routes_for, unanswered
from cockpit.durations import parse_duration
from cockpit.engine.promql_text import render_query


def config(stage_seconds: float = 6.0):
    return drill_config(simulator_url="http://127.0.0.1:9500", prometheus_url="http://127.0.0.1:9090",
                        evidence_dir="/tmp/drill-evidence", stage_seconds=stage_seconds)


def test_every_default_signal_and_trigger_has_a_mirror_in_the_drill_source():
    # Fails when the default playbook's query text changes: cockpit/drill/source.py mirrors each
    # default query in Python; bring the named mirror (and its fingerprint) up to date.
    assert unanswered(config()) == []


def test_the_drill_uses_the_default_queries_and_limits_with_time_compressed():
    playbook = default_playbook()
    drill = config(stage_seconds=6)
    scale = time_scale(6)
    assert scale == pytest.approx(6 / 900)
    assert set(drill.signals) == set(playbook["signals"])
    for name, signal in playbook["signals"].items():
        ours = drill.signals[name]
        assert ours.query == signal["query"] and ours.max == signal.get("max")
        assert ours.for_ == pytest.approx(parse_duration(signal.get("for", 0)) * scale, abs=0.001)
    by_name = {t.name: t for t in drill.triggers}
    assert [t["name"] for t in playbook["triggers"]] == list(by_name)
    for trigger in playbook["triggers"]:
        ours = by_name[trigger["name"]]
        assert ours.expr == compress_ranges(trigger["expr"], scale)
        assert (ours.action, ours.auto) == (trigger.get("action", "rollback"), trigger.get("auto", False))
    assert [s.weight for s in drill.canary.stages] == [1, 5, 25, 50, 100]
    assert {s.hold for s in drill.canary.stages} == {6}
    assert drill.canary.evaluate_every == 1 and drill.canary.window == 5
    assert drill.traffic.set_weight == [sys.executable, "-m", "cockpit.drill.traffic", "--url", "http://127.0.0.1:9500", "set-weight", "{weight}"]
    assert drill.traffic.rollback[-1] == "rollback"
    assert drill.prometheus is not None and drill.prometheus.url == "http://127.0.0.1:9090"


def test_compress_ranges_keeps_a_floor_of_five_scrapes():
    assert compress_ranges("rate(x[2m]) / rate(y[10m])", 1 / 150) == "rate(x[5s]) / rate(y[5s])"
    assert compress_ranges("rate(x[1h])", 1 / 150) == "rate(x[24s])"
    assert compress_ranges("rate(x[{window}])", 1 / 150) == "rate(x[{window}])"  # placeholders are the engine's


def test_routes_match_rendered_queries_at_any_window_and_either_track():
    drill = config()
    source_routes = routes_for(drill)
    canary = drill.canary
    stable = canary.model_copy(update={"selector": canary.stable_selector})

    def route_of(expr: str):
        return [r for r in source_routes if r.pattern.fullmatch(expr)]

    for name, signal in drill.signals.items():
        for window in (5, 17, 120):
            for picked in (canary, stable):
                matches = route_of(render_query(signal.query, window, picked))
                assert [r.what for r in matches][:1] == [f"signal {name}"], (name, window)
    for trigger in drill.triggers:
        assert [r.what for r in route_of(render_query(trigger.expr, canary.window, canary))] == [f"trigger {trigger.name}"]
    assert route_of('histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{track="canary"}[5s])))') == []


async def test_source_reports_track_and_windows_of_a_match():
    from cockpit.drill.scenario import Scenario
    from cockpit.drill.simulator import Simulator
    from cockpit.drill.source import DrillSource

    drill = config()
    source = DrillSource(Simulator(Scenario(name="t")), drill, clock=lambda: 0.0)
    stable = drill.canary.model_copy(update={"selector": drill.canary.stable_selector})
    route, track, windows = source.match(render_query(drill.signals["error_rate"].query, 90, stable))
    assert (route.what, track, windows) == ("signal error_rate", "stable", [90.0, 90.0])


def test_histogram_quantile_interpolates_like_prometheus():
    bounds = (0.1, 0.2, 0.4)
    # 100 observations: 50 <= 0.1, 40 in (0.1, 0.2], 10 in (0.2, 0.4]
    assert histogram_quantile(0.5, bounds, [50, 40, 10, 0]) == pytest.approx(0.1)
    assert histogram_quantile(0.9, bounds, [50, 40, 10, 0]) == pytest.approx(0.2)
    assert histogram_quantile(0.95, bounds, [50, 40, 10, 0]) == pytest.approx(0.3)
    assert histogram_quantile(0.95, bounds, [0, 0, 0, 10]) == 0.4  # +Inf bucket: the highest finite bound
    assert math.isnan(histogram_quantile(0.95, bounds, [0, 0, 0, 0]))


def test_quantile_over_time_interpolates_between_ranks():
    assert quantile_over([1, 2, 3, 4, 5], 0.5) == 3
    assert quantile_over([1, 2, 3, 4, 5], 0.95) == pytest.approx(4.8)
    assert quantile_over([], 0.95) is None


def test_a_users_config_is_not_what_the_drill_runs(tmp_path):
    # The drill always judges with the shipped defaults, whatever ./cockpit.toml overrides.
    path = tmp_path / "cockpit.toml"
    path.write_text('[signals.p95_latency]\nmax = 0.5\n')
    assert load_config(path).signals["p95_latency"].max == 0.5
    assert config().signals["p95_latency"].max == 0.2
