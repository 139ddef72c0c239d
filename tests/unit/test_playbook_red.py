"""The RED playbook: valid PromQL (real promtool), only RED and process metrics, and `init --playbook red` works."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.config import CockpitConfig, load_config
from tests.unit.test_playbook_promql import _rules, _run

RED_METRICS = {"http_requests_total", "http_request_duration_seconds_bucket", "process_cpu_seconds_total",
               "process_resident_memory_bytes"}


@pytest.fixture(scope="module")
def red(tmp_path_factory: pytest.TempPathFactory) -> CockpitConfig:
    folder = tmp_path_factory.mktemp("red")
    done = subprocess.run([sys.executable, "-m", "cockpit", "init", "--playbook", "red"], cwd=folder,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return load_config(folder / "cockpit.toml")


def test_red_playbook_uses_only_red_and_process_metrics(red: CockpitConfig) -> None:
    assert {"p95_latency", "error_rate", "request_rate", "cpu_saturation", "memory_rss"} == set(red.signals)
    expressions = [t.expr for t in red.triggers] + [s.query for s in red.signals.values()]
    expressions += [s.volume_query for s in red.signals.values() if s.volume_query]
    used = {m for e in expressions for m in re.findall(r"([a-z_]+)\{", e)}
    assert used and used <= RED_METRICS, used - RED_METRICS
    assert not [c.id for c in red.checks if c.kind in ("sql", "pgbouncer_pools", "pgbouncer_leaks", "http_burst")]
    assert red.triggers and red.enabled_checks("preflight")


def test_red_playbook_passes_promtool_check_rules(red: CockpitConfig, tmp_path: Path) -> None:
    rules = tmp_path / "red-rules.yml"
    rules.write_text(json.dumps(_rules(red)))  # JSON is YAML
    done = _run("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(red.triggers) + 3 * sum(1 + bool(s.volume_query) + 1 for s in red.signals.values())} rules found" in done.stdout


def test_a_red_config_lists_its_checks_with_no_secret_set(tmp_path: Path) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("PGPASSWORD", "PROM_TOKEN")}
    subprocess.run([sys.executable, "-m", "cockpit", "init", "--playbook", "red"], cwd=tmp_path, check=True,
                   capture_output=True, env=env, timeout=60)
    done = subprocess.run([sys.executable, "-m", "cockpit", "checks"], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "preflight.prom_targets" in done.stdout and "redteam." not in done.stdout
