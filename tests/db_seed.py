"""The seed's trading schema as the default playbook's SQL expects it, in a HEALTHY and a BROKEN state.

The schema and the healthy rows are the drill's (cockpit/drill/seed.py). Both databases have the same tables (Prisma's real `_prisma_migrations` columns,
instruments, orders, outbox, idempotency_keys). The BROKEN one carries one of
each fault the playbook's database checks look for.
"""

from __future__ import annotations

import psycopg

from cockpit.drill.seed import HEALTHY, SCHEMA, migration_rows
from tests.services import Postgres, wait_until

HEALTHY_DB = "cockpit_healthy"
BROKEN_DB = "cockpit_broken"
DEAD_TUPLES = 3000  # enough to cross a lowered threshold; the playbook's default is 1M

BROKEN = f"""
CREATE COLLATION case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE UNIQUE INDEX orders_idempotency_key_uq ON orders (idempotency_key COLLATE case_insensitive)
    WHERE idempotency_key IS NOT NULL;
INSERT INTO orders (instrument_id, price, quantity, idempotency_key) VALUES
    (1, 100.25, 1, 'k-1'),
    (2, 100.03, 1, 'k-2'),    -- not a multiple of the 0.05 tick
    (1, 100.001, 1, 'k-3');   -- more decimals than the 0.01 tick: drift (and misaligned)
INSERT INTO orders (id, instrument_id, price, quantity) VALUES (1000000, 1, 1.00, 1);  -- sequence now behind max(id)
SELECT setval('outbox_id_seq', 2000000000);  -- 93% of an int4 serial
ALTER TABLE outbox SET (autovacuum_enabled = false);
INSERT INTO outbox (topic, created_at, processed_at)
    SELECT 'old.processed', clock_timestamp() - interval '1 day', clock_timestamp() FROM generate_series(1, {DEAD_TUPLES});
DELETE FROM outbox WHERE topic = 'old.processed';
INSERT INTO outbox (topic, created_at, processed_at) VALUES
    ('order.created', clock_timestamp() - interval '10 minutes', NULL),            -- unpublished for 10 min
    ('order.filled', clock_timestamp() + interval '1 hour', clock_timestamp());    -- written by a clock ahead
INSERT INTO idempotency_keys (key, created_at, expires_at) VALUES
    ('k-1', now() - interval '1 day', now() - interval '2 hours'),
    ('k-2', now() - interval '1 hour', now() + interval '23 hours');
"""


def create_database(postgres: Postgres, name: str, broken: bool) -> str:
    """Create (or re-create) one database of the seed's schema; returns its direct DSN."""
    postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    postgres.psql(f"CREATE DATABASE {name}")
    dsn = postgres.dsn(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(BROKEN if broken else HEALTHY)
        migration_rows(conn, failed=broken)
    if broken:
        # Dead tuples reach pg_stat_user_tables when the deleting session reports its statistics.
        def counted() -> bool:
            with psycopg.connect(dsn, autocommit=True) as conn:
                row = conn.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'outbox'").fetchone()
            return bool(row and row[0] >= DEAD_TUPLES)

        wait_until(counted, 10, "the outbox's dead tuples in pg_stat_user_tables", interval=0.1)
    return dsn


def ensure_role(postgres: Postgres, role: str, password: str, member_of: str | None) -> None:
    """A login role (cluster-wide, so created once per cluster)."""
    grant = f" IN ROLE {member_of}" if member_of else ""
    postgres.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
        f"CREATE ROLE {role} LOGIN PASSWORD '{password}'{grant}; END IF; END $$"
    )
