"""The real services start and answer: the ground every integration test stands on."""

import asyncpg
import psycopg


async def test_postgres_and_pgbouncer_answer(postgres, pgbouncer):
    conn = await asyncpg.connect(pgbouncer.dsn(), statement_cache_size=0)
    try:
        assert await conn.fetchval("SELECT 40 + 2") == 42
    finally:
        await conn.close()
    with psycopg.connect(pgbouncer.admin_dsn(), autocommit=True) as admin:
        rows = admin.execute("SHOW POOLS").fetchall()
    assert any(row[0] == "cockpit_test" for row in rows)
