"""Per-stage database evidence from the real PostgreSQL and pgBouncer; a dead one is written down, not raised."""

from __future__ import annotations

from cockpit.config import CockpitConfig
from cockpit.run.stage_evidence import db_health_text, pgbouncer_text
from tests.services import free_port

AT = 1_800_000_000.0


def _config(**sections) -> CockpitConfig:
    return CockpitConfig.model_validate(sections)


async def test_database_facts_from_real_services(postgres, pgbouncer):
    config = _config(postgres={"dsn": postgres.dsn("cockpit_test")}, pgbouncer={"admin_dsn": pgbouncer.admin_dsn()})
    db = await db_health_text(config, "v1.4.0", 3, 25.0, AT)
    assert "# Database health — v1.4.0 stage 3 (25%)" in db
    assert "## connections by state\nstate\tconnections" in db
    assert "## longest open transactions\npid\tusename" in db
    assert "## sessions waiting on a lock\nwaiting\n0" in db
    assert "not collected" not in db
    import psycopg

    with psycopg.connect(pgbouncer.dsn(), autocommit=True) as client:  # a client, so the pool exists
        client.execute("SELECT 1")
        pools = await pgbouncer_text(config, "v1.4.0", 3, 25.0, AT)
    assert "## SHOW POOLS\ndatabase\tuser\tcl_active" in pools and "cockpit_test" in pools
    assert "## SHOW STATS" in pools and "not collected" not in pools


async def test_unreachable_or_unconfigured_databases_are_written_down():
    port = free_port()
    secret = "s3cret-pw"
    config = _config(
        postgres={"dsn": f"postgresql://app:{secret}@127.0.0.1:{port}/shop", "timeout": 1},
        pgbouncer={"admin_dsn": f"postgresql://admin:{secret}@127.0.0.1:{port}/pgbouncer", "timeout": 1},
    )
    db = await db_health_text(config, "v1.4.0", 1, 1.0, AT)
    pools = await pgbouncer_text(config, "v1.4.0", 1, 1.0, AT)
    assert db.count("not collected: cannot connect") == 3 and secret not in db
    assert "not collected: cannot connect" in pools and secret not in pools
    assert "no [postgres] in the configuration" in await db_health_text(_config(), "v1.4.0", 1, 1.0, AT)
    assert "no [pgbouncer] in the configuration" in await pgbouncer_text(_config(), "v1.4.0", 1, 1.0, AT)
