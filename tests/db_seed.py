"""The seed's trading schema as the default playbook's SQL expects it, in a HEALTHY and a BROKEN state.

Both databases have the same tables (Prisma's real `_prisma_migrations` columns,
instruments, orders, outbox, idempotency_keys). The BROKEN one carries one of
each fault the playbook's database checks look for.
"""

from __future__ import annotations

import hashlib
import uuid

import psycopg

from tests.services import Postgres, wait_until

HEALTHY_DB = "cockpit_healthy"
BROKEN_DB = "cockpit_broken"
DEAD_TUPLES = 3000  # enough to cross a lowered threshold; the playbook's default is 1M

SCHEMA = """
CREATE TABLE _prisma_migrations (
    id                  VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum            VARCHAR(64) NOT NULL,
    finished_at         TIMESTAMPTZ,
    migration_name      VARCHAR(255) NOT NULL,
    logs                TEXT,
    rolled_back_at      TIMESTAMPTZ,
    started_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE instruments (
    id        integer PRIMARY KEY,
    symbol    text NOT NULL UNIQUE,
    tick_size numeric NOT NULL
);
CREATE TABLE orders (
    id              bigserial PRIMARY KEY,
    instrument_id   integer NOT NULL REFERENCES instruments (id),
    price           numeric NOT NULL,
    quantity        numeric NOT NULL,
    idempotency_key text
);
CREATE TABLE outbox (
    id           serial PRIMARY KEY,
    topic        text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    processed_at timestamptz
);
CREATE TABLE idempotency_keys (
    key        text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
INSERT INTO instruments VALUES (1, 'BTC-USD', 0.01), (2, 'ETH-USD', 0.05), (3, 'EUR-USD', 0.0001);
"""

MIGRATIONS = [
    ("20240101000000_init", "CREATE TABLE instruments (...);"),
    ("20240215000000_orders", "CREATE TABLE orders (...);"),
    ("20240301000000_outbox", "CREATE TABLE outbox (...);"),
]

HEALTHY = """
CREATE UNIQUE INDEX orders_idempotency_key_uq ON orders (idempotency_key) WHERE idempotency_key IS NOT NULL;
INSERT INTO orders (instrument_id, price, quantity, idempotency_key) VALUES
    (1, 100.25, 1, 'k-1'), (1, 99.10, 2, 'k-2'), (2, 100.05, 1, 'k-3'),
    (2, 100.050, 3, NULL),  -- a trailing zero is not drift
    (3, 1.1235, 1000, 'k-4');
INSERT INTO outbox (topic, created_at, processed_at) VALUES
    ('order.created', clock_timestamp() - interval '5 minutes', clock_timestamp() - interval '299 seconds'),
    ('order.filled', clock_timestamp() - interval '1 minute', clock_timestamp() - interval '59 seconds');
INSERT INTO idempotency_keys (key, created_at, expires_at) VALUES
    ('k-1', now() - interval '10 minutes', now() + interval '23 hours'),
    ('k-2', now() - interval '25 hours', now() - interval '10 minutes');  -- expired minutes ago: GC not late yet
"""

BROKEN = """
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
    SELECT 'old.processed', clock_timestamp() - interval '1 day', clock_timestamp() FROM generate_series(1, {dead});
DELETE FROM outbox WHERE topic = 'old.processed';
INSERT INTO outbox (topic, created_at, processed_at) VALUES
    ('order.created', clock_timestamp() - interval '10 minutes', NULL),            -- unpublished for 10 min
    ('order.filled', clock_timestamp() + interval '1 hour', clock_timestamp());    -- written by a clock ahead
INSERT INTO idempotency_keys (key, created_at, expires_at) VALUES
    ('k-1', now() - interval '1 day', now() - interval '2 hours'),
    ('k-2', now() - interval '1 hour', now() + interval '23 hours');
""".format(dead=DEAD_TUPLES)


def _migration_rows(conn: psycopg.Connection, failed: bool) -> None:
    for name, sql in MIGRATIONS:
        conn.execute(
            "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count)"
            " VALUES (%s, %s, now(), %s, now() - interval '1 minute', 1)",
            (str(uuid.uuid4()), hashlib.sha256(sql.encode()).hexdigest(), name),
        )
    # A migration that failed once, was rolled back and applied again: not a failure any more.
    retry = ("20240401000000_fees", "ALTER TABLE orders ADD COLUMN fee numeric;")
    checksum = hashlib.sha256(retry[1].encode()).hexdigest()
    conn.execute(
        "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at)"
        " VALUES (%s, %s, NULL, %s, 'ERROR: column \"fee\" already exists', now(), now() - interval '30 seconds')",
        (str(uuid.uuid4()), checksum, retry[0]),
    )
    conn.execute(
        "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count)"
        " VALUES (%s, %s, now(), %s, now() - interval '20 seconds', 1)",
        (str(uuid.uuid4()), checksum, retry[0]),
    )
    if failed:
        conn.execute(
            "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, logs, started_at)"
            " VALUES (%s, %s, NULL, '20240501000000_split_orders', 'ERROR: deadlock detected', now())",
            (str(uuid.uuid4()), hashlib.sha256(b"ALTER TABLE orders ...").hexdigest()),
        )


def create_database(postgres: Postgres, name: str, broken: bool) -> str:
    """Create (or re-create) one database of the seed's schema; returns its direct DSN."""
    postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    postgres.psql(f"CREATE DATABASE {name}")
    dsn = postgres.dsn(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA)
        conn.execute(BROKEN if broken else HEALTHY)
        _migration_rows(conn, failed=broken)
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
