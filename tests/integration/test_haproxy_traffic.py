"""The HAProxy preset against Debian's HAProxy: weights set on its admin socket, read back, and real requests split.

Weighted round-robin makes the split follow the weights closely; the test still
allows a tolerance (and bounds the requests) so it checks the traffic, not the
algorithm's exact order.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from cockpit.clock import ManualClock
from cockpit.config import TrafficConfig
from cockpit.engine.haproxy import HAProxyRuntime
from cockpit.engine.traffic import traffic_from_config

pytestmark = pytest.mark.integration

REQUESTS = 200  # per stage: 1 % of it is 2 requests


def preset(haproxy, **haproxy_keys) -> TrafficConfig:
    settings = {"socket": str(haproxy.socket), "backend": "web", "stable_server": "stable", "canary_server": "canary"}
    return TrafficConfig(preset="haproxy", haproxy={**settings, **haproxy_keys}, retries=0, backoff=0,
                         timeout=5, read_timeout=2, read_interval=0.05)


async def split(haproxy, count: int = REQUESTS) -> Counter[str]:
    """Which track answered each of `count` real requests through HAProxy."""
    return Counter(await asyncio.to_thread(lambda: [haproxy.get() for _ in range(count)]))


async def test_the_split_follows_each_stage_and_a_rollback_sends_the_canary_nothing(haproxy):
    adapter = traffic_from_config(preset(haproxy), clock=ManualClock())
    assert adapter is not None and "HAProxy" in adapter.describe()
    for stage, weight in enumerate((1, 5, 25, 50, 100), start=1):
        result = await adapter.shift(float(weight), "v1.4.0", stage)
        assert result.ok, result.error
        assert result.read_back is not None and result.read_back.value == weight
        assert f"read back {weight}% after" in result.as_text()
        seen = await split(haproxy)
        share = seen["canary"] * 100 / REQUESTS
        assert abs(share - weight) <= 3, f"stage {stage}: {seen} for {weight}%"
        assert seen["canary"] >= 1  # even 1 % reaches the canary
        if weight == 100:
            assert seen["stable"] == 0
    servers = await HAProxyRuntime(preset(haproxy).haproxy, 5).weights()
    assert servers == {"stable": 0, "canary": 100}

    done = await adapter.rollback("v1.4.0", 5, 100.0)
    assert done.ok, done.error
    assert done.read_back is not None and done.read_back.value == 0.0
    assert done.read_back_text.startswith("read back 0% after")
    seen = await split(haproxy, 100)
    assert seen == Counter({"stable": 100})  # not one request reaches the canary after the rollback


async def test_a_weight_changed_behind_the_cockpits_back_fails_the_read_back(haproxy):
    runtime = HAProxyRuntime(preset(haproxy).haproxy, 5)
    assert await runtime.set_percentage(5) == "set weight web/stable 95; set weight web/canary 5"
    # Someone else moves the canary to 25 on the same socket: the cockpit reads what is really there.
    assert (await runtime.command("set weight web/canary 25")).strip() == ""
    value, problem = await runtime.read("v1.4.0", 2)
    assert problem is None and value == pytest.approx(25 * 100 / 120, abs=0.01)
    assert (await runtime.command("set weight web/canary 0")).strip() == ""


async def test_an_unknown_server_is_refused_in_haproxys_words(haproxy):
    adapter = traffic_from_config(preset(haproxy, canary_server="canary2"), clock=ManualClock())
    result = await adapter.shift(5.0, "v1.4.0", 2)
    assert not result.ok
    assert result.error is not None and "No such server" in result.error
    assert result.read_back is None and result.read_back_text == "not read back (the command failed)"


async def test_a_missing_socket_is_one_clear_line(tmp_path, haproxy):
    adapter = traffic_from_config(preset(haproxy, socket=str(tmp_path / "gone.sock")), clock=ManualClock())
    result = await adapter.shift(5.0, "v1.4.0", 2)
    assert not result.ok
    assert result.error == f"shift failed after 1 attempt(s): cannot reach HAProxy's admin socket {tmp_path / 'gone.sock'}: No such file or directory"


async def test_a_fractional_weight_is_refused_before_haproxy_is_asked(haproxy):
    adapter = traffic_from_config(preset(haproxy), clock=ManualClock())
    result = await adapter.shift(2.5, "v1.4.0", 2)
    assert not result.ok and "cannot set 2.5%" in (result.error or "")
