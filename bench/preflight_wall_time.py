"""Prints the wall time of `cockpit preflight` against local real services.

Starts PostgreSQL (seed schema, healthy), pgBouncer, Prometheus scraping an
exporter, chrony, and the HTTP test service on loopback, then runs the whole
preflight N times through the real CLI (a new process each time, as a pipeline
would) and in-process (checks only, no interpreter start-up).

    .venv/bin/python bench/preflight_wall_time.py [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.db_seed import create_database  # noqa: E402
from tests.exporter import JOB, Exporter  # noqa: E402
from tests.http_app import HttpApp, create_schema  # noqa: E402
from tests.integration.test_release_commands import write_config  # noqa: E402
from tests.services import Chrony, PgBouncer, Postgres, Prometheus, temp_root  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    roots = [temp_root("bench-pg-"), temp_root("bench-pgb-"), temp_root("bench-prom-"), temp_root("bench-ntp-")]
    postgres = Postgres(roots[0])
    postgres.start()
    postgres.psql("CREATE DATABASE cockpit_test")
    bouncer = PgBouncer(roots[1], postgres, "cockpit_test")
    prometheus = Prometheus(roots[2])
    chrony = Chrony(roots[3])
    exporter = Exporter()
    app = None
    try:
        bouncer.start()
        prometheus.start()
        chrony.start()
        exporter.start()
        exporter.value.labels(case="e2e").set(0.5)
        prometheus.add_target(exporter.address, JOB)
        create_database(postgres, "cockpit_e2e", broken=False)
        app = HttpApp(create_schema(postgres))
        app.start()
        prometheus.wait_for_data('cockpit_test_value{case="e2e"}')
        folder = Path(tempfile.mkdtemp(prefix="bench-release-"))
        config = write_config(
            folder,
            dsn=postgres.dsn("cockpit_e2e"),
            admin_dsn=bouncer.admin_dsn(),
            prometheus=prometheus.url,
            service=app.url,
            alertmanager="http://127.0.0.1:9",
            ntp=chrony.server,
        )
        env = {**os.environ, "COCKPIT_E2E_PW": "unused"}
        cli_times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "cockpit", "preflight", "v1.4.0", "--config", str(config), "--json"],
                cwd=folder, env=env, capture_output=True, text=True,
            )
            cli_times.append(time.perf_counter() - started)
        print(f"preflight via CLI (new process each run, {args.runs} runs): "
              f"median {statistics.median(cli_times):.2f}s, min {min(cli_times):.2f}s, max {max(cli_times):.2f}s, "
              f"last exit code {done.returncode}")

        from cockpit.checks.runner import CheckContext, run_checks
        from cockpit.config import load_config
        from cockpit.evidence import EvidenceStore

        os.environ["COCKPIT_E2E_PW"] = "unused"
        cfg = load_config(config)
        inproc = []
        for _ in range(args.runs):
            ctx = CheckContext(config=cfg, version="v1.4.0", evidence=EvidenceStore(folder / "evidence", "v1.4.0"))
            started = time.perf_counter()
            results = asyncio.run(run_checks(cfg.enabled_checks("preflight"), ctx))
            inproc.append(time.perf_counter() - started)
        slowest = max(results, key=lambda r: r.duration_s)
        print(f"preflight checks in-process ({len(results)} checks concurrently): "
              f"median {statistics.median(inproc) * 1000:.0f} ms; slowest check {slowest.id} {slowest.duration_s * 1000:.0f} ms")
        print("seed's budget: 60 s; target: < 3 s")
    finally:
        if app is not None:
            app.stop()
        exporter.stop()
        chrony.stop()
        prometheus.stop()
        bouncer.stop()
        postgres.stop()
        for root in roots:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
