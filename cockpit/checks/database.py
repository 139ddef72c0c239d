"""The run's shared PostgreSQL and pgBouncer sources, and what to say when one is not configured."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cockpit.checks.runner import CheckContext
    from cockpit.sources.pgbouncer import PgBouncerSource
    from cockpit.sources.postgres import PostgresSource

NO_POSTGRES = "no [postgres] section in cockpit.toml (add its dsn): the database cannot be asked"
NO_PGBOUNCER = "no [pgbouncer] section in cockpit.toml (add its admin_dsn): pgBouncer cannot be asked"


def postgres_source(ctx: CheckContext) -> PostgresSource | None:
    """The run's PostgresSource (one pool for all checks), or None without [postgres]."""
    if ctx.config.postgres is None:
        return None
    if "postgres" not in ctx.shared:
        from cockpit.sources.postgres import PostgresSource

        ctx.shared["postgres"] = PostgresSource(ctx.config.postgres, ctx.redactor)
    return ctx.shared["postgres"]


def pgbouncer_source(ctx: CheckContext) -> PgBouncerSource | None:
    """The run's PgBouncerSource, or None without [pgbouncer]."""
    if ctx.config.pgbouncer is None:
        return None
    if "pgbouncer" not in ctx.shared:
        from cockpit.sources.pgbouncer import PgBouncerSource

        ctx.shared["pgbouncer"] = PgBouncerSource(ctx.config.pgbouncer, ctx.redactor)
    return ctx.shared["pgbouncer"]


async def write_evidence(ctx: CheckContext, name: str, text: str) -> str:
    """Write one evidence file off the event loop (it fsyncs); returns its name."""
    return await asyncio.to_thread(ctx.evidence.write_text, name, text)
