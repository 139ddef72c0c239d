"""The drill simulator scraped by a real Prometheus: the default queries read real values, and each fault crosses its limit.

One simulator per scenario, each scraped by the session's Prometheus as its own job;
queries are the drill configuration's (the default playbook's, ranges compressed),
rendered with render_query and a selector that adds the job, so the simulators do
not see each other's series.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from cockpit.config import CockpitConfig, PrometheusConfig
from cockpit.drill.configuration import drill_config
from cockpit.drill.scenario import builtin_names, load_scenario
from cockpit.drill.simulator import Simulator
from cockpit.drill.source import DrillSource
from cockpit.engine.promql_text import render_query
from cockpit.sources.prometheus import PrometheusSource, QueryResult

pytestmark = pytest.mark.integration

WINDOW = 5.0
# Triggers over the database's gauges carry no {selector}: scope them to one simulator's job here.
GLOBAL_METRICS = (
    "pgbouncer_pools_client_waiting_connections",
    "pgbouncer_databases_current_connections",
    "pgbouncer_databases_pool_size",
    "pg_stat_activity_count",
    "pg_stat_user_tables_n_dead_tup",
)


def scoped(expr: str, job: str) -> str:
    for name in GLOBAL_METRICS:
        expr = re.sub(rf"\b{name}\{{", f'{name}{{job="{job}",', expr)
        expr = re.sub(rf"\b{name}\b(?!\{{)", f'{name}{{job="{job}"}}', expr)
    return expr


@dataclass
class Scraped:
    name: str
    simulator: Simulator
    config: CockpitConfig  # selectors carry the job

    @property
    def job(self) -> str:
        return f"drill_{self.name}"

    def signal_query(self, name: str, track: str = "canary") -> str:
        canary = self.config.canary
        picked = canary if track == "canary" else canary.model_copy(update={"selector": canary.stable_selector})
        return render_query(self.config.signals[name].query, WINDOW, picked)

    def trigger_expr(self, name: str) -> str:
        [trigger] = [t for t in self.config.triggers if t.name == name]
        return scoped(render_query(trigger.expr, self.config.canary.window, self.config.canary), self.job)


@pytest.fixture(scope="module")
def scraped(prometheus) -> Iterator[dict[str, Scraped]]:
    """Every built-in scenario's simulator, scraped; weights go to 25 % once Prometheus has each one's data."""
    base = drill_config(simulator_url="http://127.0.0.1:9", prometheus_url=prometheus.url, evidence_dir="/tmp/unused")
    sims: dict[str, Scraped] = {}
    try:
        for name in builtin_names():
            sim = Simulator(load_scenario(name)).start()
            job = f"drill_{name}"
            canary = base.canary.model_copy(
                update={"selector": f'track="canary",job="{job}"', "stable_selector": f'track="stable",job="{job}"'}
            )
            sims[name] = Scraped(name, sim, base.model_copy(update={"canary": canary}))
            prometheus.add_target(sim.address, job)
        for item in sims.values():
            prometheus.wait_for_data(f'sum(rate(http_requests_total{{job="{item.job}",track="canary"}}[5s]))', timeout=30)
        for item in sims.values():
            item.simulator.set_weight(25)
        yield sims
    finally:
        for item in sims.values():
            item.simulator.stop()


@pytest.fixture
def source(prometheus) -> Iterator[PrometheusSource]:
    src = PrometheusSource(PrometheusConfig(url=prometheus.url, timeout=3, retries=0))
    yield src
    src.close()


def value(result: QueryResult) -> float | None:
    assert result.error is None, result.error
    return result.scalar() if result.samples else None


async def until(check, timeout: float = 20.0, what: str = "") -> None:
    """Poll an async check until it returns True (what a human would wait for), failing with its last answer."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last is True:
            return
        await asyncio.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}: last answer {last!r}")


async def test_every_default_signal_has_a_real_value_within_its_limit_when_healthy(scraped, source):
    healthy = scraped["healthy"]

    async def all_real() -> bool | dict:
        # Wait until the 25 % traffic fills the window: the volume the engine needs before it judges.
        short = {}
        for name, signal in healthy.config.signals.items():
            if signal.volume_query:
                volume = value(await source.query(render_query(signal.volume_query, WINDOW, healthy.config.canary)))
                if volume is None or volume < 5 * healthy.config.canary.min_requests:
                    short[name] = volume
        seen = {name: value(await source.query(healthy.signal_query(name))) for name in healthy.config.signals}
        bad = {n: v for n, v in seen.items() if v is None or not math.isfinite(v)}
        return True if not bad and not short else {"no value": bad, "low volume": short}

    await until(all_real, what="every signal to have a value")
    for name, signal in healthy.config.signals.items():
        got = value(await source.query(healthy.signal_query(name)))
        assert got is not None and signal.max is not None and got <= signal.max, (name, got)
        stable = value(await source.query(healthy.signal_query(name, "stable")))
        assert stable is not None and math.isfinite(stable), name  # the baseline's side too


async def test_every_trigger_is_quiet_when_healthy(scraped, source):
    healthy = scraped["healthy"]
    await asyncio.sleep(0)  # after the signals test, data is there
    for trigger in healthy.config.triggers:
        result = await source.query(healthy.trigger_expr(trigger.name))
        assert result.error is None and result.samples == [], (trigger.name, result)


FAULTS = {
    "latency_spike": ("p95_latency", ["p95_latency_breach"]),
    "error_burst": ("error_rate", ["error_rate_breach", "error_budget_fast_burn", "error_risk_correlation"]),
    "slow_creep": ("p95_latency", ["p95_latency_breach"]),
    # The loop stalls while requests stay fast: only the event-loop signal crosses (the triggers that also
    # need p95 over its limit stay quiet, as test_drill_runs asserts of the rollback's cause).
    "eventloop_stall": ("eventloop_lag", []),
    "gc_pauses": ("gc_pause", ["gc_pause_hold"]),
    "connection_creep": (None, ["connection_creep", "pgbouncer_saturation"]),
}


@pytest.mark.parametrize("scenario", sorted(FAULTS))
async def test_each_fault_makes_its_signal_and_triggers_cross_their_limits(scraped, source, scenario):
    item = scraped[scenario]
    signal, triggers = FAULTS[scenario]
    seen: set[str] = set()

    async def crossed() -> bool | set:
        if signal is not None:
            got = value(await source.query(item.signal_query(signal)))
            if got is not None and got > item.config.signals[signal].max:
                seen.add(signal)
        for name in triggers:
            if (await source.query(item.trigger_expr(name))).samples:
                seen.add(name)
        wanted = set(triggers) | ({signal} if signal else set())
        return True if seen >= wanted else wanted - seen

    await until(crossed, what=f"{scenario} to cross its limits")
    # The stable track carries no fault.
    if signal is not None:
        stable = value(await source.query(item.signal_query(signal, "stable")))
        assert stable is not None and stable <= item.config.signals[signal].max


async def test_no_data_leaves_the_canary_blind_and_the_stable_track_seen(scraped, source):
    item = scraped["no_data"]

    async def blind() -> bool | dict:
        got = {name: value(await source.query(item.signal_query(name))) for name in item.config.signals}
        return True if all(v is None for v in got.values()) else got

    await until(blind, what="every canary signal to have no data")
    for name in item.config.signals:
        assert value(await source.query(item.signal_query(name, "stable"))) is not None, name


# Loose enough for a second of scrape lag, tight enough to catch a mirror computing something else.
TOLERANCE = {
    "p95_latency": 0.02,
    "error_rate": 0.01,
    "ws_staleness": 1.5,
    "risk_block_rate": 0.6,
    "idempotency_conflicts": 0.005,
    "csp_violations": 0.0005,
    "eventloop_lag": 0.004,
    "gc_pause": 0.006,
}


@pytest.mark.parametrize("scenario", ["healthy", "latency_spike", "gc_pauses", "error_burst"])
async def test_the_built_in_source_agrees_with_prometheus(scraped, source, scenario):
    # The drill without Prometheus answers from Python mirrors of the default queries:
    # on the same simulator they must read what Prometheus reads.
    item = scraped[scenario]
    plain = drill_config(simulator_url="http://127.0.0.1:9", prometheus_url=None, evidence_dir="/tmp/unused")
    direct = DrillSource(item.simulator, plain)

    async def agree() -> bool | dict:
        off = {}
        for name in plain.signals:
            ours = (await direct.query(render_query(plain.signals[name].query, WINDOW, plain.canary))).scalar()
            theirs = value(await source.query(item.signal_query(name)))
            if ours is None or theirs is None or abs(ours - theirs) > max(TOLERANCE[name], 0.05 * abs(theirs)):
                off[name] = (ours, theirs)
        return True if not off else off

    await until(agree, timeout=25, what="the built-in source to agree with Prometheus")
