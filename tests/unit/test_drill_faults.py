"""The fault models (values at given times) and the simulator driven step by step, read through the drill's source."""

from __future__ import annotations

import math

import pytest

from cockpit.drill.configuration import drill_config
from cockpit.drill.faults import HEALTHY, Effects, combine, fault_effects
from cockpit.drill.scenario import Scenario, parse_scenario
from cockpit.drill.simulator import Simulator, key
from cockpit.drill.source import DrillSource
from cockpit.engine.promql_text import render_query

T0 = 1_800_000_000.0


def test_step_faults_are_constant_while_they_last():
    assert fault_effects("latency_spike", {"latency_ms": 300}, 0).latency_add_s == pytest.approx(0.3)
    assert fault_effects("latency_spike", {}, 100).latency_add_s == pytest.approx(0.3)
    burst = fault_effects("error_burst", {"error_ratio": 0.2, "risk_blocks_per_min": 6}, 5)
    assert (burst.error_ratio, burst.risk_blocks_per_min) == (0.2, 6)
    stall = fault_effects("eventloop_stall", {"lag_ms": 150, "latency_ms": 250}, 1)
    assert (stall.eventloop_lag_s, stall.latency_add_s) == (pytest.approx(0.15), pytest.approx(0.25))
    assert fault_effects("gc_pauses", {"pause_ms": 60}, 3).gc_pause_s == pytest.approx(0.06)
    assert fault_effects("connection_creep", {"per_s": 10}, 3).connections_per_s == 10
    assert fault_effects("no_data", {}, 0).no_data is True
    assert fault_effects("no_data", {}, 0).kinds == ("no_data",)


def test_slow_creep_grows_with_time_up_to_its_cap():
    creep = {"ms_per_s": 25, "max_ms": 400}
    assert fault_effects("slow_creep", creep, 0).latency_add_s == 0
    assert fault_effects("slow_creep", creep, 4).latency_add_s == pytest.approx(0.1)
    assert fault_effects("slow_creep", creep, 10).latency_add_s == pytest.approx(0.25)
    assert fault_effects("slow_creep", creep, 60).latency_add_s == pytest.approx(0.4)
    assert fault_effects("slow_creep", creep, -3).latency_add_s == 0  # before it began


def test_unknown_kind_and_combination():
    with pytest.raises(ValueError, match="unknown fault kind 'meteor'"):
        fault_effects("meteor", {}, 0)
    assert combine([]) is HEALTHY and HEALTHY.healthy
    both = combine([
        Effects(latency_add_s=0.1, error_ratio=0.05, gc_pause_s=0.03, kinds=("a",)),
        Effects(latency_add_s=0.2, error_ratio=0.2, connections_per_s=4, no_data=True, kinds=("b",)),
    ])
    assert both.latency_add_s == pytest.approx(0.3) and both.error_ratio == 0.2
    assert both.gc_pause_s == 0.03 and both.connections_per_s == 4 and both.no_data and both.kinds == ("a", "b")


# ---------------------------------------------------------------- the simulator, step by step


def scenario(*faults: str) -> Scenario:
    text = {"faults": [dict(item.split("=", 1) for item in f.split()) for f in faults]}
    for fault in text["faults"]:
        for k, v in list(fault.items()):
            if k != "kind" and k != "after":
                fault[k] = float(v)
    return parse_scenario(text, "test", "test")


class Driven:
    """A simulator stepped by hand at 10 ticks a second, with the drill's source reading it at the same time."""

    def __init__(self, sc: Scenario) -> None:
        self.now = T0
        self.sim = Simulator(sc, clock=lambda: self.now)
        self.config = drill_config(simulator_url="http://127.0.0.1:9", prometheus_url=None, evidence_dir="/tmp/unused")
        self.source = DrillSource(self.sim, self.config, clock=lambda: self.now)
        self.sim.step(self.now)

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds * 10)):
            self.now += 0.1
            self.sim.step(self.now)

    async def signal(self, name: str, track: str = "canary", window: float = 5.0) -> float | None:
        canary = self.config.canary
        picked = canary if track == "canary" else canary.model_copy(update={"selector": canary.stable_selector})
        result = await self.source.query(render_query(self.config.signals[name].query, window, picked))
        assert result.error is None, result.error
        return result.scalar() if result.samples else None

    async def trigger(self, name: str) -> list:
        [trigger] = [t for t in self.config.triggers if t.name == name]
        result = await self.source.query(render_query(trigger.expr, self.config.canary.window, self.config.canary))
        assert result.error is None, result.error
        return result.samples


async def test_healthy_values_sit_well_inside_every_limit():
    d = Driven(scenario())
    d.sim.set_weight(25)
    d.run(8)
    p95 = await d.signal("p95_latency")
    assert 0.07 < p95 < 0.13
    assert await d.signal("error_rate") < 0.005
    assert await d.signal("eventloop_lag") == pytest.approx(0.012, abs=0.003)
    assert await d.signal("gc_pause") == pytest.approx(0.004, abs=0.0015)
    assert 2 <= await d.signal("ws_staleness") <= 5
    for trigger in d.config.triggers:
        assert await d.trigger(trigger.name) == [], trigger.name


async def test_latency_spike_starts_at_its_weight_and_ends_on_rollback():
    d = Driven(scenario("kind=latency_spike at_weight=25 latency_ms=300"))
    d.sim.set_weight(5)
    d.run(6)
    assert not d.sim.faults[0].active and await d.signal("p95_latency") < 0.2
    d.sim.set_weight(25)
    d.run(0.1)
    assert d.sim.faults[0].started_at == pytest.approx(d.now)
    d.run(6)
    assert await d.signal("p95_latency") == pytest.approx(0.4, abs=0.03)
    assert await d.trigger("p95_latency_breach")
    d.sim.rollback()
    assert d.sim.weight == 0 and d.sim.faults[0].ended_by == "rollback"
    d.run(6)  # the probes still reach the reverted canary: its window clears
    assert await d.signal("p95_latency") < 0.2
    d.sim.set_weight(25)  # a rolled-back canary does not fault again
    d.run(1)
    assert d.sim.faults[0].started_at is not None and not d.sim.faults[0].active


async def test_fault_after_seconds_with_duration():
    d = Driven(scenario("kind=gc_pauses after=3s duration=2 pause_ms=60"))
    d.run(5)
    assert d.sim.faults[0].started_at is None  # no canary traffic yet: the clock has not started
    d.sim.set_weight(1)
    d.run(2.95)
    assert d.sim.faults[0].started_at is None
    d.run(0.1)
    assert d.sim.faults[0].active
    d.run(1.8)
    assert d.sim.faults[0].active
    d.run(0.3)
    assert d.sim.faults[0].ended_by == "duration"


async def test_each_fault_crosses_its_limit_in_the_simulator():
    cases = [
        ("kind=error_burst at_weight=25 error_ratio=0.2 risk_blocks_per_min=120", "error_rate", 0.01, ["error_rate_breach", "error_risk_correlation"]),
        ("kind=eventloop_stall at_weight=25", "eventloop_lag", 0.05, ["eventloop_backpressure"]),
        ("kind=gc_pauses at_weight=25 pause_ms=60", "gc_pause", 0.02, ["gc_pause_hold"]),
    ]
    for fault, signal, limit, triggers in cases:
        d = Driven(scenario(fault))
        d.sim.set_weight(25)
        d.run(6)
        assert await d.signal(signal) > limit, fault
        for name in triggers:
            assert await d.trigger(name), (fault, name)
        assert await d.signal(signal, track="stable") < limit  # only the canary is hurt


async def test_connection_creep_values_at_given_times():
    d = Driven(scenario("kind=connection_creep at_weight=25 per_s=10"))
    d.sim.set_weight(25)
    d.run(0.1)
    current = key("-", "pgb_current")
    assert d.sim.values[current] == pytest.approx(40, abs=1)
    d.run(3)
    assert d.sim.values[current] == pytest.approx(70, abs=1)
    assert await d.trigger("connection_creep")
    d.run(4)  # beyond the pool: clients wait
    assert d.sim.values[current] == 100
    assert await d.trigger("pgbouncer_saturation")
    d.sim.rollback()
    d.run(0.1)
    assert d.sim.values[current] == 40


async def test_no_data_hides_the_canary_but_not_the_stable_track():
    d = Driven(scenario("kind=no_data at_weight=25"))
    d.sim.set_weight(25)
    d.run(6)
    assert await d.signal("p95_latency") is None
    assert await d.signal("eventloop_lag") is None
    assert await d.signal("p95_latency", track="stable") is not None
    families = {f.name: f for f in d.sim.families()}
    tracks = {s.labels.get("track") for s in families["http_requests"].samples}
    assert tracks == {"stable"}
    up = await d.source.query('max(up{track="canary"})')
    assert up.scalar() == 0.0
    d.sim.rollback()
    d.run(2)
    assert await d.signal("p95_latency") is not None


async def test_a_query_the_drill_does_not_know_is_an_error_never_a_value():
    d = Driven(scenario())
    result = await d.source.query('sum(rate(something_else_total{track="canary"}[5s]))')
    assert result.error is not None and "no answer" in result.error and not result.samples


def test_errors_are_counted_not_drawn():
    # A small canary never sees a stray 5xx the scenario did not ask for.
    d = Driven(scenario())
    d.sim.set_weight(1)
    d.run(30)
    assert d.sim.values[key("canary", "req:500")] == 0
    stable_errors = d.sim.values[key("stable", "req:500")]
    assert stable_errors == pytest.approx(math.floor(d.sim.values[key("stable", "lat_count")] * 0.001), abs=1)
    assert stable_errors >= 5
