"""What the drill rehearses before T-0: the simulated service, its Prometheus and database, and the config the checks read.

    environment = DrillEnvironment("healthy", root)   # picks its ports; nothing runs yet
    config = environment.config()                      # the checks' config: every section points at the drill
    environment.start()                                # the simulator; the database starts in the background
    environment.launch_prometheus()                    # from the event loop's thread (see DrillPrometheus.launch)
    reason = await environment.ready_for(spec)         # None, or why this check cannot run in this drill

The preflight and red-team checks run for real against it: the HTTP checks
against the simulator's pages, the Prometheus checks against a real Prometheus
scraping it (when `prometheus` is installed), the database checks against a
throwaway PostgreSQL and pgBouncer holding the seed's schema (when installed).
What is not installed is UNKNOWN with a line saying so, never PASS. A scenario's
`[before_t0]` faults are put into the page and the database.

Two things differ from a release, on purpose: the time-drift check compares the
local clock with the drill's database only (no NTP server: the drill makes no
network call off the machine), and the blast radius runs 5 s instead of 30 s.
The SBOM and the artifact list are files the drill writes for its release.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from cockpit.drill.configuration import drill_config_data
from cockpit.drill.database import DrillDatabase
from cockpit.drill.prometheus import DrillPrometheus, free_port, prometheus_binary
from cockpit.drill.service_pages import FLAGS

READY_QUERY = 'sum(rate(http_requests_total{track="stable"}[5s]))'  # as the drill session waits for
NO_PROMETHEUS = "drill: Prometheus not installed here: apt-get install prometheus"
PROMETHEUS_STARTING = "drill: Prometheus is starting"
BLAST_SECONDS = 5.0
DB_KINDS = frozenset({"sql", "pgbouncer_pools", "pgbouncer_leaks"})
PROM_KINDS = frozenset({"prom_targets", "baseline", "promql", "signals_probe"})
ARTIFACTS = ("CHANGELOG.md", "sbom.cdx.json", "rollback.md")


def needs(spec: Any) -> set[str]:
    """What a check reads from the drill: "database" and/or "prometheus"."""
    wanted = set()
    if spec.kind in DB_KINDS or (spec.kind == "clock_drift" and getattr(spec, "use_database", False)):
        wanted.add("database")
    if spec.kind == "http_burst" and getattr(spec, "effect_query", None):
        wanted.add("database")
    if spec.kind in PROM_KINDS or (spec.kind == "blast_radius" and "prom" in getattr(spec, "parts", [])):
        wanted.add("prometheus")
    return wanted


def _sbom(licence: str) -> str:
    component = {"type": "library", "name": "left-pad", "version": "1.3.0", "licenses": [{"license": {"id": licence}}]}
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [component]}, indent=2) + "\n"


class DrillEnvironment:
    """The drill's service, Prometheus and database, and its checks' config; `close()` stops them all."""

    def __init__(self, scenario: str | None, root: Path, *, use_prometheus: bool | None = None,
                 database_path: str | None = None) -> None:
        """use_prometheus None: when a prometheus binary is on PATH; database_path: where initdb/pgbouncer are looked for."""
        self.scenario_name = scenario
        self.database_path = database_path
        self.root = Path(root)
        self.files = self.root / "drill-release"  # the release's own files: SBOMs, the artifact list
        self.simulator_port = free_port()
        self.prometheus_port = free_port()
        self.has_prometheus = prometheus_binary() is not None if use_prometheus is None else use_prometheus
        self.simulator: Any = None
        self.prometheus: DrillPrometheus | None = None
        self.prometheus_problem: str | None = None if self.has_prometheus else NO_PROMETHEUS
        self.prometheus_ready = False
        self.database: DrillDatabase | None = None
        self._scenario: Any = None
        self._config: Any = None

    @property
    def scenario(self) -> Any:
        if self._scenario is None:
            from cockpit.drill.scenario import load_scenario

            self._scenario = load_scenario(self.scenario_name)
        return self._scenario

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator_port}"

    @property
    def prometheus_url(self) -> str | None:
        return f"http://127.0.0.1:{self.prometheus_port}" if self.has_prometheus else None

    def database_for_config(self) -> DrillDatabase:
        """The database object (its ports fixed), created before it starts so the config can name it."""
        if self.database is None:
            faults = self.scenario.before_t0
            self.database = DrillDatabase(failed_migration=faults.failed_migration,
                                          sequence_near_end=faults.sequence_near_end, path=self.database_path)
        return self.database

    def config_data(self) -> dict[str, Any]:
        """The checks' config as TOML-shaped data: the drill's canary config plus every section the checks read."""
        data = drill_config_data(simulator_url=self.simulator_url, prometheus_url=self.prometheus_url,
                                 evidence_dir=str(self.root))
        database = self.database_for_config()
        url = self.simulator_url
        data["service"] = {"canary_url": f"{url}/", "stable_url": f"{url}/",
                           "ws_url": f"ws://127.0.0.1:{self.simulator_port}/ws"}
        data["postgres"] = {"dsn": database.dsn}
        data["pgbouncer"] = {"admin_dsn": database.admin_dsn}
        data["alertmanager"] = {"url": url}  # the simulator answers /api/v2/silences: nothing silenced
        data["checks"] = [
            {"id": "preflight.identity", "commit": "drill"},
            {"id": "preflight.time_drift", "ntp_server": None},
            {"id": "preflight.feature_flags", "source": f"{url}/flags", "expect": dict(FLAGS)},
            {"id": "redteam.sbom_attached", "path": str(self.files / "sbom.cdx.json")},
            {"id": "redteam.sbom_license_drift", "path": str(self.files / "sbom.cdx.json"),
             "previous": str(self.files / "sbom.previous.cdx.json")},
            {"id": "artifacts.completeness", "base_dir": str(self.files), "manifest": "release-artifacts.txt"},
            {"id": "blast.micro", "duration": BLAST_SECONDS},
        ]
        return data

    def config(self) -> Any:
        """The validated config the drill's checks run with (built once)."""
        if self._config is None:
            from cockpit.config import default_playbook, merge_tables, validate_config

            # The playbook's checks, with the drill's few overrides (same id, only the keys named).
            data = merge_tables(default_playbook(), self.config_data())
            self._config = validate_config(data, "(drill configuration)")
        return self._config

    def start(self) -> DrillEnvironment:
        """The release's files, the simulated service (at once) and the database (in the background)."""
        from cockpit.drill.simulator import Simulator

        self.files.mkdir(parents=True, exist_ok=True)
        (self.files / "sbom.cdx.json").write_text(_sbom("MIT"))
        (self.files / "sbom.previous.cdx.json").write_text(_sbom("MIT"))
        (self.files / "CHANGELOG.md").write_text("# DRILL release\n\n- the drill's simulated change\n")
        (self.files / "rollback.md").write_text("# Rollback\n\nctrl+r in the cockpit; the drill's traffic command.\n")
        (self.files / "release-artifacts.txt").write_text("\n".join(ARTIFACTS) + "\n")
        self.simulator = Simulator(self.scenario).start(port=self.simulator_port)
        database = self.database_for_config()
        database.start_in_background()
        self.simulator.pages.orders_dsn = lambda: database.dsn if database.ready else None
        return self

    def launch_prometheus(self) -> None:
        """Start Prometheus scraping the simulator (returns at once; `wait_prometheus` in a thread)."""
        if not self.has_prometheus or self.simulator is None or self.prometheus is not None:
            return
        from cockpit.drill.prometheus import DrillPrometheusError

        self.prometheus = DrillPrometheus(self.simulator.address, port=self.prometheus_port)
        try:
            self.prometheus.launch()
        except DrillPrometheusError as exc:
            self.prometheus_problem = f"drill: {exc}"

    def wait_prometheus(self, timeout: float = 30.0) -> bool:
        """Wait until Prometheus is ready and has scraped the simulator (blocking)."""
        deadline = time.monotonic() + timeout
        # The App launches it once the config has loaded; a check started in between waits for the launch.
        while self.prometheus is None and self.prometheus_problem is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.prometheus is None or self.prometheus_problem is not None:
            return False
        if not self.prometheus.wait_ready(timeout):
            self.prometheus_problem = f"drill: Prometheus did not become ready: {self.prometheus.last_log_line()}"
            return False
        # A rate over the signals' window: the baseline has values once this does.
        if not self.prometheus.wait_for_data(READY_QUERY, timeout):
            self.prometheus_problem = "drill: Prometheus had no data from the simulated service"
            return False
        self.prometheus_ready = True
        return True

    async def ready_for(self, spec: Any, timeout: float = 120.0) -> str | None:
        """Wait for what the check reads; None when it is there, else why not (one line)."""
        wanted = needs(spec)
        if "database" in wanted:
            database = self.database_for_config()
            if not await asyncio.to_thread(database.wait, timeout):
                return database.problem or "drill: the database did not start in time"
        if "prometheus" in wanted:
            if self.prometheus_problem is not None:
                return self.prometheus_problem
            if not self.prometheus_ready and not await asyncio.to_thread(self.wait_prometheus, timeout):
                return self.prometheus_problem or PROMETHEUS_STARTING
        return None

    def state(self) -> str:
        """Where the drill's parts stand, in one line."""
        database = self.database.state if self.database is not None else "drill: no database"
        prometheus = (self.prometheus_problem or ("Prometheus ready" if self.prometheus_ready else PROMETHEUS_STARTING))
        return f"{database}; {prometheus.removeprefix('drill: ')}"

    def close(self) -> None:
        """Stop Prometheus, the database and the simulator (idempotent); the evidence and the release's files stay."""
        if self.prometheus is not None:
            self.prometheus.close()
            self.prometheus = None
        if self.database is not None:
            self.database.stop()
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None


async def run_drill_check(environment: DrillEnvironment, spec: Any, ctx: Any, say: Any = None) -> Any:
    """One check in the drill: once what it reads is up; UNKNOWN with the reason when it cannot be (never PASS)."""
    from cockpit.checks.runner import run_check

    wanted = needs(spec)
    if say is not None and "database" in wanted and environment.database is not None and not environment.database.wait(0):
        say(f"{spec.title}: waiting for the drill's database ({environment.database.state.removeprefix('drill: ')})")
    started = ctx.clock.now()
    why = await environment.ready_for(spec)
    if why is None:
        return await run_check(spec, ctx)
    from cockpit.clock import iso_utc
    from cockpit.results import CheckResult, Status

    return CheckResult(id=spec.id, title=spec.title, phase=spec.phase, kind=spec.kind, status=Status.UNKNOWN,
                       summary=why, details=[], evidence=[], duration_s=round(ctx.clock.now() - started, 4),
                       started_at=iso_utc(started))
