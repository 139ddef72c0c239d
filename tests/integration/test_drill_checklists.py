"""The drill rehearses the whole run-of-show: its preflight, blast radius and red team run for real against the
drill's simulated service (real HTTP), its Prometheus and a throwaway PostgreSQL + pgBouncer holding the seed's schema."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.checks.runner import CheckContext, close_sources
from cockpit.drill.database import NOT_INSTALLED, missing_programs
from cockpit.drill.environment import NO_PROMETHEUS, DrillEnvironment, run_drill_check
from cockpit.drill.prometheus import prometheus_binary
from cockpit.evidence import EvidenceStore
from cockpit.results import Status

VERSION = "v0.0.0-drill"
PHASES = ("preflight", "blast", "redteam", "artifacts")
needs_database = pytest.mark.skipif(bool(missing_programs()), reason="PostgreSQL/pgBouncer not installed")
needs_prometheus = pytest.mark.skipif(prometheus_binary() is None, reason="prometheus not installed")


def run_all(environment: DrillEnvironment, root: Path) -> dict[str, object]:
    """Every pre-T-0 check of the drill's config, concurrently, as the drill screen runs them: id -> CheckResult."""
    config = environment.config()
    store = EvidenceStore(root, VERSION, config.redactor())
    ctx = CheckContext(config=config, version=VERSION, evidence=store, redactor=config.redactor())
    specs = [s for s in config.checks if s.phase in PHASES]

    async def go() -> list[object]:
        try:
            return list(await asyncio.gather(*(run_drill_check(environment, s, ctx) for s in specs)))
        finally:
            await close_sources(ctx)

    return {r.id: r for r in asyncio.run(go())}


@pytest.fixture
def drill(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DrillEnvironment]:
    """A started drill environment for the scenario the test is parametrized with (indirect), default healthy."""
    environment = DrillEnvironment(getattr(request, "param", "healthy"), tmp_path)
    environment.config()
    environment.start()
    environment.launch_prometheus()
    try:
        yield environment
    finally:
        environment.close()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@needs_database
@needs_prometheus
def test_a_healthy_drill_turns_every_pre_t0_check_green(drill: DrillEnvironment, tmp_path: Path) -> None:
    results = run_all(drill, tmp_path)
    assert len(results) == 28  # 11 preflight (the signals probe too), the blast radius, 15 red team, the artifacts
    not_green = {i: f"{r.status.value}: {r.summary}" for i, r in results.items() if r.status is not Status.PASS}
    assert not_green == {}
    # Exactly one effect for 20 requests with one key: counted in the drill's PostgreSQL by the check itself.
    assert "1 effect" in results["redteam.idempotency_burst"].summary
    assert "429" in results["redteam.csp_report_flood"].summary  # the report endpoint's rate limit
    blast = results["blast.micro"].summary
    assert "api:" in blast and "ws:" in blast and "prom:" in blast  # the WebSocket echo and the canary's PromQL
    assert (tmp_path / VERSION / "micro_ws_v0.0.0-drill.log").exists()
    # The database is stopped when the drill ends.
    database = drill.database
    assert database is not None and _port_open(database.pg_port) and _port_open(database.bouncer_port)
    drill.close()
    assert not _port_open(database.pg_port) and not _port_open(database.bouncer_port)


@needs_database
@needs_prometheus
@pytest.mark.parametrize("drill", ["preflight_nogo"], indirect=True)
def test_a_scenario_injects_pre_t0_faults_the_preflight_finds(drill: DrillEnvironment, tmp_path: Path) -> None:
    results = run_all(drill, tmp_path)
    failed = {i for i, r in results.items() if r.status is Status.FAIL}
    assert failed == {"preflight.prisma_migrations", "preflight.sequences", "preflight.csp_headers"}
    assert "Strict-Transport-Security" in results["preflight.csp_headers"].summary
    assert results["preflight.prom_targets"].status is Status.PASS  # the rest of the drill is healthy


def test_without_postgresql_or_prometheus_their_checks_say_so_and_are_never_green(tmp_path: Path) -> None:
    empty = tmp_path / "no-programs"
    empty.mkdir()
    environment = DrillEnvironment("healthy", tmp_path, use_prometheus=False, database_path=str(empty))
    environment.config()
    environment.start()
    try:
        results = run_all(environment, tmp_path)
    finally:
        environment.close()
    database_checks = {"preflight.prisma_migrations", "preflight.sequences", "preflight.pgbouncer_saturation",
                       "preflight.time_drift", "redteam.pitr", "redteam.idempotency_burst", "redteam.pgbouncer_leaks"}
    for check in database_checks:
        assert results[check].status is Status.UNKNOWN, check
        assert results[check].summary.startswith(NOT_INSTALLED), results[check].summary
    assert NOT_INSTALLED == "drill: PostgreSQL not installed here: apt-get install postgresql pgbouncer"
    for check in ("preflight.prom_targets", "preflight.baseline", "blast.micro"):
        assert results[check].status is Status.UNKNOWN and results[check].summary == NO_PROMETHEUS
    # What needs neither still runs for real against the simulated service's HTTP pages.
    for check in ("preflight.csp_headers", "redteam.coep_coop", "redteam.csp_report_flood", "redteam.hsts_preload"):
        assert results[check].status is Status.PASS, (check, results[check].summary)
