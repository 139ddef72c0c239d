"""The default playbook's database checks against real PostgreSQL and pgBouncer: healthy, broken, unreachable.

A HEALTHY and a BROKEN database of the seed's schema (tests/db_seed.py) are
created once per session. The checks run through cockpit.checks.runner exactly
as `cockpit preflight` / `cockpit redteam` run them, from a cockpit.toml that
only sets the DSNs (and lowers the thresholds a test database cannot reach).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from cockpit.checks.runner import CheckContext, close_sources, run_check, run_checks
from cockpit.checks.specs import SqlSpec
from cockpit.config import CockpitConfig, PostgresConfig, load_config
from cockpit.evidence import EvidenceStore
from cockpit.results import CheckResult, Status
from cockpit.sources.postgres import PostgresSource
from tests.db_seed import BROKEN_DB, DEAD_TUPLES, HEALTHY_DB, create_database, ensure_role
from tests.services import PgBouncer, Postgres, free_port, free_udp_port, running, temp_root, wait_until

VERSION = "v1.4.0"
PASSWORD = "Zq8-sekret-Pw-417"

PREFLIGHT_DB = [
    "preflight.time_drift",
    "preflight.pgbouncer_saturation",
    "preflight.prisma_migrations",
    "preflight.sequences",
    "preflight.pg_bloat",
]
REDTEAM_DB = [
    "redteam.partial_unique_collation",
    "redteam.idempotency_ttl",
    "redteam.outbox_lag",
    "redteam.tick_alignment",
    "redteam.pgbouncer_leaks",
    "redteam.pitr",
    "redteam.tick_drift",
    "redteam.outbox_clock_skew",
]
DB_CHECKS = PREFLIGHT_DB + REDTEAM_DB


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def healthy_dsn(postgres: Postgres) -> str:
    return create_database(postgres, HEALTHY_DB, broken=False)


@pytest.fixture(scope="session")
def broken_dsn(postgres: Postgres) -> str:
    return create_database(postgres, BROKEN_DB, broken=True)


@pytest.fixture(scope="session")
def tight_bouncer(postgres: Postgres, broken_dsn: str) -> Iterator[PgBouncer]:
    """A pgBouncer of its own for the broken database, with pools of 2 servers a test can saturate."""
    with running(PgBouncer(temp_root("cockpit-pgb-tight-"), postgres, BROKEN_DB, pool_size=2)) as bouncer:
        yield bouncer


def _waiting_seconds(bouncer: PgBouncer) -> float:
    with psycopg.connect(bouncer.admin_dsn(), autocommit=True) as admin:
        cur = admin.execute("SHOW CLIENTS")
        names = [d.name for d in cur.description]
        waits = [
            float(r["wait"]) + float(r["wait_us"]) / 1e6
            for r in (dict(zip(names, row)) for row in cur.fetchall())
            if r["state"] == "waiting"
        ]
    return max(waits, default=0.0)


@pytest.fixture
def saturated_bouncer(tight_bouncer: PgBouncer) -> Iterator[PgBouncer]:
    """Both servers held by clients idle in a transaction, and one more client waiting for a server."""
    held = []
    for _ in range(2):
        conn = psycopg.connect(tight_bouncer.dsn(), connect_timeout=5)
        conn.execute("SELECT 1")  # opens a transaction and keeps it (and its server) open
        held.append(conn)
    answered: list[object] = []

    def wait_for_server() -> None:
        with psycopg.connect(tight_bouncer.dsn(), autocommit=True, connect_timeout=5) as conn:
            answered.append(conn.execute("SELECT 42").fetchone())

    waiter = threading.Thread(target=wait_for_server, daemon=True)
    waiter.start()
    # Every leak threshold the test sets is below 0.6 s: wait until the waiting client has waited that long.
    wait_until(lambda: _waiting_seconds(tight_bouncer) > 0.6, 10, "a client waiting in pgBouncer for 0.6s")
    try:
        yield tight_bouncer
    finally:
        for conn in held:
            conn.rollback()
            conn.close()
        waiter.join(10)
        assert answered == [(42,)], "the waiting client was never served"


def write_config(tmp_path: Path, dsn: str, admin_dsn: str, ntp: str, extra: str = "") -> CockpitConfig:
    """A cockpit.toml over the default playbook: the DSNs, the NTP server, a dead-tuple limit a test can reach."""
    path = tmp_path / "cockpit.toml"
    path.write_text(
        f"""
[postgres]
dsn = "{dsn}"
timeout = "2s"

[pgbouncer]
admin_dsn = "{admin_dsn}"
timeout = "2s"

[[checks]]
id = "preflight.time_drift"
ntp_server = "{ntp}"

[[checks]]
id = "preflight.pg_bloat"
max = {DEAD_TUPLES // 3}
warn_max = 100
{extra}
"""
    )
    return load_config(path)


async def run_db_checks(config: CockpitConfig, evidence_root: Path, ids: list[str], clock=None) -> dict[str, CheckResult]:
    """Run the named checks concurrently, as `cockpit preflight` does."""
    redactor = config.redactor()
    ctx = CheckContext(config=config, version=VERSION, evidence=EvidenceStore(evidence_root, VERSION, redactor), redactor=redactor)
    if clock is not None:
        ctx.clock = clock
    by_id = {c.id: c for c in config.checks}
    results = await run_checks([by_id[i] for i in ids], ctx)
    return {r.id: r for r in results}


def show(results: dict[str, CheckResult]) -> str:
    return "\n".join(f"{r.id}: {r.status.value}: {r.summary}" for r in results.values())


def everything_written(results: dict[str, CheckResult], evidence_dir: Path) -> str:
    texts = [r.model_dump_json() for r in results.values()]
    texts += [p.read_text(errors="replace") for p in evidence_dir.rglob("*") if p.is_file()]
    return "\n".join(texts)


# ---------------------------------------------------------------- healthy


async def test_healthy_database_passes_every_db_check(tmp_path, pgbouncer, healthy_dsn, ntp_server):
    # [postgres] goes through pgBouncer in transaction pooling, as in production.
    dsn = f"postgresql://postgres@127.0.0.1:{pgbouncer.port}/{HEALTHY_DB}"
    config = write_config(tmp_path, dsn, pgbouncer.admin_dsn(), ntp_server.server)
    results = await run_db_checks(config, tmp_path / "evidence", DB_CHECKS)

    for check_id in DB_CHECKS:
        if check_id == "redteam.pitr":
            continue
        assert results[check_id].status is Status.PASS, show(results)
    summaries = {i: r.summary for i, r in results.items()}
    assert summaries["preflight.prisma_migrations"] == "failed = 0 (max 0)"
    assert summaries["preflight.sequences"] == "anomalies = 0 (max 0)"
    assert summaries["redteam.outbox_lag"] == "lag_seconds = 0 s (warn above 10 s, max 60 s)"
    assert summaries["redteam.idempotency_ttl"] == "stale = 0 (max 0)"
    assert summaries["preflight.time_drift"].startswith("drift ")
    # The shared test server does not archive WAL: PITR is honestly not ready (archiving PASS is tested below).
    assert results["redteam.pitr"].status is Status.FAIL
    assert results["redteam.pitr"].summary == "archive_age = -1 s (min 0 s)"

    folder = tmp_path / "evidence" / VERSION
    prisma = (folder / f"prisma_status_{VERSION}.txt").read_text()
    # The evidence query shares the main evidence name: its rows win (one line per migration).
    assert prisma.splitlines()[0].split("\t") == [
        "migration_name", "started_at", "finished_at", "rolled_back_at", "applied_steps_count", "state"]
    assert prisma.count("\tapplied\n") == 4 and prisma.count("\trolled back\n") == 1
    pools = (folder / f"pgbouncer_pools_{VERSION}.tsv").read_text().splitlines()
    assert pools[0].startswith("database\tuser\tcl_active\tcl_waiting") and pools[0].endswith("pool_size\tcockpit_waiting\tcockpit_active\tutilisation")
    assert any(line.startswith(f"{HEALTHY_DB}\tpostgres\t") for line in pools[1:])
    for name in (f"sequences_{VERSION}.txt", "pg_dead_tuples_top5.txt", "pg_autovacuum_mem.txt",
                 f"time_drift_{VERSION}.txt", f"pgbouncer_leaks_{VERSION}.txt", f"outbox_lag_{VERSION}.txt"):
        assert (folder / name).stat().st_size > 0, name
    assert "autovacuum_naptime" in (folder / "pg_autovacuum_mem.txt").read_text()
    assert EvidenceStore(tmp_path / "evidence", VERSION).verify().added == []


# ---------------------------------------------------------------- broken


async def test_broken_database_fails_or_warns_every_db_check(tmp_path, postgres, broken_dsn, saturated_bouncer, ntp_server):
    extra = """
[[checks]]
id = "redteam.pgbouncer_leaks"
max_idle_in_transaction = "500ms"
max_server_connection_age = "500ms"
max_client_wait = "200ms"
"""
    config = write_config(tmp_path, broken_dsn, saturated_bouncer.admin_dsn(), ntp_server.server, extra)
    ids = [i for i in DB_CHECKS if i not in ("preflight.time_drift", "redteam.pitr")]
    results = await run_db_checks(config, tmp_path / "evidence", ids)

    expected = {
        "preflight.prisma_migrations": (Status.FAIL, "failed = 1 (max 0)"),
        "preflight.sequences": (Status.FAIL, "anomalies = 2 (max 0)"),
        "preflight.pg_bloat": (Status.FAIL, f"max_dead = {DEAD_TUPLES} dead tuples (max {DEAD_TUPLES // 3} dead tuples)"),
        "redteam.partial_unique_collation": (Status.FAIL, "risky = 1 (max 0)"),
        "redteam.idempotency_ttl": (Status.WARN, "stale = 1 (max 0)"),
        "redteam.tick_alignment": (Status.FAIL, "misaligned = 2 (max 0)"),
        "redteam.tick_drift": (Status.FAIL, "drifted = 1 (max 0)"),
    }
    for check_id, (status, summary) in expected.items():
        assert (results[check_id].status, results[check_id].summary) == (status, summary), show(results)
    lag = results["redteam.outbox_lag"]
    assert lag.status is Status.FAIL and lag.summary.endswith("s (max 60 s)")
    assert 599 < float(lag.summary.split(" = ")[1].split()[0]) < 900
    skew = results["redteam.outbox_clock_skew"]
    assert skew.status is Status.FAIL and skew.summary.endswith("s (max 5 s)")
    assert 3000 < float(skew.summary.split(" = ")[1].split()[0]) <= 3600

    pools = results["preflight.pgbouncer_saturation"]
    assert pools.status is Status.FAIL, pools.summary
    assert f"1 clients waiting (max 0; {BROKEN_DB}/postgres 1)" in pools.summary
    assert f"pool use 100% {BROKEN_DB}/postgres (2/2 servers active) > max 80%" in pools.summary

    leaks = results["redteam.pgbouncer_leaks"]
    assert leaks.status is Status.FAIL, leaks.summary
    assert "2 idle in transaction > 500ms" in leaks.summary
    assert "2 active servers held > 500ms" in leaks.summary
    assert "1 clients waiting > 200ms" in leaks.summary

    folder = tmp_path / "evidence" / VERSION
    prisma = (folder / f"prisma_status_{VERSION}.txt").read_text()
    failed = [line for line in prisma.splitlines() if line.endswith("\tFAILED")]
    assert len(failed) == 1 and failed[0].startswith("20240501000000_split_orders\t")
    sequences = (folder / f"sequences_{VERSION}.txt").read_text()
    assert "public\toutbox_id_seq\t" in sequences
    tsv = (folder / f"pgbouncer_pools_{VERSION}.tsv").read_text()
    broken_pool = [line for line in tsv.splitlines() if line.startswith(f"{BROKEN_DB}\tpostgres\t")]
    assert len(broken_pool) == 1 and broken_pool[0].startswith(f"{BROKEN_DB}\tpostgres\t2\t1\t")
    assert broken_pool[0].endswith("\t2\t0\t0\t1.0")  # pool_size 2, none of it the cockpit's, utilisation 100 %
    leak_report = (folder / f"pgbouncer_leaks_{VERSION}.txt").read_text()
    assert "## idle in transaction (pg_stat_activity): FAIL" in leak_report
    assert "## waiting clients (SHOW CLIENTS): FAIL" in leak_report
    assert (folder / f"decimal_tick_alignment_{VERSION}.txt").read_text() == "misaligned\n2\n"


async def test_pool_utilisation_alone_warns(tmp_path, postgres, broken_dsn, saturated_bouncer, ntp_server):
    extra = """
[[checks]]
id = "preflight.pgbouncer_saturation"
max_waiting_clients = 5
max_pool_utilisation = 1.0
warn_pool_utilisation = 0.5
"""
    config = write_config(tmp_path, broken_dsn, saturated_bouncer.admin_dsn(), ntp_server.server, extra)
    results = await run_db_checks(config, tmp_path / "evidence", ["preflight.pgbouncer_saturation"])
    result = results["preflight.pgbouncer_saturation"]
    assert result.status is Status.WARN, result.summary
    assert "1 waiting (max 5)" in result.summary and "> warn 50%" in result.summary


async def test_pool_saturation_stays_pass_while_the_runs_own_clients_log_in(tmp_path, pgbouncer, healthy_dsn):
    # The other checks of a run go through the same pgBouncer ([postgres] in transaction pooling) and, after
    # RECONNECT dropped its servers, wait for a server login at the moment the pools are read: the check
    # once took such a client for the service's own waiting one (a false FAIL in 2 of 8 runs).
    dsn = f"postgresql://postgres@127.0.0.1:{pgbouncer.port}/{HEALTHY_DB}"
    config = write_config(tmp_path, dsn, pgbouncer.admin_dsn(), "127.0.0.1:9")
    ids = ["preflight.pgbouncer_saturation", "preflight.prisma_migrations", "preflight.sequences", "preflight.pg_bloat"]
    seen = []
    for run in range(30):
        with psycopg.connect(pgbouncer.admin_dsn(), autocommit=True) as admin:
            admin.execute("RECONNECT")
        results = await run_db_checks(config, tmp_path / f"evidence-{run}", ids)
        pools = results["preflight.pgbouncer_saturation"]
        seen.append(pools.status)
        assert pools.status is Status.PASS, (run, pools.summary, pools.details)
        assert pools.summary.startswith("0 waiting (max 0)"), pools.summary
    assert seen == [Status.PASS] * 30


async def test_bloat_between_warn_and_max_warns(tmp_path, postgres, broken_dsn, pgbouncer, ntp_server):
    extra = f"""
[[checks]]
id = "preflight.pg_bloat"
max = {DEAD_TUPLES * 10}
warn_max = {DEAD_TUPLES // 3}
"""
    config = write_config(tmp_path, broken_dsn, pgbouncer.admin_dsn(), ntp_server.server, extra)
    result = (await run_db_checks(config, tmp_path / "evidence", ["preflight.pg_bloat"]))["preflight.pg_bloat"]
    assert result.status is Status.WARN
    assert result.summary == (f"max_dead = {DEAD_TUPLES} dead tuples "
                              f"(warn above {DEAD_TUPLES // 3} dead tuples, max {DEAD_TUPLES * 10} dead tuples)")
    top5 = (tmp_path / "evidence" / VERSION / "pg_dead_tuples_top5.txt").read_text().splitlines()
    assert top5[1].startswith("public\toutbox\t") and f"\t{DEAD_TUPLES}\t" in top5[1]


# ---------------------------------------------------------------- PITR on an archiving cluster


@pytest.fixture(scope="module")
def archiving_postgres() -> Iterator[Postgres]:
    """A PostgreSQL of its own with WAL archiving on (the shared one must not be restarted)."""
    with running(Postgres(temp_root("cockpit-pg-archive-"))) as server:
        archive = server.root / "archive"
        archive.mkdir()
        if os.geteuid() == 0:  # the server runs as postgres and writes the archive
            shutil.chown(archive, "postgres", "postgres")
        server.psql("ALTER SYSTEM SET archive_mode = 'on'")
        server.psql(f"ALTER SYSTEM SET archive_command = 'cp %p {archive}/%f'")
        server.stop()
        server.start()
        server.psql("CREATE TABLE wal_filler AS SELECT generate_series(1, 1000) AS n")
        server.psql("SELECT pg_switch_wal()")
        wait_until(lambda: server.psql("SELECT last_archived_time IS NOT NULL FROM pg_stat_archiver").strip() == "t",
                   15, "a WAL segment to be archived")
        yield server


async def test_pitr_passes_when_wal_was_archived_recently(tmp_path, archiving_postgres, pgbouncer, ntp_server):
    config = write_config(tmp_path, archiving_postgres.dsn(), pgbouncer.admin_dsn(), ntp_server.server)
    result = (await run_db_checks(config, tmp_path / "evidence", ["redteam.pitr"]))["redteam.pitr"]
    assert result.status is Status.PASS, result.summary
    assert result.summary.startswith("archive_age = ") and result.summary.endswith("(min 0 s, warn above 900 s, max 3600 s)")
    pitr = (tmp_path / "evidence" / VERSION / f"pitr_{VERSION}.txt").read_text()
    assert pitr.splitlines()[1].startswith("on\tcp %p ")


# ---------------------------------------------------------------- cannot look: UNKNOWN, never PASS


async def test_unreachable_services_are_unknown_and_keep_the_password_out(tmp_path):
    pg_port, bouncer_port, ntp_port = free_port(), free_port(), free_udp_port()
    dsn = f"postgresql://cockpit:{PASSWORD}@127.0.0.1:{pg_port}/trading"
    admin = f"postgresql://cockpit:{PASSWORD}@127.0.0.1:{bouncer_port}/pgbouncer"
    config = write_config(tmp_path, dsn, admin, f"127.0.0.1:{ntp_port}")
    started = time.perf_counter()
    results = await run_db_checks(config, tmp_path / "evidence", DB_CHECKS)
    assert time.perf_counter() - started < 3.0  # refused at once, not after a timeout

    for check_id in DB_CHECKS:
        assert results[check_id].status is Status.UNKNOWN, show(results)
    for check_id in ("preflight.prisma_migrations", "preflight.sequences", "redteam.outbox_lag", "redteam.pitr"):
        assert results[check_id].summary == f"cannot connect to PostgreSQL at 127.0.0.1:{pg_port}: connection refused"
    assert results["preflight.pgbouncer_saturation"].summary == (
        f"cannot connect to pgBouncer at 127.0.0.1:{bouncer_port}: connection refused")
    leaks = results["redteam.pgbouncer_leaks"].summary
    assert f"PostgreSQL at 127.0.0.1:{pg_port}" in leaks and f"pgBouncer at 127.0.0.1:{bouncer_port}" in leaks
    drift = results["preflight.time_drift"].summary
    assert drift.startswith("could not measure local vs NTP: NTP server 127.0.0.1:")
    assert f"local vs database: cannot connect to PostgreSQL at 127.0.0.1:{pg_port}" in drift
    assert PASSWORD not in everything_written(results, tmp_path / "evidence")


async def test_a_server_that_never_answers_times_out_as_unknown(tmp_path):
    # A socket that listens but never speaks: the TCP handshake succeeds, the protocol never starts.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        dsn = f"postgresql://cockpit:{PASSWORD}@127.0.0.1:{port}/trading"
        admin = f"postgresql://cockpit:{PASSWORD}@127.0.0.1:{port}/pgbouncer"
        config = write_config(tmp_path, dsn, admin, "127.0.0.1:9")
        config = config.model_copy(update={
            "postgres": config.postgres.model_copy(update={"timeout": 0.5}),
            "pgbouncer": config.pgbouncer.model_copy(update={"timeout": 0.5}),
        })
        started = time.perf_counter()
        results = await run_db_checks(config, tmp_path / "evidence", ["preflight.prisma_migrations", "preflight.pgbouncer_saturation"])
        elapsed = time.perf_counter() - started
    assert results["preflight.prisma_migrations"].status is Status.UNKNOWN
    assert results["preflight.prisma_migrations"].summary == f"PostgreSQL at 127.0.0.1:{port} did not answer within 0.5s"
    assert results["preflight.pgbouncer_saturation"].status is Status.UNKNOWN
    assert results["preflight.pgbouncer_saturation"].summary == f"pgBouncer at 127.0.0.1:{port} did not answer within 0.5s"
    assert elapsed < 2.5
    assert PASSWORD not in everything_written(results, tmp_path / "evidence")


async def test_pg_monitor_role_cannot_read_migrations_and_says_which_grant(tmp_path, postgres, broken_dsn, pgbouncer, ntp_server):
    ensure_role(postgres, "cockpit_monitor", PASSWORD, member_of="pg_monitor")
    dsn = f"postgresql://cockpit_monitor:{PASSWORD}@127.0.0.1:{postgres.port}/{BROKEN_DB}"
    config = write_config(tmp_path, dsn, pgbouncer.admin_dsn(), ntp_server.server)
    ids = ["preflight.prisma_migrations", "preflight.sequences", "preflight.pg_bloat", "redteam.pgbouncer_leaks"]
    results = await run_db_checks(config, tmp_path / "evidence", ids)

    prisma = results["preflight.prisma_migrations"]
    assert prisma.status is Status.UNKNOWN
    assert prisma.summary == (
        "permission denied for table _prisma_migrations: grant SELECT to the cockpit's role "
        "(GRANT SELECT ON _prisma_migrations TO cockpit_monitor)")
    sequences = results["preflight.sequences"]
    assert sequences.status is Status.UNKNOWN
    assert sequences.summary.startswith("cannot read some sequences: grant SELECT on them")
    # pg_monitor is enough for the statistics views: these checks do look.
    assert results["preflight.pg_bloat"].status is Status.FAIL
    assert results["redteam.pgbouncer_leaks"].status is Status.PASS, results["redteam.pgbouncer_leaks"].summary
    assert PASSWORD not in everything_written(results, tmp_path / "evidence")


async def test_leak_check_without_pg_monitor_is_unknown_not_pass(tmp_path, postgres, healthy_dsn, pgbouncer, ntp_server):
    ensure_role(postgres, "cockpit_plain", PASSWORD, member_of=None)
    dsn = f"postgresql://cockpit_plain:{PASSWORD}@127.0.0.1:{postgres.port}/{HEALTHY_DB}"
    config = write_config(tmp_path, dsn, pgbouncer.admin_dsn(), ntp_server.server)
    with psycopg.connect(healthy_dsn):  # another role's session that cockpit_plain cannot see into
        results = await run_db_checks(config, tmp_path / "evidence", ["redteam.pgbouncer_leaks"])
    result = results["redteam.pgbouncer_leaks"]
    assert result.status is Status.UNKNOWN, result.summary
    assert result.summary.startswith("idle in transaction: could not look: ")
    assert "hidden from cockpit_plain: grant pg_monitor (or pg_read_all_stats)" in result.summary


# ---------------------------------------------------------------- the sql kind's own edges


def _sql(check_id: str, **fields) -> SqlSpec:
    return SqlSpec(id=check_id, title=check_id, phase="redteam", kind="sql", **fields)


async def _run_specs(tmp_path: Path, config: CockpitConfig, specs: list) -> dict[str, CheckResult]:
    redactor = config.redactor()
    ctx = CheckContext(config=config, version=VERSION, evidence=EvidenceStore(tmp_path / "ev", VERSION, redactor), redactor=redactor)
    try:
        return {spec.id: await run_check(spec, ctx) for spec in specs}
    finally:
        await close_sources(ctx)


async def test_sql_edges_are_unknown_with_the_reason(tmp_path, postgres, healthy_dsn, pgbouncer):
    config = load_config(None).model_copy(update={"postgres": PostgresConfig(dsn=healthy_dsn, timeout=2)})
    specs = [
        _sql("t.missing", query="SELECT count(*) FROM no_such_table"),
        _sql("t.null", query="SELECT NULL::int AS value", max=0),
        _sql("t.norows", query="SELECT id FROM orders WHERE false", max=0),
        _sql("t.nocolumn", query="SELECT 1 AS a", column="b", max=0),
        _sql("t.text", query="SELECT 'many' AS n", max=0),
        _sql("t.rows", query="SELECT symbol FROM instruments ORDER BY symbol", measure="row_count", min=5, evidence="instruments.tsv"),
        _sql("t.warnmin", query="SELECT 3 AS free", warn_min=5, min=1),
        _sql("t.bouncer", target="pgbouncer", query="SHOW POOLS", measure="row_count", min=1),
    ]
    results = await _run_specs(tmp_path, config, specs)
    assert (results["t.missing"].status, results["t.missing"].summary) == (
        Status.UNKNOWN, f'relation "no_such_table" does not exist (in database {HEALTHY_DB} at 127.0.0.1:{postgres.port})')
    assert (results["t.null"].status, results["t.null"].summary) == (Status.UNKNOWN, "value is NULL")
    assert (results["t.norows"].status, results["t.norows"].summary) == (Status.UNKNOWN, "the query returned no rows")
    assert results["t.nocolumn"].status is Status.UNKNOWN and "no column 'b' (columns: a)" in results["t.nocolumn"].summary
    assert results["t.text"].status is Status.UNKNOWN and "is not a number" in results["t.text"].summary
    assert (results["t.rows"].status, results["t.rows"].summary) == (Status.FAIL, "rows = 3 (min 5)")
    assert (tmp_path / "ev" / VERSION / "instruments.tsv").read_text() == "symbol\nBTC-USD\nETH-USD\nEUR-USD\n"
    assert results["t.warnmin"].status is Status.WARN
    assert (results["t.bouncer"].status, results["t.bouncer"].summary) == (Status.UNKNOWN, NO_PGBOUNCER_TEXT)
    # An empty result still writes its column header as evidence.
    assert (tmp_path / "ev" / VERSION / f"t.norows_{VERSION}.tsv").read_text() == "id\n"

    with_bouncer = config.model_copy(update={"pgbouncer": _bouncer_config(pgbouncer)})
    result = (await _run_specs(tmp_path, with_bouncer, [specs[-1]]))["t.bouncer"]
    assert result.status is Status.PASS and result.summary.startswith("rows = ")


NO_PGBOUNCER_TEXT = "no [pgbouncer] section in cockpit.toml (add its admin_dsn): pgBouncer cannot be asked"


def _bouncer_config(pgbouncer: PgBouncer):
    from cockpit.config import PgBouncerConfig

    return PgBouncerConfig(admin_dsn=pgbouncer.admin_dsn(), timeout=2)


async def test_missing_postgres_section_is_unknown_naming_it(tmp_path):
    config = load_config(None)
    by_id = {c.id: c for c in config.checks}
    results = await _run_specs(tmp_path, config, [by_id["preflight.prisma_migrations"], by_id["redteam.pgbouncer_leaks"],
                                                  by_id["preflight.pgbouncer_saturation"]])
    assert results["preflight.prisma_migrations"].status is Status.UNKNOWN
    assert results["preflight.prisma_migrations"].summary.startswith("no [postgres] section in cockpit.toml")
    assert results["preflight.pgbouncer_saturation"].summary.startswith("no [pgbouncer] section in cockpit.toml")
    assert results["redteam.pgbouncer_leaks"].status is Status.UNKNOWN


async def test_source_survives_concurrency_through_transaction_pooling(pgbouncer, healthy_dsn):
    dsn = f"postgresql://postgres@127.0.0.1:{pgbouncer.port}/{HEALTHY_DB}"
    source = PostgresSource(PostgresConfig(dsn=dsn, timeout=2))
    try:
        answers = await asyncio.gather(*(source.fetch("SELECT $1::int * 2 AS n", i) for i in range(40)))
    finally:
        await source.aclose()
    assert [a.rows[0][0] for a in answers] == [i * 2 for i in range(40)]
