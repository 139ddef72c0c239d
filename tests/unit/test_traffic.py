"""Traffic commands: argument lists filled in per argument, retried with backoff, bounded, killed on timeout."""

from __future__ import annotations

import json
import sys
import time

import pytest

from cockpit.clock import ManualClock
from cockpit.config import ConfigError, TrafficConfig
from cockpit.engine.traffic import (
    CommandTemplate,
    ConfiguredTraffic,
    check_template,
    render_template,
    traffic_from_config,
)


def test_placeholders_are_filled_per_argument_never_split():
    argv = ["kubectl", "annotate", "ingress", "shop", "nginx.ingress.kubernetes.io/canary-weight={weight}", "--note=v {version}; rm -rf /"]
    out = render_template(argv, {"weight": "25", "version": "v1.4.0", "stage": "3", "action": "shift"})
    assert out == ["kubectl", "annotate", "ingress", "shop", "nginx.ingress.kubernetes.io/canary-weight=25", "--note=v v1.4.0; rm -rf /"]
    assert len(out) == len(argv)  # a value with spaces or ; stays one argument: no shell ever sees it


def test_unknown_placeholder_is_a_config_error():
    with pytest.raises(ConfigError, match=r"traffic.set_weight\[3\]: unknown placeholder \{ingress\}"):
        check_template(["kubectl", "annotate", "ingress", "{ingress}", "w={weight}"], "traffic.set_weight")
    check_template(["curl", "-d", '{"weight": {weight}}'], "k")  # JSON braces are not placeholders


async def test_a_command_runs_and_its_output_is_kept(tmp_path):
    target = tmp_path / "argv.json"
    code = f"import json, sys; json.dump(sys.argv[1:], open({str(target)!r}, 'w')); print('annotated')"
    command = CommandTemplate([sys.executable, "-c", code, "{action}", "{weight}", "{version}", "{stage}"], "k", timeout=10)
    record = await command.attempt("shift", 25.0, "v1.4.0", 3, 1, ManualClock())
    assert record.ok and record.detail == "exit 0" and record.stdout.strip() == "annotated"
    assert json.loads(target.read_text()) == ["shift", "25", "v1.4.0", "3"]


async def test_a_hanging_command_is_killed_at_its_timeout():
    command = CommandTemplate([sys.executable, "-c", "import time; time.sleep(30)"], "k", timeout=0.5)
    started = time.perf_counter()
    record = await command.attempt("shift", 1.0, "v1.0.0", 1, 1, ManualClock())
    assert not record.ok and "timed out after 0.5s" in record.detail
    assert time.perf_counter() - started < 5


async def test_output_is_bounded():
    command = CommandTemplate([sys.executable, "-c", "import sys; sys.stdout.write('x' * 1_000_000)"], "k", timeout=10)
    record = await command.attempt("shift", 1.0, "v1.0.0", 1, 1, ManualClock())
    assert record.ok and len(record.stdout) < 9000 and "more bytes not kept" in record.stdout


async def test_a_missing_command_is_a_failed_attempt_not_a_crash():
    command = CommandTemplate(["/nonexistent/kubectl", "x"], "k", timeout=1)
    record = await command.attempt("shift", 1.0, "v1.0.0", 1, 1, ManualClock())
    assert not record.ok and record.detail == "command not found: /nonexistent/kubectl"


async def test_failures_are_retried_with_backoff_and_never_reported_done(tmp_path):
    clock = ManualClock()
    counter = tmp_path / "tries"
    code = f"open({str(counter)!r}, 'a').write('x'); import sys; sys.stderr.write('boom\\n'); sys.exit(4)"
    seen = []
    traffic = ConfiguredTraffic(
        CommandTemplate([sys.executable, "-c", code], "k", timeout=10),
        CommandTemplate([sys.executable, "-c", code], "k", timeout=10),
        retries=3, backoff=2.0, clock=clock, on_attempt=lambda action, record, allowed: seen.append((record.attempt, allowed)),
    )
    result = await traffic.shift(5.0, "v1.0.0", 2)
    assert not result.ok and result.attempt_count == 4 and counter.read_text() == "xxxx"
    assert result.error == "shift failed after 4 attempt(s): exit 4"
    assert [a.started_at - result.started_at for a in result.attempts] == [0.0, 2.0, 6.0, 14.0]  # 2, 4, 8 s
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert "boom" in result.as_text() and "FAILED" in result.as_text()


def test_from_config_shapes():
    assert traffic_from_config(TrafficConfig()) is None
    only_shift = traffic_from_config(TrafficConfig(set_weight=["argo", "set", "{weight}"]))
    assert only_shift is not None and only_shift.rollback_mover is only_shift.shift_mover  # rollback = weight 0
    with pytest.raises(ConfigError, match="nothing shifts traffic"):
        traffic_from_config(TrafficConfig(rollback=["argo", "abort"]))
    with pytest.raises(ConfigError, match="traffic.webhook"):
        traffic_from_config(TrafficConfig(webhook="ftp://x"))
