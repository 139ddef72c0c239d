"""Traffic read-back: a move is done only when the traffic system says the weight is the one asked for.

The "traffic system" here is a state file: set_weight (a real command) writes
the weight and the time, read_weight (another real command) prints it — at once,
after a lag, or never (a liar that always says 0).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from cockpit.clock import ManualClock
from cockpit.config import ConfigError, TrafficConfig, validate_config
from cockpit.engine.read_back import NOT_CONFIGURED, parse_weight
from cockpit.engine.traffic import CommandTemplate, rollback_evidence, rollback_fields, traffic_from_config

SET = "import sys, time; open(sys.argv[1], 'w').write(f'{sys.argv[2]} {time.time()}')"
# Prints the weight set_weight wrote once it is `lag` seconds old, the previous one ("0") before.
READ = ("import sys, time; w, at = open(sys.argv[1]).read().split(); "
        "print(w if time.time() - float(at) >= float(sys.argv[2]) else 0)")
LIAR = "print('0')"


def traffic(tmp_path: Path, read: list[str] | None, *, read_timeout: float = 1.0, retries: int = 0, **extra):
    state = tmp_path / "weight"
    state.write_text(f"0 {time.time()}")
    config = TrafficConfig(
        set_weight=[sys.executable, "-c", SET, str(state), "{weight}"],
        read_weight=read, read_timeout=read_timeout, read_interval=0.05, retries=retries, backoff=0, **extra,
    )
    adapter = traffic_from_config(config, clock=ManualClock())
    assert adapter is not None
    return adapter, state


def reader(state: Path, lag: float = 0.0) -> list[str]:
    return [sys.executable, "-c", READ, str(state), str(lag)]


async def test_a_weight_that_reads_back_makes_the_shift_done(tmp_path):
    adapter, state = traffic(tmp_path, reader(tmp_path / "weight"))
    result = await adapter.shift(5.0, "v1.4.0", 2)
    assert result.ok and result.error is None
    assert result.read_back is not None and result.read_back.matched and result.read_back.value == 5.0
    assert result.read_back_text.startswith("read back 5% after ")
    assert "read back: read back 5% after" in result.as_text()
    assert "read back:" in adapter.describe() and "weight" in adapter.describe()


async def test_a_lagging_system_is_read_until_it_agrees(tmp_path):
    adapter, _ = traffic(tmp_path, reader(tmp_path / "weight", lag=0.6), read_timeout=10)
    result = await adapter.shift(25.0, "v1.4.0", 3)
    assert result.ok, result.error
    assert result.read_back is not None and result.read_back.reads > 1  # it said 0 first, then 25
    assert 0.5 <= result.read_back.waited_s < 10


async def test_a_system_that_never_agrees_fails_the_shift_with_what_it_said(tmp_path):
    adapter, state = traffic(tmp_path, [sys.executable, "-c", LIAR], read_timeout=1.0)
    started = time.monotonic()
    result = await adapter.shift(5.0, "v1.4.0", 2)
    assert state.read_text().startswith("5 ")  # the command itself ran and exited 0 …
    assert result.attempts[-1].ok
    assert not result.ok  # … but the weight never read back
    assert result.error == "read back 0% after 1s, expected 5%"
    assert result.read_back is not None and result.read_back.value == 0.0 and result.read_back.reads >= 2
    assert 1.0 <= time.monotonic() - started < 5
    assert "result:    FAILED (read back 0% after 1s, expected 5%)" in result.as_text()


async def test_a_rollback_is_done_only_when_the_weight_reads_back_0(tmp_path):
    liar = [sys.executable, "-c", "print(5)"]  # the canary still has 5 % whatever the command said
    adapter, _ = traffic(tmp_path, liar, read_timeout=0.3)
    failed = await adapter.rollback("v1.4.0", 2, 5.0)
    assert not failed.ok and failed.error == "read back 5% after 0.3s, expected 0%"

    adapter, _ = traffic(tmp_path, reader(tmp_path / "weight"))
    done = await adapter.rollback("v1.4.0", 2, 5.0)
    assert done.ok and done.weight == 0.0 and done.read_back is not None and done.read_back.value == 0.0
    fields = rollback_fields(done, decided_at=ManualClock().now(), decided_perf=None)
    assert fields["read_back"].startswith("read back 0% after ") and fields["read_back_weight"] == 0.0
    evidence = rollback_evidence("Rollback — v1.4.0 stage 2 (5%)", "p95 over its limit", done, fields)
    assert "read back:        read back 0% after" in evidence


async def test_output_that_is_not_a_weight_is_named_in_the_failure(tmp_path):
    adapter, _ = traffic(tmp_path, [sys.executable, "-c", "print('banana')"], read_timeout=0.2)
    result = await adapter.shift(5.0, "v1.4.0", 2)
    assert not result.ok
    assert result.error == "could not read back after 0.2s, expected 5%: printed 'banana', not a weight"


async def test_a_failing_read_command_is_named_with_its_stderr(tmp_path):
    code = "import sys; sys.stderr.write('connection refused\\n'); sys.exit(7)"
    adapter, _ = traffic(tmp_path, [sys.executable, "-c", code], read_timeout=0.2)
    result = await adapter.shift(5.0, "v1.4.0", 2)
    assert not result.ok and result.error is not None
    assert result.error.endswith("expected 5%: exit 7: connection refused")


async def test_without_a_read_back_behaviour_is_unchanged_but_says_not_read_back(tmp_path):
    adapter, _ = traffic(tmp_path, None)
    result = await adapter.shift(5.0, "v1.4.0", 2)
    assert result.ok and result.read_back is None
    assert result.read_back_text == NOT_CONFIGURED
    assert f"read back: {NOT_CONFIGURED}" in result.as_text()
    assert rollback_fields(result, None, None)["read_back"] == NOT_CONFIGURED
    assert adapter.describe().endswith("; not read back")


async def test_a_failed_command_is_not_read_back(tmp_path):
    config = TrafficConfig(set_weight=[sys.executable, "-c", "raise SystemExit(3)"], read_weight=[sys.executable, "-c", "print(5)"],
                           retries=0, read_interval=0.05)
    adapter = traffic_from_config(config, clock=ManualClock())
    result = await adapter.shift(5.0, "v1.4.0", 2)
    assert not result.ok and result.error == "shift failed after 1 attempt(s): exit 3"
    assert result.read_back is None and result.read_back_text == "not read back (the command failed)"


def test_weights_are_parsed_from_the_last_line():
    assert parse_weight("5\n") == 5.0
    assert parse_weight("annotated\n 25% \n\n") == 25.0
    assert parse_weight("2.5") == 2.5
    assert parse_weight("") is None and parse_weight("weight: five") is None


def test_stable_weight_is_100_minus_the_weight():
    command = CommandTemplate(["kubectl", "patch", '{"stable": {stable_weight}, "canary": {weight}}'], "k", timeout=1)
    assert command.render("shift", 5.0, "v1", 2)[-1] == '{"stable": 95, "canary": 5}'


def load(traffic: dict, **more) -> object:
    return validate_config({"traffic": traffic, **more}, "cockpit.toml")


def test_read_back_settings_are_checked_when_the_config_loads():
    with pytest.raises(ConfigError, match=r"^cockpit.toml: traffic: read_weight and weight_query both read the weight back"):
        load({"set_weight": ["x"], "read_weight": ["y"], "weight_query": "q"}, prometheus={"url": "http://127.0.0.1:9090"})
    with pytest.raises(ConfigError, match=r"^cockpit.toml: traffic: weight_query needs a Prometheus"):
        load({"set_weight": ["x"], "weight_query": "q"})
    with pytest.raises(ConfigError, match=r"^cockpit.toml: traffic.read_timeout: "):
        load({"set_weight": ["x"], "read_weight": ["y"], "read_timeout": "soon"})
    with pytest.raises(ConfigError, match=r"traffic.read_weight: nothing shifts traffic"):
        traffic_from_config(TrafficConfig(read_weight=["y"]))


def test_weight_query_runs_on_the_prometheus_of_the_config():
    config = load({"set_weight": ["x"], "weight_query": "cockpit_weight"}, prometheus={"url": "http://127.0.0.1:9090"})
    assert config.traffic.prometheus is not None and config.traffic.prometheus.url == "http://127.0.0.1:9090"
    own = load({"set_weight": ["x"], "weight_query": "w", "prometheus": {"url": "http://127.0.0.1:9091"}},
               prometheus={"url": "http://127.0.0.1:9090"})
    assert own.traffic.prometheus.url == "http://127.0.0.1:9091"


def test_the_haproxy_preset_is_checked_when_the_config_loads():
    haproxy = {"socket": "/run/haproxy/admin.sock", "backend": "web"}
    config = load({"preset": "haproxy", "haproxy": haproxy})
    assert config.traffic.haproxy.stable_server == "stable" and config.traffic.haproxy.canary_server == "canary"
    with pytest.raises(ConfigError, match=r'traffic: preset "haproxy" needs \[traffic.haproxy\]'):
        load({"preset": "haproxy"})
    with pytest.raises(ConfigError, match=r'traffic: preset "haproxy" moves and reads the weights itself: remove traffic.set_weight'):
        load({"preset": "haproxy", "haproxy": haproxy, "set_weight": ["kubectl"]})
    with pytest.raises(ConfigError, match=r"traffic.haproxy.backend: String should match pattern"):
        load({"preset": "haproxy", "haproxy": {**haproxy, "backend": "web; disable server web/stable"}})
    with pytest.raises(ConfigError, match=r"^cockpit.toml: canary.stages\[1\].weight: 2.5 is not a whole percentage"):
        load({"preset": "haproxy", "haproxy": haproxy},
             canary={"stages": [{"weight": 1, "hold": "1m"}, {"weight": 2.5, "hold": "1m"}, {"weight": 100, "hold": "1m"}]})
    with pytest.raises(ConfigError, match=r'traffic: \[traffic.haproxy\] is only used with preset = "haproxy"'):
        load({"set_weight": ["x"], "haproxy": haproxy})
