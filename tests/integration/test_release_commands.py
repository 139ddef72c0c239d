"""The headless commands end to end: `cockpit preflight` / `redteam` as a pipeline runs them,
against real PostgreSQL, pgBouncer, Prometheus, Alertmanager, chrony and an HTTP service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.db_seed import create_database
from tests.exporter import JOB

VERSION = "v1.4.0"
PASSWORD = "e2e-Secret-pw"


def cockpit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COCKPIT_E2E_PW": PASSWORD}
    return subprocess.run(
        [sys.executable, "-m", "cockpit", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def write_config(folder: Path, *, dsn: str, admin_dsn: str, prometheus: str, service: str, alertmanager: str, ntp: str) -> Path:
    (folder / "feature_flags.json").write_text(json.dumps({"new_checkout": False, "risk_engine_v2": True}))
    sbom = {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"name": "left-pad", "version": "1.3.0", "licenses": [{"license": {"id": "MIT"}}]}]}
    (folder / "sbom.cdx.json").write_text(json.dumps(sbom))
    (folder / "sbom.previous.cdx.json").write_text(json.dumps(sbom))
    config = folder / "cockpit.toml"
    config.write_text(f"""
[prometheus]
url = "{prometheus}"
timeout = "2s"

[postgres]
dsn = "{dsn}"
timeout = "3s"

[pgbouncer]
admin_dsn = "{admin_dsn}"

[service]
canary_url = "{service}/"
timeout = "3s"

[alertmanager]
url = "{alertmanager}"

[evidence]
dir = "evidence"

# The e2e exporter has none of the default golden signals: judge one of its own.
[signals.e2e_value]
query = 'max(cockpit_test_value{{case="e2e"}})'
max = 1

[[checks]]
id = "preflight.identity"
commit = "0123456789abcdef0123456789abcdef01234567"
operator = "ic-e2e"

[[checks]]
id = "preflight.time_drift"
ntp_server = "{ntp}"

[[checks]]
id = "preflight.feature_flags"
expect = {{ new_checkout = false, risk_engine_v2 = true }}

[[checks]]
id = "preflight.prom_targets"
jobs = ["{JOB}"]

[[checks]]
id = "redteam.pitr"
enabled = false   # the test cluster does not archive WAL; PITR is covered by test_db_checks

[[checks]]
id = "redteam.idempotency_burst"
requests = 10
""")
    return config


@pytest.fixture(scope="module")
def release(tmp_path_factory, postgres, pgbouncer, prometheus, exporter, alertmanager, http_app, ntp_server):
    from tests.db_seed import ensure_role

    folder = tmp_path_factory.mktemp("release")
    create_database(postgres, "cockpit_e2e", broken=False)
    ensure_role(postgres, "cockpit_e2e", PASSWORD, "pg_monitor")
    postgres.psql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO cockpit_e2e", database="cockpit_e2e")
    postgres.psql("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO cockpit_e2e", database="cockpit_e2e")
    exporter.value.labels(case="e2e").set(0.5)
    prometheus.wait_for_data('cockpit_test_value{case="e2e"}')
    # A password in the DSN (from the environment) that must never show up anywhere.
    dsn = f"postgresql://cockpit_e2e:${{COCKPIT_E2E_PW}}@127.0.0.1:{postgres.port}/cockpit_e2e"
    config = write_config(
        folder,
        dsn=dsn,
        admin_dsn=pgbouncer.admin_dsn(),
        prometheus=prometheus.url,
        service=http_app.url,
        alertmanager=alertmanager.url,
        ntp=ntp_server.server,
    )
    return folder, config


def test_preflight_runs_all_ten_checks_concurrently_and_writes_the_seed_evidence(release):
    folder, config = release
    started = time.perf_counter()
    done = cockpit("preflight", VERSION, "--config", str(config), "--json", cwd=folder)
    wall = time.perf_counter() - started
    document = json.loads(done.stdout)
    statuses = {r["id"]: r["status"] for r in document["results"]}
    assert len(statuses) == 11
    # The e2e exporter has none of the default golden signals: the signals probe says the canary could not
    # start on them (FAIL, exit 1); the seed's 10 checks pass.
    probe = statuses.pop("preflight.signals_probe")
    assert probe == "FAIL" and done.returncode == 1 and document["exit_code"] == 1, done.stdout + done.stderr
    assert set(statuses.values()) <= {"PASS", "WARN"}, statuses
    evidence = folder / "evidence" / VERSION
    assert "STOPS   signal ws_staleness:" in (evidence / f"signals_probe_{VERSION}.txt").read_text()
    for name in (
        "preflight.txt", f"pgbouncer_pools_{VERSION}.tsv", f"prisma_status_{VERSION}.txt",
        f"csp_headers_{VERSION}.txt", f"sequences_{VERSION}.txt", f"feature_flags_{VERSION}.txt",
        f"prom_targets_{VERSION}.txt", f"baseline_{VERSION}.prom", f"baseline_summary_{VERSION}.txt",
        "pg_dead_tuples_top5.txt", "pg_autovacuum_mem.txt",
    ):
        assert (evidence / name).is_file(), name
    everything = "".join(p.read_text(errors="replace") for p in evidence.iterdir() if p.is_file())
    assert PASSWORD not in everything and PASSWORD not in done.stdout + done.stderr
    # The whole preflight, process start included, well under the seed's 60 s.
    assert wall < 15, wall
    print(f"\npreflight wall time (process start to exit): {wall:.2f}s")


def test_redteam_and_the_human_table(release):
    folder, config = release
    done = cockpit("redteam", VERSION, "--config", str(config), cwd=folder)
    # Table output fits 80 columns and reads without colour.
    assert all(len(line) <= 80 for line in done.stdout.splitlines()), done.stdout
    assert "Red team" in done.stdout and "exit" in done.stdout
    assert done.returncode in (0, 1, 3)
    assert "Traceback" not in done.stderr


def test_evidence_verify_catches_tampering(release):
    folder, config = release
    cockpit("preflight", VERSION, "--config", str(config), "--json", cwd=folder)
    assert cockpit("evidence", "verify", VERSION, "--config", str(config), cwd=folder).returncode == 0
    target = folder / "evidence" / VERSION / "preflight.txt"
    original = target.read_text()
    target.write_text(original.replace("PASS", "FAIL", 1))
    try:
        done = cockpit("evidence", "verify", VERSION, "--config", str(config), cwd=folder)
        assert done.returncode == 1 and "changed  preflight.txt" in done.stdout
    finally:
        target.write_text(original)


def test_unreachable_systems_are_unknown_not_pass(tmp_path):
    config = write_config(
        tmp_path,
        dsn="postgresql://app:${COCKPIT_E2E_PW}@127.0.0.1:9/none",
        admin_dsn="postgresql://postgres@127.0.0.1:9/pgbouncer",
        prometheus="http://127.0.0.1:9",
        service="http://127.0.0.1:9",
        alertmanager="http://127.0.0.1:9",
        ntp="127.0.0.1:9",
    )
    done = cockpit("preflight", VERSION, "--config", str(config), "--json", cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr
    results = {r["id"]: r for r in json.loads(done.stdout)["results"]}
    for check in ("preflight.time_drift", "preflight.pgbouncer_saturation", "preflight.prisma_migrations",
                  "preflight.csp_headers", "preflight.sequences", "preflight.prom_targets",
                  "preflight.baseline", "preflight.pg_bloat"):
        assert results[check]["status"] == "UNKNOWN", (check, results[check])
    assert PASSWORD not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["preflight", "../x"], "is not a release version"),
        (["preflight", "v1.4.0", "--config", "missing.toml"], "missing.toml: file not found"),
        (["preflight", "v1.4.0"], "no cockpit.toml found"),
        (["blast-radius", "ftp://x", "v1.4.0", "30"], "is not an http"),
        (["check", "nope.nothing", "--config", "cockpit.toml"], "no check named"),
        (["check", "preflight.pg_bloat", "--config", "cockpit.toml"], "preflight.pg_bloat writes evidence: pass the release with --version"),
        (["blast-radius", "http://127.0.0.1:9", "v1.4.0", "0"], "SECONDS: must be more than 0"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_with_nothing_written(tmp_path, args, message):
    if "cockpit.toml" in args:
        (tmp_path / "cockpit.toml").write_text("")
    done = cockpit(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "evidence").exists()


def test_blast_radius_takes_bare_seconds_and_shows_its_progress(tmp_path, http_app):
    # The README's form: URL, version, seconds as a bare number.
    (tmp_path / "cockpit.toml").write_text(f'[service]\ncanary_url = "{http_app.url}/"\nws_url = "{http_app.ws_url}"\n')
    done = cockpit("blast-radius", f"{http_app.url}/ok", VERSION, "2", cwd=tmp_path)
    assert done.returncode == 3, done.stdout + done.stderr  # [prometheus] is not configured: that part is UNKNOWN
    lines = done.stdout.splitlines()
    progress = [line for line in lines if line.startswith("blast.micro: ")]
    assert progress and progress[0].startswith("blast.micro: 1s/2s p95="), done.stdout  # plain lines: not a terminal
    assert "errors=0.00%" in progress[0]
    assert lines[-1] == "Blast radius v1.4.0: 1 UNKNOWN → exit 3"
    folder = tmp_path / "evidence" / VERSION
    summary = (folder / f"micro_blast_{VERSION}.log").read_text().splitlines()[-1]
    assert summary.startswith("summary: api: 40 requests at 20/s") and "prom: [prometheus] is not configured" in summary
    assert {p.name for p in folder.iterdir()} >= {f"micro_blast_{VERSION}.log", f"micro_api_{VERSION}.log",
                                                  f"micro_ws_{VERSION}.log", f"micro_prom_{VERSION}.promql"}
