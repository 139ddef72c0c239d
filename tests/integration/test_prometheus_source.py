"""PrometheusSource against a real Prometheus scraping a real exporter: value, NaN, no data, errors, dead server."""

from __future__ import annotations

import socket
import time

import pytest

from cockpit.config import PrometheusConfig
from cockpit.sources.prometheus import PrometheusSource
from tests.exporter import JOB
from tests.services import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def source(prometheus):
    src = PrometheusSource(PrometheusConfig(url=prometheus.url, timeout=2))
    yield src
    src.close()


async def test_a_value_comes_back_with_its_labels(source, prometheus, exporter):
    exporter.value.labels(case="source_value").set(0.25)
    prometheus.wait_for_data('cockpit_test_value{case="source_value"} == 0.25')
    result = await source.query('cockpit_test_value{case="source_value"}')
    assert result.ok and not result.no_data
    assert result.scalar() == 0.25
    assert result.samples[0].labels["job"] == JOB


async def test_nan_is_not_a_value_and_not_no_data(source, exporter):
    result = await source.query("cockpit_test_nan")
    assert result.ok and not result.no_data and len(result.samples) == 1
    assert result.scalar() is None
    assert "NaN" in result.describe_missing()


async def test_inf_is_not_a_value(source):
    result = await source.query("vector(+Inf)")
    assert result.scalar() is None and "+Inf" in result.describe_missing()


async def test_a_missing_series_is_no_data(source, exporter):
    result = await source.query('cockpit_test_value{case="never_set"}')
    assert result.ok and result.no_data and result.scalar() is None
    assert "no data" in result.describe_missing()


async def test_a_bad_query_names_the_query_without_a_traceback(source):
    bad = "sum(rate(cockpit_test_value[1m]"
    result = await source.query(bad)
    assert not result.ok and result.scalar() is None
    assert bad in result.error and "parse error" in result.error
    assert "Traceback" not in result.error and "b'" not in result.error
    assert result.describe_missing() == result.error


async def test_instant_query_at_a_given_time(source):
    result = await source.query("vector(time())", at=1_700_000_000)
    assert result.scalar() == 1_700_000_000


async def test_a_dead_prometheus_is_an_error_at_once(prometheus):
    dead = PrometheusSource(PrometheusConfig(url=f"http://127.0.0.1:{free_port()}", timeout=2, retries=1))
    started = time.perf_counter()
    result = await dead.query("up")
    elapsed = time.perf_counter() - started
    assert not result.ok and "cannot connect" in result.error and "connection refused" in result.error
    assert elapsed < 2, f"a refused connection took {elapsed:.2f}s"
    targets, error = await dead.targets()
    assert targets == [] and "cannot connect" in error
    alerts, error = await dead.alerts()
    assert alerts == [] and "cannot connect" in error
    ranged = await dead.query_range("up", time.time() - 60, time.time(), 15)
    assert ranged.error and not ranged.series


async def test_a_silent_prometheus_times_out_within_the_configured_timeout():
    # Accepts the connection (the kernel's backlog) and never answers: a hung server.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        silent = PrometheusSource(PrometheusConfig(url=f"http://127.0.0.1:{port}", timeout=1, retries=1))
        started = time.perf_counter()
        result = await silent.query("up")
        elapsed = time.perf_counter() - started
    assert not result.ok and "did not answer within 1s" in result.error
    assert 0.9 < elapsed < 2.5, f"took {elapsed:.2f}s with a 1s timeout"


async def test_query_range_returns_points(source, prometheus, exporter):
    end = time.time()
    result = await source.query_range(f'up{{job="{JOB}"}}', end - 30, end, 1)
    assert result.error is None and len(result.series) == 1
    points = result.series[0].points
    assert points and all(value == 1.0 for _, value in points)
    assert all(end - 31 <= ts <= end + 1 for ts, _ in points)
    fine = await source.query_range(f'up{{job="{JOB}"}}', end - 5, end, 0.5)  # a step under a second
    assert fine.error is None and len(fine.series) == 1 and fine.series[0].points
    bad = await source.query_range("up{", end - 30, end, 1)
    assert bad.error and "up{" in bad.error and not bad.series


async def test_targets_lists_the_exporter(source, exporter):
    targets, error = await source.targets()
    assert error is None
    mine = [t for t in targets if t["labels"].get("job") == JOB]
    assert len(mine) == 1 and mine[0]["health"] == "up"
    assert mine[0]["labels"]["instance"] == exporter.address


async def test_alerts_without_rules_is_an_empty_list(source):
    assert await source.alerts() == ([], None)


async def test_errors_never_carry_credentials():
    port = free_port()
    config = PrometheusConfig(url=f"http://cockpit:s3cret-pw@127.0.0.1:{port}", password="s3cret-pw", username="cockpit", timeout=1)
    source = PrometheusSource(config)
    for error in ((await source.query("up")).error, (await source.targets())[1], (await source.alerts())[1]):
        assert error and "s3cret-pw" not in error and "cannot connect" in error


async def test_a_503_is_tried_again_within_the_retries_and_then_said():
    # A proxy in front of a restarting Prometheus: 503 until it gives up; a 400 is an answer, never retried.
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Unavailable(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            code = 400 if "bad" in self.path else 503
            body = b'{"status":"error","errorType":"bad_data","error":"parse error"}'
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = await PrometheusSource(PrometheusConfig(url=url, timeout=3, retries=2)).query("up")
        assert result.error is not None and "kept answering HTTP 503" in result.error
        assert len(seen) == 3
        seen.clear()
        refused = await PrometheusSource(PrometheusConfig(url=url, timeout=3, retries=2)).query("bad")
        assert refused.error is not None and "refused the query 'bad': parse error" in refused.error
        assert len(seen) == 1
    finally:
        server.shutdown()
        server.server_close()
