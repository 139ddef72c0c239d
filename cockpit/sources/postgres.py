"""PostgreSQL via asyncpg: a small shared pool, every call under a timeout, errors as one clear line.

`statement_cache_size=0` always: the DSN may point at pgBouncer in transaction
pooling, where cached prepared statements land on another server connection
("prepared statement __asyncpg_stmt_N__ does not exist"). Nothing this module
raises or returns carries the DSN's password.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cockpit.config import PostgresConfig
from cockpit.errors import UnavailableError
from cockpit.redaction import Redactor, dsn_password, redact_dsn
from cockpit.sources.rows import Rows

APPLICATION_NAME = "release-cockpit"
DEFAULT_MAX_CONNECTIONS = 4


class DatabaseError(UnavailableError):
    """A database could not be asked, or refused the question. The text is one line with no secret in it."""


@dataclass(frozen=True)
class DsnParts:
    host: str
    port: int
    user: str | None
    database: str | None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def dsn_parts(dsn: str, default_port: int = 5432) -> DsnParts:
    """Host, port, user and database of a postgresql:// URL or a key=value DSN, for messages."""
    text = dsn.strip()
    if "://" in text:
        try:
            parts = urlsplit(text)
            query = parse_qs(parts.query)
            host = (query.get("host") or [parts.hostname or "localhost"])[0]
            port = int((query.get("port") or [parts.port or default_port])[0])
            user = (query.get("user") or [unquote(parts.username) if parts.username else None])[0]
            database = unquote(parts.path.lstrip("/")) or None
            return DsnParts(host, port, user, database)
        except ValueError:
            return DsnParts("?", default_port, None, None)
    values = dict(re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", text))
    values = {k: v.strip("'") for k, v in values.items()}
    try:
        port = int(values.get("port", default_port))
    except ValueError:
        port = default_port
    return DsnParts(values.get("host", "localhost"), port, values.get("user"), values.get("dbname"))


_DENIED = re.compile(r"permission denied for (?P<kind>[a-z ]+?) (?P<name>\S+)$")
_GRANT_FOR_KIND = {
    "table": "SELECT ON {name}",
    "relation": "SELECT ON {name}",
    "view": "SELECT ON {name}",
    "materialized view": "SELECT ON {name}",
    "sequence": "SELECT ON SEQUENCE {name}",
    "schema": "USAGE ON SCHEMA {name}",
    "function": "EXECUTE ON FUNCTION {name}",
    "database": "CONNECT ON DATABASE {name}",
}


def permission_hint(message: str, role: str | None) -> str:
    """What to grant, in words, for a PostgreSQL 'permission denied' message."""
    who = f"role {role}" if role else "the cockpit's role"
    match = _DENIED.search(message.strip())
    if match and match["kind"] in _GRANT_FOR_KIND:
        grant = _GRANT_FOR_KIND[match["kind"]].format(name=match["name"])
        return f"{message}: grant {grant.split(' ON ')[0]} to the cockpit's role (GRANT {grant} TO {role or '<role>'})"
    return f"{message}: {who} needs more privileges (e.g. GRANT pg_monitor, or SELECT on the tables the check reads)"


def describe_error(exc: BaseException, parts: DsnParts, timeout: float, what: str = "PostgreSQL") -> str:
    """One line a person can act on, for anything asyncpg or the network raised."""
    import asyncpg

    where = f"{what} at {parts.address}"
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return f"{where} did not answer within {timeout:g}s"
    if isinstance(exc, socket.gaierror):
        return f"cannot connect to {where}: host name {parts.host!r} does not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return f"cannot connect to {where}: {reason}"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return permission_hint(_first_line(exc), parts.user)
    if isinstance(exc, (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError, asyncpg.UndefinedFunctionError)):
        return f"{_first_line(exc)} (in database {parts.database or '?'} at {parts.address})"
    if isinstance(exc, (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
        return f"{where} refused the login of role {parts.user or '?'}: {_first_line(exc)}"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{where}: {_first_line(exc)}"
    if isinstance(exc, asyncpg.QueryCanceledError):
        return f"{where} cancelled the query: {_first_line(exc)}"
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return f"{where} has no connection slot left: {_first_line(exc)}"
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None)
        return f"{what} error{f' {state}' if state else ''}: {_first_line(exc)}"
    if isinstance(exc, asyncpg.InterfaceError) and "scheme" in str(exc):
        return f"{what} DSN must be a URL such as postgresql://user@host:5432/database"
    if isinstance(exc, ValueError):
        return f"{what} DSN is not valid: {_first_line(exc)}"
    return f"{where}: {type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@dataclass(frozen=True)
class ClockReading:
    """The database's clock against ours: offset = database - local, at the round-trip midpoint."""

    offset: float
    round_trip: float
    server_time: float


class DsnSource:
    """What the PostgreSQL and pgBouncer sources share: a DSN kept secret, its parts for messages, scrubbed text."""

    def __init__(self, dsn: str, redactor: Redactor | None, default_port: int = 5432) -> None:
        self._dsn = dsn
        self.parts = dsn_parts(dsn, default_port)
        # A redactor of our own that knows this DSN's password, whatever the caller passed.
        self.redactor = Redactor()
        self.redactor.add(dsn_password(dsn))
        self._outer = redactor

    @property
    def address(self) -> str:
        return self.parts.address

    def describe(self) -> str:
        """The DSN for people: the password masked."""
        return redact_dsn(self._dsn)

    def scrub(self, text: str) -> str:
        """`text` without this DSN's password, nor any secret the caller's redactor knows."""
        text = self.redactor.scrub(text)
        return self._outer.scrub(text) if self._outer is not None else text


class PostgresSource(DsnSource):
    """A lazily created asyncpg pool shared by a run's checks; close it with aclose()."""

    def __init__(
        self,
        config: PostgresConfig,
        redactor: Redactor | None = None,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        super().__init__(config.dsn.get_secret_value(), redactor)
        self.config = config
        self._max = max_connections
        self._pool: Any = None
        self._pool_lock = asyncio.Lock()

    def _error(self, exc: BaseException) -> DatabaseError:
        text = self.scrub(describe_error(exc, self.parts, self.config.timeout))
        return DatabaseError(" ".join(text.split()))

    async def _get_pool(self) -> Any:
        async with self._pool_lock:
            if self._pool is None:
                import asyncpg

                # min_size=0: nothing connects until a check asks, so a dead server costs nothing here.
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._max,
                    statement_cache_size=0,
                    timeout=self.config.timeout,
                    command_timeout=self.config.timeout,
                    server_settings={"application_name": APPLICATION_NAME},
                )
            return self._pool

    async def fetch(self, query: str, *args: Any, timeout: float | None = None) -> Rows:
        """Run one query; its rows, or DatabaseError with a one-line reason."""
        limit = timeout if timeout is not None else self.config.timeout
        try:
            pool = await self._get_pool()
            async with pool.acquire() as conn:
                records = await conn.fetch(query, *args, timeout=limit)
                if records:
                    columns = list(records[0].keys())
                else:
                    # No row, but the columns still tell what was asked for (and the TSV gets a header).
                    # Unnamed statement, described only: safe behind pgBouncer's transaction pooling.
                    attributes = (await conn.prepare(query, name="", timeout=limit)).get_attributes()
                    columns = [a.name for a in attributes]
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._error(exc) from None
        return Rows(columns, [tuple(r.values()) for r in records])

    async def read_clock(self, now: Callable[[], float], samples: int = 3) -> ClockReading:
        """clock_timestamp() against `now` at the round-trip midpoint; the fastest of a few samples."""
        best: ClockReading | None = None
        try:
            pool = await self._get_pool()
            async with pool.acquire() as conn:
                for _ in range(max(1, samples)):
                    sent = now()
                    server: datetime = await conn.fetchval("SELECT clock_timestamp()", timeout=self.config.timeout)
                    received = now()
                    server_ts = server.timestamp()
                    reading = ClockReading(server_ts - (sent + received) / 2, received - sent, server_ts)
                    if best is None or reading.round_trip < best.round_trip:
                        best = reading
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._error(exc) from None
        assert best is not None
        return best

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout=self.config.timeout)
        except Exception:
            pool.terminate()
