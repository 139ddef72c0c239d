"""weight_query: the canary weight read back from a real Prometheus scraping a real exporter."""

from __future__ import annotations

import sys

import pytest

from cockpit.clock import ManualClock
from cockpit.config import validate_config
from cockpit.engine.traffic import traffic_from_config

pytestmark = pytest.mark.integration

QUERY = 'cockpit_test_value{case="traffic_weight"}'


def adapter(prometheus, read_timeout: float):
    config = validate_config({
        "prometheus": {"url": prometheus.url, "timeout": 2},
        "traffic": {"set_weight": [sys.executable, "-c", "pass", "{weight}"], "weight_query": QUERY,
                    "retries": 0, "read_timeout": read_timeout, "read_interval": 0.2},
    }, "cockpit.toml")
    return traffic_from_config(config.traffic, clock=ManualClock())


async def test_the_weight_prometheus_reports_is_waited_for_then_accepted(prometheus, exporter):
    gauge = exporter.value.labels(case="traffic_weight")
    gauge.set(1)
    prometheus.wait_for_data(f"{QUERY} == 1")
    gauge.set(5)  # the traffic system moved; Prometheus sees it at its next scrape (1 s)
    result = await adapter(prometheus, read_timeout=15).shift(5.0, "v1.4.0", 2)
    assert result.ok, result.error
    assert result.read_back is not None and result.read_back.value == 5.0
    assert result.read_back.source == f"PromQL {QUERY}"


async def test_a_weight_prometheus_never_reports_fails_the_shift(prometheus, exporter):
    exporter.value.labels(case="traffic_weight").set(5)
    prometheus.wait_for_data(f"{QUERY} == 5")
    result = await adapter(prometheus, read_timeout=1).shift(25.0, "v1.4.0", 3)
    assert not result.ok and result.error == "read back 5% after 1s, expected 25%"


async def test_no_series_is_named_as_the_reason(prometheus, exporter):
    config = validate_config({
        "prometheus": {"url": prometheus.url, "timeout": 2},
        "traffic": {"set_weight": [sys.executable, "-c", "pass"], "weight_query": 'cockpit_test_value{case="nobody"}',
                    "retries": 0, "read_timeout": 0.5, "read_interval": 0.2},
    }, "cockpit.toml")
    result = await traffic_from_config(config.traffic, clock=ManualClock()).shift(5.0, "v1.4.0", 2)
    assert not result.ok
    assert result.error == "could not read back after 0.5s, expected 5%: no data (the query returned no series)"
