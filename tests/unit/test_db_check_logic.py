"""Pure parts of the database checks: limits, measures, pools, console times, DSNs, error wording, TSV."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest

from cockpit.checks.clock_drift import Comparison, compare, judge_offset, show_offset
from cockpit.checks.identity import seal
from cockpit.checks.pgbouncer import (
    held_servers,
    judge_pools,
    own_connections,
    parse_console_time,
    pool_sizes,
    pool_uses,
    waiting_clients,
)
from cockpit.checks.specs import ClockDriftSpec, PgBouncerPoolsSpec, SqlSpec
from cockpit.checks.sql import format_number, judge, limits_text, measure
from cockpit.results import Status
from cockpit.sources.pgbouncer import number
from cockpit.sources.postgres import describe_error, dsn_parts, permission_hint
from cockpit.sources.rows import Rows


def sql_spec(**fields) -> SqlSpec:
    return SqlSpec(id="t", title="t", phase="redteam", kind="sql", query="SELECT 1", **fields)


# ---------------------------------------------------------------- sql: limits and measures


@pytest.mark.parametrize(
    ("value", "fields", "status", "limit"),
    [
        (0, {"max": 0}, Status.PASS, "max 0"),
        (2, {"max": 0}, Status.FAIL, "max 0"),
        (2, {"max": 0, "severity": "WARN"}, Status.WARN, "max 0"),
        (11, {"max": 60, "warn_max": 10, "unit": "s"}, Status.WARN, "warn above 10 s, max 60 s"),
        (61, {"max": 60, "warn_max": 10, "unit": "s"}, Status.FAIL, "max 60 s"),
        (-1, {"min": 0, "max": 3600}, Status.FAIL, "min 0"),
        (3, {"min": 1, "warn_min": 5}, Status.WARN, "min 1, warn below 5"),
        (10, {"max": 10}, Status.PASS, "max 10"),  # at the limit is within it
        (7, {}, Status.PASS, "no limit: recorded only"),
    ],
)
def test_judge(value, fields, status, limit):
    assert judge(value, sql_spec(**fields)) == (status, limit)


def test_limits_text_lists_every_limit_in_order():
    assert limits_text(sql_spec(min=0, warn_min=1, warn_max=900, max=3600, unit="s")) == (
        "min 0 s, warn below 1 s, warn above 900 s, max 3600 s")


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (2.0, "2"), (1_000_000, "1000000"), (0.1234, "0.123"), (599.9996, "600"), (1e-9, "0"), (-0.5, "-0.5")],
)
def test_format_number_never_uses_exponents(value, text):
    assert format_number(value) == text


def test_measure_value_row_count_and_what_goes_wrong():
    rows = Rows(["unreadable", "anomalies"], [(0, Decimal("2"))])
    assert measure(rows, sql_spec(column="anomalies")) == ("anomalies", 2.0, None)
    assert measure(rows, sql_spec()) == ("unreadable", 0.0, None)
    assert measure(rows, sql_spec(measure="row_count")) == ("rows", 1.0, None)
    assert measure(Rows(["v"], [(None,)]), sql_spec()) == ("v", None, "v is NULL")
    assert measure(Rows(["v"], []), sql_spec()) == ("v", None, "the query returned no rows")
    assert measure(Rows(["v"], []), sql_spec(measure="row_count")) == ("rows", 0.0, None)
    assert measure(rows, sql_spec(column="x"))[2] == "the query has no column 'x' (columns: unreadable, anomalies)"
    assert measure(Rows(["v"], [("abc",)]), sql_spec())[2] == "v = 'abc' is not a number"
    assert measure(Rows(["v"], [(float("nan"),)]), sql_spec())[2] == "v is nan (not a finite number)"
    assert measure(Rows(["v"], [(True,)]), sql_spec())[1] == 1.0


def test_rows_tsv_keeps_decimals_nulls_and_escapes():
    rows = Rows(
        ["price", "note", "at", "gone"],
        [(Decimal("100.030"), "a\tb\nc", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), None)],
    )
    assert rows.to_tsv() == "price\tnote\tat\tgone\n100.030\ta\\tb\\nc\t2026-01-02T03:04:05+00:00\tNULL\n"
    assert Rows.from_dicts([{"a": 1, "b": 2}, {"a": 3}]).rows == [(1, 2), (3, None)]


# ---------------------------------------------------------------- pgBouncer


def pools_spec(**fields) -> PgBouncerPoolsSpec:
    return PgBouncerPoolsSpec(id="p", title="p", phase="preflight", kind="pgbouncer_pools", **fields)


def pool(database: str, waiting: int, active: int, user: str = "app") -> dict:
    return {"database": database, "user": user, "cl_waiting": Decimal(waiting), "sv_active": Decimal(active)}


def test_pool_sizes_come_from_show_databases_then_the_default():
    sizes, default = pool_sizes(
        [{"name": "trading", "pool_size": 20}, {"name": "reports", "pool_size": 0}],
        [{"key": "default_pool_size", "value": "25"}, {"key": "max_client_conn", "value": "100"}],
    )
    assert (sizes, default) == ({"trading": 20}, 25)
    uses = pool_uses([pool("trading", 0, 10), pool("reports", 0, 5), pool("pgbouncer", 0, 0, "pgbouncer")], sizes, default)
    assert [(u.name, u.size, u.utilisation) for u in uses] == [("trading/app", 20, 0.5), ("reports/app", 25, 0.2)]


@pytest.mark.parametrize(
    ("pools", "fields", "status"),
    [
        ([pool("db", 0, 5)], {}, Status.PASS),
        ([pool("db", 0, 15)], {}, Status.WARN),  # 75 %
        ([pool("db", 0, 17)], {}, Status.FAIL),  # 85 %
        ([pool("db", 1, 0)], {}, Status.FAIL),
        ([pool("db", 1, 0)], {"max_waiting_clients": 1}, Status.PASS),
        ([], {}, Status.PASS),
    ],
)
def test_judge_pools(pools, fields, status):
    uses = pool_uses(pools, {"db": 20}, None)
    assert judge_pools(uses, pools_spec(**fields)).status is status


def test_a_pool_of_unknown_size_is_unknown_not_pass():
    outcome = judge_pools(pool_uses([pool("db", 0, 3)], {}, None), pools_spec())
    assert outcome.status is Status.UNKNOWN and "pool size unknown for db/app" in outcome.summary


def test_the_cockpits_own_connections_are_not_the_services_load():
    clients = [
        {"database": "db", "user": "app", "state": "waiting", "application_name": "release-cockpit", "link": ""},
        {"database": "db", "user": "app", "state": "active", "application_name": "release-cockpit", "link": "0x1"},
        {"database": "db", "user": "app", "state": "waiting", "application_name": "api", "link": ""},
    ]
    uses = pool_uses([pool("db", 2, 3)], {"db": 4}, None, own_connections(clients))
    assert (uses[0].waiting, uses[0].active, uses[0].own_waiting, uses[0].own_active) == (1, 2, 1, 1)
    outcome = judge_pools(uses, pools_spec())
    assert outcome.summary.startswith("1 clients waiting (max 0; db/app 1)")
    assert "not counted: the cockpit's own 1 waiting, 1 active" in outcome.details[0]


def test_console_times_and_ages():
    assert parse_console_time("2026-11-25 19:49:10 UTC") == datetime(2026, 11, 25, 19, 49, 10, tzinfo=UTC).timestamp()
    assert parse_console_time("2026-11-25 19:49:10.250000 UTC") % 1 == pytest.approx(0.25)
    assert parse_console_time("") is None and parse_console_time("yesterday") is None
    now = parse_console_time("2026-11-25 20:00:00 UTC")
    servers = [
        {"state": "active", "connect_time": "2026-11-25 18:00:00 UTC"},
        {"state": "idle", "connect_time": "2026-11-25 10:00:00 UTC"},  # idle: pooled, not held
        {"state": "active", "connect_time": "2026-11-25 19:59:00 UTC"},
    ]
    assert [age for _, age in held_servers(servers, now, 3600)] == [7200]
    clients = [{"state": "waiting", "wait": Decimal(6), "wait_us": Decimal(500000)}, {"state": "active", "wait": 9, "wait_us": 0}]
    assert [wait for _, wait in waiting_clients(clients, 5)] == [6.5]


def test_console_numbers():
    assert number(Decimal("3")) == 3.0 and number(7) == 7.0 and number("12") == 12.0
    assert number(None) is None and number("x") is None and number(True) is None


# ---------------------------------------------------------------- clock drift


def drift_spec(**fields) -> ClockDriftSpec:
    return ClockDriftSpec(id="d", title="d", phase="preflight", kind="clock_drift", **fields)


def test_offsets_are_judged_by_size_either_way():
    assert judge_offset(0.05, 0.5, 0.1) is Status.PASS
    assert judge_offset(-0.2, 0.5, 0.1) is Status.WARN
    assert judge_offset(0.6, 0.5, 0.1) is Status.FAIL
    assert show_offset(0.0123) == "+12.3 ms" and show_offset(-12.5) == "-12.500 s"
    assert show_offset(-0.00001) == "+0.0 ms"


def test_database_vs_ntp_is_derived_and_unmeasured_stays_unknown():
    parts = compare([Comparison("local vs NTP", offset=-2.0), Comparison("local vs database", offset=-1.95)], drift_spec())
    assert [(p.label, p.status) for p in parts] == [
        ("local vs NTP", Status.FAIL), ("local vs database", Status.FAIL), ("database vs NTP", Status.PASS)]
    assert parts[2].offset == pytest.approx(0.05)
    parts = compare([Comparison("local vs NTP", problem="timeout"), Comparison("local vs database", offset=0.0)], drift_spec())
    assert [p.status for p in parts] == [Status.UNKNOWN, Status.PASS]


# ---------------------------------------------------------------- DSNs and error wording


def test_dsn_parts():
    assert dsn_parts("postgresql://cockpit:pw@db.internal:6432/trading").address == "db.internal:6432"
    parts = dsn_parts("postgresql://cockpit@/trading?host=/run/postgresql&port=5433")
    assert (parts.host, parts.port, parts.user, parts.database) == ("/run/postgresql", 5433, "cockpit", "trading")
    parts = dsn_parts("host=10.0.0.5 port=6432 user=admin password='s p' dbname=pgbouncer", default_port=6432)
    assert (parts.address, parts.user, parts.database) == ("10.0.0.5:6432", "admin", "pgbouncer")
    assert dsn_parts("postgresql://[::1]:5432/x").address == "[::1]:5432"


def test_permission_hints_name_the_grant():
    assert permission_hint("permission denied for table _prisma_migrations", "cockpit") == (
        "permission denied for table _prisma_migrations: grant SELECT to the cockpit's role "
        "(GRANT SELECT ON _prisma_migrations TO cockpit)")
    assert "GRANT USAGE ON SCHEMA ledger TO <role>" in permission_hint("permission denied for schema ledger", None)
    assert "GRANT EXECUTE ON FUNCTION pg_ls_waldir TO ro" in permission_hint("permission denied for function pg_ls_waldir", "ro")
    assert "role ro needs more privileges" in permission_hint("must be superuser to do that", "ro")


def test_errors_become_one_line_without_the_dsn():
    parts = dsn_parts("postgresql://cockpit:Secret-1@db:5432/trading")
    assert describe_error(ConnectionRefusedError(111, "Connection refused"), parts, 5) == (
        "cannot connect to PostgreSQL at db:5432: connection refused")
    assert describe_error(TimeoutError(), parts, 2.5) == "PostgreSQL at db:5432 did not answer within 2.5s"
    assert describe_error(asyncpg.UndefinedTableError('relation "orders" does not exist'), parts, 5) == (
        'relation "orders" does not exist (in database trading at db:5432)')
    assert describe_error(asyncpg.InvalidPasswordError('password authentication failed for user "cockpit"'), parts, 5) == (
        'PostgreSQL at db:5432 refused the login of role cockpit: password authentication failed for user "cockpit"')


def test_identity_seal_is_the_sha256_of_the_field_lines():
    text, digest = seal([("operator", "alice"), ("version", "v1")])
    assert text == "operator: alice\nversion: v1\n"
    assert digest == hashlib.sha256(b"operator: alice\nversion: v1\n").hexdigest()
    assert seal([("operator", "alice"), ("version", "v2")])[1] != digest


def test_cli_table_shows_bracketed_config_names_literally(capsys):
    from cockpit.cli.checks import render_results
    from cockpit.results import CheckResult

    result = CheckResult(id="x", title="Prisma [db]", phase="preflight", kind="sql", status=Status.UNKNOWN,
                         summary="no [postgres] section in cockpit.toml", duration_s=0.1, started_at="t")
    assert render_results("Preflight", [result], as_json=False) == 3
    out = capsys.readouterr().out
    assert "[postgres]" in out and "Prisma [db]" in out


def test_pgbouncer_errors_become_one_actionable_line():
    import psycopg

    from cockpit.sources.pgbouncer import describe_psycopg_error

    parts = dsn_parts("postgresql://stats@bouncer:6432/pgbouncer", default_port=6432)
    refused = psycopg.OperationalError(
        'connection failed: connection to server at "10.0.0.9", port 6432 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?")
    assert describe_psycopg_error(refused, parts, 5) == "cannot connect to pgBouncer at bouncer:6432: connection refused"
    denied = psycopg.OperationalError('connection failed: connection to server at "10.0.0.9", port 6432 failed: FATAL:  not allowed')
    assert describe_psycopg_error(denied, parts, 5) == (
        "pgBouncer at bouncer:6432 refused the admin console to stats: add it to admin_users or stats_users in pgbouncer.ini")
    assert describe_psycopg_error(TimeoutError(), parts, 1.5) == "pgBouncer at bouncer:6432 did not answer within 1.5s"
    bad = psycopg.ProgrammingError('invalid connection option "passwd"')
    assert describe_psycopg_error(bad, parts, 5) == 'pgBouncer admin DSN is not valid: invalid connection option "passwd"'
