"""Run state in PostgreSQL (`[state] dsn`): the journal, the evidence files and the lease of every run.

The schema lives in its own `cockpit` schema (`cockpit state init` creates it,
idempotently). Runs are keyed by service and version. A journal record is kept
as the exact line the file journal holds, so the hash chain verifies the same
from either copy. Every journal insert is fenced: it runs in one transaction
with a `FOR SHARE` read of the run's lease row and commits only while the
writer's fencing token is the lease's, so a controller that lost the lease can
never add a record (nor, since the traffic moves are journaled first, move
traffic). Times that decide who holds a lease are the database's
(`clock_timestamp()`), never a host's, so two hosts' clocks cannot disagree
about it.

The connection is synchronous (psycopg): the run writes its records from
synchronous code, and a record must be committed before the run acts on it.
On loopback one fenced insert takes about a millisecond.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cockpit.config import StateConfig, secret_text
from cockpit.errors import CockpitError
from cockpit.events import Event
from cockpit.redaction import Redactor

SCHEMA_VERSION = 1
NOTIFY_CHANNEL = "cockpit_journal"
COMMAND_CHANNEL = "cockpit_ctl"  # a command for a run's holder: "service/version/id"
ANSWER_CHANNEL = "cockpit_ctl_answer"  # its answer: "id"

# Idempotent: `cockpit state init` may run again on a database that has it.
SCHEMA_SQL = f"""
CREATE SCHEMA IF NOT EXISTS cockpit;
CREATE TABLE IF NOT EXISTS cockpit.schema_version (version integer NOT NULL);
INSERT INTO cockpit.schema_version (version)
    SELECT {SCHEMA_VERSION} WHERE NOT EXISTS (SELECT 1 FROM cockpit.schema_version);
CREATE TABLE IF NOT EXISTS cockpit.runs (
    service     text NOT NULL,
    version     text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_seq    bigint NOT NULL DEFAULT 0,
    head        text NOT NULL DEFAULT '{"0" * 64}',
    last_event  text,
    PRIMARY KEY (service, version)
);
CREATE TABLE IF NOT EXISTS cockpit.journal (
    service  text NOT NULL,
    version  text NOT NULL,
    seq      bigint NOT NULL,
    ts       double precision NOT NULL,
    event    text NOT NULL,
    prev     text NOT NULL,
    hash     text NOT NULL,
    line     text NOT NULL,
    token    bigint NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (service, version, seq),
    FOREIGN KEY (service, version) REFERENCES cockpit.runs (service, version)
);
CREATE INDEX IF NOT EXISTS journal_by_event ON cockpit.journal (service, version, event, seq);
CREATE TABLE IF NOT EXISTS cockpit.leases (
    service     text NOT NULL,
    version     text NOT NULL,
    holder      text NOT NULL,
    host        text NOT NULL,
    pid         integer NOT NULL,
    token       bigint NOT NULL,
    acquired_at timestamptz NOT NULL,
    renewed_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    released    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (service, version)
);
CREATE TABLE IF NOT EXISTS cockpit.commands (
    id          bigserial PRIMARY KEY,
    service     text NOT NULL,
    version     text NOT NULL,
    request     text NOT NULL,
    login       text NOT NULL,
    host        text NOT NULL,
    role        text NOT NULL DEFAULT current_user,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    answered_at timestamptz,
    answer      text,
    token       bigint
);
CREATE INDEX IF NOT EXISTS commands_waiting ON cockpit.commands (service, version, id) WHERE answered_at IS NULL;
CREATE TABLE IF NOT EXISTS cockpit.evidence_files (
    service     text NOT NULL,
    version     text NOT NULL,
    name        text NOT NULL,
    sha256      text NOT NULL,
    size        bigint NOT NULL,
    content     bytea NOT NULL,
    host        text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (service, version, name)
);
"""


class StateError(CockpitError):
    """The state database cannot be used (unreachable, no schema, refused): one line, exit 2, nothing shifted."""


class StateUnavailable(CockpitError):
    """The state database stopped answering mid-run (a restart, a partition): the write can be tried again."""


class LeaseLost(BaseException):  # noqa: N818 (a BaseException on purpose: see below)
    """Another controller holds the run's lease now: this one must step down and move no traffic.

    A BaseException, like CancelledError: the run's `except Exception` paths (roll back to be safe,
    run the rollback unjournaled when the journal fails) must never catch it, because acting after
    losing the lease is exactly what fencing forbids.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class LeaseRow:
    """A run's lease as the database has it; the ages are the database's own clock."""

    holder: str
    host: str
    pid: int
    token: int
    expires_in: float  # seconds until it lapses (negative: lapsed that long ago)
    renewed_ago: float
    released: bool

    @property
    def lapsed(self) -> bool:
        return self.released or self.expires_in <= 0

    def who(self) -> str:
        return f"host {self.host} pid {self.pid}"


def _one_line(exc: BaseException, redactor: Redactor) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redactor.scrub(text)[:300]


class StateStore:
    """One connection to the state database, for one service's runs. Not shared between threads."""

    def __init__(self, config: StateConfig, redactor: Redactor | None = None) -> None:
        self.config = config
        self.service = config.service
        self.redactor = redactor or Redactor()
        self._dsn = secret_text(config.dsn) or config.dsn.get_secret_value()  # an unset ${VAR} raises its ConfigError
        self.redactor.add(_password_of(self._dsn))
        self._conn: Any = None

    # ------------------------------------------------------------------ connection

    def connect(self) -> StateStore:
        """Open the connection; StateError (one line, no secret) when the database cannot be reached."""
        try:
            self._open()
        except Exception as exc:
            raise StateError(f"state.dsn: the state database cannot be reached: {_one_line(exc, self.redactor)}") from None
        return self

    def _open(self) -> None:
        import psycopg

        self.close()
        timeout = max(1, round(float(self.config.timeout)))
        # A writer that stops mid-transaction (SIGSTOP, a partition) must not keep the lease row locked for the
        # standby: the server ends such a session after a while, and the stopped writer's commit then fails.
        idle_ms = max(1000, int(float(self.config.lease_ttl) * 1000 / 3))
        # statement_timeout bounds the server's side; tcp_user_timeout the client's when packets stop coming back
        # (a partition), which libpq would otherwise wait out for many minutes.
        self._conn = psycopg.connect(
            self._dsn, autocommit=True, connect_timeout=timeout, tcp_user_timeout=timeout * 1000,
            keepalives=1, keepalives_idle=max(1, timeout), keepalives_interval=1, keepalives_count=3,
            options=f"-c statement_timeout={timeout * 1000} -c idle_in_transaction_session_timeout={idle_ms}",
            application_name="cockpit",
        )

    def listener(self, application_name: str = "cockpit-listener") -> Any:
        """A second connection of its own, for LISTEN (a notification loop holds its connection)."""
        import psycopg

        timeout = max(1, round(float(self.config.timeout)))
        return psycopg.connect(self._dsn, autocommit=True, connect_timeout=timeout, application_name=application_name)

    async def async_connection(self, application_name: str = "cockpit-inbox") -> Any:
        """An asyncio connection of its own (the holder's command inbox runs in the run's event loop)."""
        import psycopg

        timeout = max(1, round(float(self.config.timeout)))
        return await psycopg.AsyncConnection.connect(self._dsn, autocommit=True, connect_timeout=timeout,
                                                     application_name=application_name)

    def reconnect(self) -> None:
        """Open the connection again (after the database restarted); StateUnavailable when it cannot."""
        try:
            self._open()
        except Exception as exc:
            raise StateUnavailable(f"the state database is unreachable: {_one_line(exc, self.redactor)}") from None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def _run(self, body: Any) -> Any:
        """Run `body(cursor)` in one transaction; StateUnavailable when the connection is gone."""
        import psycopg

        if self._conn is None or self._conn.closed:
            self.reconnect()
        try:
            with self._conn.transaction(), self._conn.cursor() as cursor:
                return body(cursor)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            self.close()
            raise StateUnavailable(f"the state database stopped answering: {_one_line(exc, self.redactor)}") from None

    def fetch(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of one read-only query (for the readers beside this module: `cockpit runs`)."""

        def read(cur: Any) -> list[Any]:
            cur.execute(sql, params)
            return list(cur.fetchall())

        return list(self._run(read))

    # ------------------------------------------------------------------ schema

    def init_schema(self) -> None:
        """Create the schema (idempotent); StateError with the grant it lacks when refused."""
        import psycopg

        try:
            self._run(lambda cur: cur.execute(SCHEMA_SQL))
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StateError(f"state.dsn: creating the schema was refused: {_one_line(exc, self.redactor)} "
                             "(run `cockpit state init` as a role with CREATE on the database)") from None

    def check_schema(self) -> None:
        """StateError unless `cockpit state init` has run on this database and the role may use it."""
        import psycopg

        def read(cur: Any) -> Any:
            cur.execute("SELECT version FROM cockpit.schema_version")
            return cur.fetchone()

        try:
            row = self._run(read)
        except psycopg.errors.UndefinedTable:
            raise StateError("state.dsn: the database has no cockpit schema: run `cockpit state init` first") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise StateError(f"state.dsn: the role cannot read the cockpit schema: {_one_line(exc, self.redactor)} "
                             "(see the README's grants for [state])") from None
        if row is None or int(row[0]) != SCHEMA_VERSION:
            raise StateError(f"state.dsn: the cockpit schema is version {row[0] if row else '?'}, this cockpit needs "
                             f"{SCHEMA_VERSION}: run `cockpit state init`")

    # ------------------------------------------------------------------ journal

    def records(self, version: str) -> list[dict[str, Any]]:
        """The run's journal records in order, as written (empty for a run never started)."""

        def read(cur: Any) -> list[Any]:
            cur.execute("SELECT line FROM cockpit.journal WHERE service = %s AND version = %s ORDER BY seq",
                        (self.service, version))
            return cur.fetchall()

        return [json.loads(line) for (line,) in self._run(read)]

    def records_after(self, version: str, seq: int) -> list[dict[str, Any]]:
        """The run's records after `seq`, in order (what a viewer's copy lacks)."""

        def read(cur: Any) -> list[Any]:
            cur.execute("SELECT line FROM cockpit.journal WHERE service = %s AND version = %s AND seq > %s ORDER BY seq",
                        (self.service, version, seq))
            return cur.fetchall()

        return [json.loads(line) for (line,) in self._run(read)]

    def commit(self, version: str, record: dict[str, Any], line: str, token: int) -> None:
        """Insert one record, fenced: only while `token` is the lease's. LeaseLost otherwise.

        A record already there with the same hash counts as written (a commit whose answer was lost).
        """
        import psycopg

        def insert(cur: Any) -> str | None:
            cur.execute("SELECT token, host, pid FROM cockpit.leases WHERE service = %s AND version = %s FOR SHARE",
                        (self.service, version))
            row = cur.fetchone()
            if row is None or int(row[0]) != token:
                holder = f"host {row[1]} pid {row[2]} (token {row[0]})" if row else "nobody"
                return f"the lease of {self.service}/{version} is held by {holder}, not by this controller (token {token})"
            cur.execute("SELECT hash FROM cockpit.journal WHERE service = %s AND version = %s AND seq = %s",
                        (self.service, version, record["seq"]))
            existing = cur.fetchone()
            if existing is not None:
                if existing[0] == record["hash"]:
                    return None
                return f"record {record['seq']} of {self.service}/{version} was written by another controller"
            cur.execute(
                "INSERT INTO cockpit.journal (service, version, seq, ts, event, prev, hash, line, token) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (self.service, version, record["seq"], record["ts"], record["event"], record["prev"], record["hash"],
                 line, token),
            )
            cur.execute("UPDATE cockpit.runs SET last_seq = %s, head = %s, last_event = %s, updated_at = clock_timestamp() "
                        "WHERE service = %s AND version = %s",
                        (record["seq"], record["hash"], record["event"], self.service, version))
            cur.execute("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, f"{self.service}/{version}/{record['seq']}"))
            return None

        try:
            refused = self._run(insert)
        except psycopg.errors.UniqueViolation:
            refused = f"record {record['seq']} of {self.service}/{version} was written by another controller"
        if refused is not None:
            raise LeaseLost(refused)

    def run_kind(self, version: str) -> str | None:
        """"first-night" once the run's night started, "canary" before, None when the database has no record of it."""

        def read(cur: Any) -> Any:
            cur.execute("SELECT bool_or(event = %s) FROM cockpit.journal WHERE service = %s AND version = %s",
                        (Event.FIRST_NIGHT_STARTED.value, self.service, version))
            return cur.fetchone()

        row = self._run(read)
        if row is None or row[0] is None:  # bool_or over no rows: no record of the run at all
            return None
        return "first-night" if row[0] else "canary"

    # ------------------------------------------------------------------ lease

    def lease(self, version: str) -> LeaseRow | None:
        """The run's lease, or None when no controller ever held it."""

        def read(cur: Any) -> Any:
            cur.execute(
                "SELECT holder, host, pid, token, EXTRACT(EPOCH FROM expires_at - clock_timestamp()), "
                "EXTRACT(EPOCH FROM clock_timestamp() - renewed_at), released "
                "FROM cockpit.leases WHERE service = %s AND version = %s", (self.service, version))
            return cur.fetchone()

        row = self._run(read)
        return _lease_row(row) if row is not None else None

    def try_acquire(self, version: str, holder: str, host: str, pid: int) -> tuple[int | None, LeaseRow | None]:
        """Take the run's lease if nobody holds it (or its holder's lapsed): (token, previous) or (None, current).

        Each new holder gets the previous token + 1: the fencing token grows with every holder.
        """
        import psycopg

        ttl = float(self.config.lease_ttl)

        def take(cur: Any) -> tuple[int | None, LeaseRow | None]:
            cur.execute("INSERT INTO cockpit.runs (service, version) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        (self.service, version))
            cur.execute(
                "SELECT holder, host, pid, token, EXTRACT(EPOCH FROM expires_at - clock_timestamp()), "
                "EXTRACT(EPOCH FROM clock_timestamp() - renewed_at), released "
                "FROM cockpit.leases WHERE service = %s AND version = %s FOR UPDATE", (self.service, version))
            row = cur.fetchone()
            previous = _lease_row(row) if row is not None else None
            if previous is not None and not previous.lapsed:
                return None, previous
            token = (previous.token + 1) if previous is not None else 1
            cur.execute(
                "INSERT INTO cockpit.leases (service, version, holder, host, pid, token, acquired_at, renewed_at, expires_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, clock_timestamp(), clock_timestamp(), "
                "clock_timestamp() + make_interval(secs => %s)) "
                "ON CONFLICT (service, version) DO UPDATE SET holder = EXCLUDED.holder, host = EXCLUDED.host, "
                "pid = EXCLUDED.pid, token = EXCLUDED.token, acquired_at = EXCLUDED.acquired_at, "
                "renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at, released = false",
                (self.service, version, holder, host, pid, token, ttl))
            return token, previous

        try:
            return self._run(take)
        except psycopg.errors.UniqueViolation:  # another controller inserted the first lease at the same moment
            return None, self.lease(version)

    def renew(self, version: str, token: int) -> bool:
        """Push the lease's expiry on; False when `token` is no longer the lease's (another controller took it)."""
        ttl = float(self.config.lease_ttl)

        def push(cur: Any) -> bool:
            cur.execute(
                "UPDATE cockpit.leases SET renewed_at = clock_timestamp(), "
                "expires_at = clock_timestamp() + make_interval(secs => %s) "
                "WHERE service = %s AND version = %s AND token = %s AND NOT released",
                (ttl, self.service, version, token))
            return bool(cur.rowcount == 1)

        return bool(self._run(push))

    def release(self, version: str, token: int) -> None:
        """Let the lease lapse now (a clean exit): a standby takes the run at once instead of after the TTL."""

        def drop(cur: Any) -> None:
            cur.execute("UPDATE cockpit.leases SET released = true, expires_at = clock_timestamp() "
                        "WHERE service = %s AND version = %s AND token = %s", (self.service, version, token))

        self._run(drop)

    # ------------------------------------------------------------------ commands (cockpit ctl --from-state)

    def send_command(self, version: str, request: dict[str, Any], login: str, host: str, timeout: float) -> int:
        """Queue a command for the run's holder (it expires after `timeout`); its id."""

        def send(cur: Any) -> int:
            cur.execute(
                "INSERT INTO cockpit.commands (service, version, request, login, host, expires_at) "
                "VALUES (%s, %s, %s, %s, %s, clock_timestamp() + make_interval(secs => %s)) RETURNING id",
                (self.service, version, json.dumps(request, ensure_ascii=False), login, host, timeout))
            ident = int(cur.fetchone()[0])
            cur.execute("SELECT pg_notify(%s, %s)", (COMMAND_CHANNEL, f"{self.service}/{version}/{ident}"))
            return ident

        return int(self._run(send))

    def answer_of(self, ident: int) -> dict[str, Any] | None:
        """The holder's answer to command `ident`, None while there is none."""

        def read(cur: Any) -> Any:
            cur.execute("SELECT answer FROM cockpit.commands WHERE id = %s AND answered_at IS NOT NULL", (ident,))
            return cur.fetchone()

        row = self._run(read)
        return json.loads(row[0]) if row else None

    # ------------------------------------------------------------------ evidence

    def put_evidence(self, version: str, name: str, content: bytes, sha256: str, host: str) -> None:
        """Keep one evidence file (its bytes and its manifest hash) with the run."""

        def put(cur: Any) -> None:
            cur.execute(
                "INSERT INTO cockpit.evidence_files (service, version, name, sha256, size, content, host) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (service, version, name) DO UPDATE SET "
                "sha256 = EXCLUDED.sha256, size = EXCLUDED.size, content = EXCLUDED.content, host = EXCLUDED.host, "
                "recorded_at = clock_timestamp()",
                (self.service, version, name, sha256, len(content), content, host))

        self._run(put)

    def evidence_files(self, version: str) -> list[tuple[str, bytes]]:
        """The run's evidence files in the database: (name, content)."""

        def read(cur: Any) -> list[Any]:
            cur.execute("SELECT name, content FROM cockpit.evidence_files WHERE service = %s AND version = %s ORDER BY name",
                        (self.service, version))
            return cur.fetchall()

        return [(str(name), bytes(content)) for name, content in self._run(read)]

    def evidence_manifest(self, version: str) -> dict[str, str]:
        """The run's evidence files in the database: name -> SHA-256."""

        def read(cur: Any) -> list[Any]:
            cur.execute("SELECT name, sha256 FROM cockpit.evidence_files WHERE service = %s AND version = %s",
                        (self.service, version))
            return cur.fetchall()

        return {name: sha for name, sha in self._run(read)}


@dataclass
class RunRow:
    """One run in the state database, for `cockpit runs`: where it is, what was decided last, who holds it."""

    service: str
    version: str
    stages: int
    stage: int | None
    weight: float | None
    last_decision: str | None
    result: str | None  # canary_done's result; None while the run is live (or was left unfinished)
    last_seq: int
    updated_ago: float
    holder: LeaseRow | None
    night: NightRow | None = None  # the run's first night, once one started

    def as_dict(self) -> dict[str, Any]:
        lease = self.holder
        return {
            "service": self.service, "version": self.version, "stage": self.stage, "stages": self.stages,
            "weight": self.weight, "last_decision": self.last_decision, "result": self.result,
            "last_seq": self.last_seq, "updated_ago_s": round(self.updated_ago, 3),
            "holder": None if lease is None else {
                "host": lease.host, "pid": lease.pid, "token": lease.token, "renewed_ago_s": round(lease.renewed_ago, 3),
                "expires_in_s": round(lease.expires_in, 3), "released": lease.released},
            "night": None if self.night is None else {
                "hours": self.night.hours, "closed": self.night.closed, "verdict": self.night.verdict},
        }


@dataclass
class NightRow:
    """A run's first night as `cockpit runs` shows it: how many of its hours closed, and its verdict once done."""

    hours: int
    closed: int
    verdict: str | None  # first_night_done's verdict; None while the night runs (or was left unfinished)


_LAST_OF = ("SELECT line FROM cockpit.journal j WHERE j.service = r.service AND j.version = r.version "
            "AND j.event = '{event}' ORDER BY j.seq DESC LIMIT 1")

RUNS_SQL = f"""
SELECT r.service, r.version, r.last_seq, EXTRACT(EPOCH FROM clock_timestamp() - r.updated_at),
       ({_LAST_OF.format(event=Event.RUN_STARTED.value).replace("DESC", "ASC")}),
       ({_LAST_OF.format(event=Event.STAGE_STARTED.value)}),
       ({_LAST_OF.format(event=Event.DECISION.value)}),
       ({_LAST_OF.format(event=Event.CANARY_DONE.value)}),
       ({_LAST_OF.format(event=Event.FIRST_NIGHT_STARTED.value)}),
       ({_LAST_OF.format(event=Event.FIRST_NIGHT_DONE.value)}),
       (SELECT count(*) FROM cockpit.journal j WHERE j.service = r.service AND j.version = r.version
        AND j.event = '{Event.HOUR_CLOSED.value}'),
       l.holder, l.host, l.pid, l.token, EXTRACT(EPOCH FROM l.expires_at - clock_timestamp()),
       EXTRACT(EPOCH FROM clock_timestamp() - l.renewed_at), l.released
FROM cockpit.runs r LEFT JOIN cockpit.leases l ON l.service = r.service AND l.version = r.version
ORDER BY r.updated_at DESC
LIMIT %s
"""


def list_runs(store: StateStore, limit: int = 100) -> list[RunRow]:
    """Every run in the database (every service), the most recently written first."""
    rows = []
    for row in store.fetch(RUNS_SQL, (limit,)):
        started, stage, decision, done, night_started, night_done = (
            json.loads(text) if text else None for text in row[4:10])
        lease = _lease_row(row[11:18]) if row[11] is not None else None
        night = None
        if night_started is not None:
            night = NightRow(hours=int(night_started.get("hours") or 0), closed=int(row[10]),
                             verdict=str(night_done["verdict"]) if night_done else None)
        rows.append(RunRow(
            service=row[0], version=row[1], last_seq=int(row[2]), updated_ago=float(row[3]),
            stages=len((started or {}).get("plan") or []),
            stage=int(stage["stage"]) if stage else None, weight=float(stage["weight"]) if stage else None,
            last_decision=str(decision["action"]) if decision else None,
            result=str(done["result"]) if done else None, holder=lease, night=night,
        ))
    return rows


def _lease_row(row: Any) -> LeaseRow:
    return LeaseRow(str(row[0]), str(row[1]), int(row[2]), int(row[3]), float(row[4]), float(row[5]), bool(row[6]))


def _password_of(dsn: str) -> str | None:
    from cockpit.redaction import dsn_password

    return dsn_password(dsn)
