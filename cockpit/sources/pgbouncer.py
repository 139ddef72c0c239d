"""pgBouncer's admin console via psycopg 3: SHOW commands as lists of dicts, under a timeout.

asyncpg cannot read the admin console (it speaks only the extended query
protocol, which the console refuses); psycopg with a plain cursor and no
parameters uses the simple protocol, which it accepts. Numbers arrive as int
or Decimal depending on the pgBouncer version: read them with `number()`.
"""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from cockpit.config import PgBouncerConfig
from cockpit.redaction import Redactor
from cockpit.sources.postgres import DatabaseError, DsnParts, DsnSource
from cockpit.sources.rows import Rows

ADMIN_DATABASE = "pgbouncer"
SHOW_COMMANDS = ("POOLS", "CLIENTS", "SERVERS", "CONFIG", "DATABASES", "STATS", "USERS", "LISTS", "MEM")


def number(value: Any) -> float | None:
    """A console number (int, Decimal or text) as a float; None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None


def describe_psycopg_error(exc: BaseException, parts: DsnParts, timeout: float) -> str:
    """One actionable line for a psycopg failure talking to pgBouncer."""
    import psycopg

    where = f"pgBouncer at {parts.address}"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return f"{where} did not answer within {timeout:g}s"
    text = " ".join(str(exc).split())
    low = text.lower()
    if "connection info string" in low or "invalid connection option" in low or re.search(r"invalid \w+ value", low):
        return f"pgBouncer admin DSN is not valid: {text[:300]}"
    if isinstance(exc, psycopg.OperationalError):
        if "connection refused" in low:
            return f"cannot connect to {where}: connection refused"
        if "could not translate host name" in low or "name or service not known" in low:
            return f"cannot connect to {where}: host name {parts.host!r} does not resolve"
        if "timeout expired" in low:
            return f"{where} did not answer within {timeout:g}s"
        if "not allowed" in low or ("admin" in low and "denied" in low):
            role = parts.user or "the cockpit's role"
            return f"{where} refused the admin console to {role}: add it to admin_users or stats_users in pgbouncer.ini"
        if "no such database" in low:
            return f"{where}: {_after_fatal(text)} (the admin console is database '{ADMIN_DATABASE}')"
        if "connection" in low and ("failed" in low or "closed" in low):
            return f"cannot connect to {where}: {_after_fatal(text)}"
    if isinstance(exc, psycopg.Error):
        return f"{where} refused the command: {_after_fatal(text)}"
    if isinstance(exc, OSError):
        return f"cannot connect to {where}: {exc.strerror or exc}"
    return f"{where}: {type(exc).__name__}: {text}"


def _after_fatal(text: str) -> str:
    # psycopg prefixes libpq's chain ("connection failed: connection to server at ... failed: FATAL: x").
    match = re.search(r"(?:FATAL|ERROR):\s*(.*)$", text)
    return (match.group(1) if match else text)[:300]


class PgBouncerSource(DsnSource):
    """The admin console; each call opens its own short connection (they cost ~1 ms) and closes it."""

    def __init__(self, config: PgBouncerConfig, redactor: Redactor | None = None) -> None:
        super().__init__(config.admin_dsn.get_secret_value(), redactor, default_port=6432)
        self.config = config

    def _error(self, exc: BaseException) -> DatabaseError:
        return DatabaseError(self.scrub(describe_psycopg_error(exc, self.parts, self.config.timeout)))

    async def _run(self, statements: list[str], own: list[tuple[str, int]] | None = None) -> list[Rows]:
        import psycopg

        async def work() -> list[Rows]:
            conn = await psycopg.AsyncConnection.connect(
                self._dsn,
                autocommit=True,
                prepare_threshold=None,
                connect_timeout=max(2, int(self.config.timeout + 0.999)),
            )
            try:
                if own is not None:
                    own.extend(_local_address(conn))
                results: list[Rows] = []
                for statement in statements:
                    cur = conn.cursor()
                    await cur.execute(statement)  # no parameters: the simple query protocol
                    columns = [d.name for d in cur.description or []]
                    rows = [tuple(r) for r in await cur.fetchall()] if cur.description else []
                    results.append(Rows(columns, rows))
                return results
            finally:
                await conn.close()

        try:
            return await asyncio.wait_for(work(), timeout=self.config.timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._error(exc) from None

    async def query(self, statement: str) -> Rows:
        """One console command (e.g. "SHOW POOLS") as rows; DatabaseError on failure."""
        return (await self._run([statement.strip().rstrip(";")]))[0]

    async def show(self, *what: str) -> dict[str, list[dict[str, Any]]]:
        """SHOW POOLS / CLIENTS / SERVERS / CONFIG / ... over one connection: {"POOLS": [row dict, ...]}."""
        names = [w.strip().upper() for w in what]
        for name in names:
            if name not in SHOW_COMMANDS:
                raise ValueError(f"SHOW {name} is not a pgBouncer command this source knows")
        results = await self._run([f"SHOW {name}" for name in names])
        return {name: rows.dicts() for name, rows in zip(names, results)}

    async def show_in_order(self, *what: str) -> tuple[list[list[dict[str, Any]]], tuple[str, int] | None]:
        """SHOW commands in order over one connection (one may repeat), plus that connection's own
        (address, port) as SHOW CLIENTS lists it (None: not known)."""
        names = [w.strip().upper() for w in what]
        for name in names:
            if name not in SHOW_COMMANDS:
                raise ValueError(f"SHOW {name} is not a pgBouncer command this source knows")
        own: list[tuple[str, int]] = []
        results = await self._run([f"SHOW {name}" for name in names], own)
        return [rows.dicts() for rows in results], (own[0] if own else None)

    async def aclose(self) -> None:
        """Nothing is held between calls."""


def _local_address(conn: Any) -> list[tuple[str, int]]:
    """The client side of the console connection: what SHOW CLIENTS shows as its addr and port."""
    import os
    import socket

    try:
        fd = conn.pgconn.socket
        with socket.socket(fileno=os.dup(fd)) as sock:
            address = sock.getsockname()
    except (OSError, AttributeError, ValueError):
        return []
    if isinstance(address, tuple) and len(address) >= 2:
        return [(str(address[0]), int(address[1]))]
    return []  # a Unix socket: SHOW CLIENTS says "unix", there is no port to tell it apart
