"""The seed's trading schema, as the default playbook's SQL reads it: what the drill's database holds (and the tests').

The tables are the seed's (Prisma's real `_prisma_migrations` columns,
instruments, orders, outbox, idempotency keys). A healthy database passes every
database check; a scenario's pre-T-0 faults (cockpit.drill.scenario.BeforeT0)
add a failed migration or a sequence near its end.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

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

FAILED_MIGRATION = "20240501000000_split_orders"
# outbox's int4 serial pushed to this share of its range: over the sequences check's 80 %.
SEQUENCE_NEAR_END = "SELECT setval('outbox_id_seq', 2000000000)"  # 93 % of 2^31-1


def migration_rows(conn: Any, failed: bool) -> None:
    """The applied migrations (one failed once, rolled back and re-applied), and a failed one when `failed`."""
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
            " VALUES (%s, %s, NULL, %s, 'ERROR: deadlock detected', now())",
            (str(uuid.uuid4()), hashlib.sha256(b"ALTER TABLE orders ...").hexdigest(), FAILED_MIGRATION),
        )


def seed_healthy(dsn: str, *, failed_migration: bool = False, sequence_near_end: bool = False) -> None:
    """Create the seed's schema in the (empty) database at `dsn`, healthy but for the faults asked for."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(SCHEMA)
        conn.execute(HEALTHY)
        migration_rows(conn, failed=failed_migration)
        if sequence_near_end:
            conn.execute(SEQUENCE_NEAR_END)
