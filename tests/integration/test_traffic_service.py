"""The bench's traffic service on a real Prometheus: the load follows the weight the traffic command set, and its counters are scraped.

tests/traffic_service.py serves a canary and a stable track per app; tests/load_generator.py splits
real requests between them by the app's weight, which tests/traffic_weight.py (the cockpit's traffic
command) sets. Counts, not timings, are asserted: a shared machine is noisy.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.load_generator import LoadGenerator, LoadModel
from tests.traffic_service import Profile, TrafficService

WEIGHT = Path(__file__).resolve().parents[1] / "traffic_weight.py"


def _set_weight(service: TrafficService, app: str, weight: str) -> int:
    return subprocess.run([sys.executable, str(WEIGHT), service.url, app, weight], timeout=30).returncode


def test_traffic_splits_by_the_weight_and_its_counters_reach_prometheus(prometheus):
    with TrafficService() as service:
        service.add_app("split", Profile(error_rate=1.0), Profile(error_rate=0.0))
        prometheus.add_target(service.address, "traffic_service_test")
        model = LoadModel(nominal_rps=20, canary_cap=20, stable_cap=20)
        with LoadGenerator(service.url, model, seed=3) as load:
            time.sleep(1.5)  # weight 0 (no shift yet): every request is the stable's
            assert load.sent[("split", "canary")] == 0 and load.sent[("split", "stable")] > 0
            assert _set_weight(service, "split", "50") == 0
            assert service.weights["split"] == 50.0
            prometheus.wait_for_data('http_requests_total{app="split",track="canary",code="500"} > 5')
            assert _set_weight(service, "split", "0") == 0  # what a rollback runs
            time.sleep(1.0)  # the generator reads the weights every 0.5 s
            after_rollback = load.sent[("split", "canary")]
            time.sleep(1.5)
            assert load.sent[("split", "canary")] == after_rollback
        assert load.errors == 0
        # the canary fails every request, the stable none: the codes say which track served
        failed = prometheus.query('sum(http_requests_total{app="split",track="canary",code="500"})')
        served = prometheus.query('sum(http_requests_total{app="split",track="stable",code="200"})')
        assert float(failed[0]["value"][1]) > 0 and float(served[0]["value"][1]) > 0
        assert prometheus.query('http_requests_total{app="split",track="stable",code="500"}')  # exported at 0
        assert prometheus.query('nodejs_gc_duration_seconds_count{app="split",track="canary"}')


def test_an_unknown_app_or_a_bad_weight_is_refused():
    with TrafficService() as service:
        service.add_app("known", Profile(), Profile())
        assert _set_weight(service, "known", "not-a-number") == 1
        assert service.weights["known"] == 0.0
