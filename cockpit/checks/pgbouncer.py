"""pgBouncer checks: pool saturation (SHOW POOLS) and connection leaks (idle transactions, held servers, waiting clients)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cockpit.checks.database import NO_PGBOUNCER, NO_POSTGRES, pgbouncer_source, postgres_source, write_evidence
from cockpit.checks.runner import CheckContext
from cockpit.checks.specs import PgBouncerLeaksSpec, PgBouncerPoolsSpec
from cockpit.clock import iso_utc
from cockpit.format import format_duration
from cockpit.results import Outcome, Status, unknown, worst_status
from cockpit.sources.pgbouncer import ADMIN_DATABASE, number
from cockpit.sources.postgres import APPLICATION_NAME, DatabaseError
from cockpit.sources.rows import Rows

# ---------------------------------------------------------------- pools

POOL_COLUMNS = ["database", "user", "cl_active", "cl_waiting", "sv_active", "sv_idle", "sv_used", "sv_tested",
                "sv_login", "maxwait", "maxwait_us", "pool_mode"]


@dataclass
class PoolUse:
    """One pool's clients and servers, the cockpit's own connections already taken out."""

    database: str
    user: str
    waiting: int
    active: int
    size: int | None  # None: pgBouncer did not say
    own_waiting: int = 0
    own_active: int = 0

    @property
    def name(self) -> str:
        return f"{self.database}/{self.user}"

    @property
    def utilisation(self) -> float | None:
        return self.active / self.size if self.size else None


def pool_sizes(databases: list[dict[str, Any]], config: list[dict[str, Any]]) -> tuple[dict[str, int], int | None]:
    """Pool size per database (SHOW DATABASES) and the default (SHOW CONFIG default_pool_size)."""
    sizes: dict[str, int] = {}
    for row in databases:
        size = number(row.get("pool_size"))
        if row.get("name") and size is not None and size > 0:
            sizes[str(row["name"])] = int(size)
    default = next((number(r.get("value")) for r in config if r.get("key") == "default_pool_size"), None)
    return sizes, int(default) if default else None


def is_own_client(row: dict[str, Any], console: tuple[str, int] | None) -> bool:
    """A SHOW CLIENTS row that is the cockpit: one of its checks' connections, or the console connection asking."""
    if row.get("application_name") == APPLICATION_NAME:
        return True
    if console is None:
        return False
    port = number(row.get("port"))
    return str(row.get("addr")) == console[0] and port is not None and int(port) == console[1]


def own_connections(
    clients: list[dict[str, Any]], console: tuple[str, int] | None = None
) -> dict[tuple[str, str], tuple[int, int]]:
    """The cockpit's own clients per pool: (waiting, holding a server).

    The checks of one run share a few connections; when they go through the same
    pgBouncer they show up in SHOW POOLS too (waiting while a cold pool logs in,
    active while they run), and must not be mistaken for the service's load.
    """
    own: dict[tuple[str, str], tuple[int, int]] = {}
    for row in clients:
        if not is_own_client(row, console):
            continue
        key = (str(row.get("database")), str(row.get("user")))
        waiting, active = own.get(key, (0, 0))
        if row.get("state") == "waiting":
            waiting += 1
        elif row.get("state") == "active" and row.get("link"):
            active += 1
        own[key] = (waiting, active)
    return own


def pool_uses(
    pools: list[dict[str, Any]],
    sizes: dict[str, int],
    default_size: int | None,
    own: dict[tuple[str, str], tuple[int, int]] | None = None,
) -> list[PoolUse]:
    """The client pools (the admin console's own pool left out) with their size, the cockpit's connections taken out."""
    uses = []
    for row in pools:
        database = str(row.get("database"))
        if database == ADMIN_DATABASE:
            continue
        user = str(row.get("user"))
        own_waiting, own_active = (own or {}).get((database, user), (0, 0))
        waiting = int(number(row.get("cl_waiting")) or 0)
        active = int(number(row.get("sv_active")) or 0)
        uses.append(PoolUse(
            database=database,
            user=user,
            waiting=max(0, waiting - own_waiting),
            active=max(0, active - own_active),
            size=sizes.get(database, default_size),
            own_waiting=min(own_waiting, waiting),
            own_active=min(own_active, active),
        ))
    return uses


def judge_pools(uses: list[PoolUse], spec: PgBouncerPoolsSpec) -> Outcome:
    """Waiting clients over the limit FAIL; the busiest pool's use over max FAIL, over warn WARN."""
    waiting = sum(u.waiting for u in uses)
    measured = [u for u in uses if u.utilisation is not None]
    unsized = [u for u in uses if u.utilisation is None]
    busiest = max(measured, key=lambda u: u.utilisation or 0.0, default=None)
    statuses: list[Status] = []
    parts: list[str] = []

    if waiting > spec.max_waiting_clients:
        statuses.append(Status.FAIL)
        where = ", ".join(f"{u.name} {u.waiting}" for u in uses if u.waiting)
        parts.append(f"{waiting} clients waiting (max {spec.max_waiting_clients}; {where})")
    else:
        parts.append(f"{waiting} waiting (max {spec.max_waiting_clients})")

    if busiest is not None:
        use = busiest.utilisation or 0.0
        shown = f"pool use {use:.0%} {busiest.name} ({busiest.active}/{busiest.size} servers active)"
        if use > spec.max_pool_utilisation:
            statuses.append(Status.FAIL)
            parts.append(f"{shown} > max {spec.max_pool_utilisation:.0%}")
        elif use > spec.warn_pool_utilisation:
            statuses.append(Status.WARN)
            parts.append(f"{shown} > warn {spec.warn_pool_utilisation:.0%}")
        else:
            parts.append(f"{shown} (warn {spec.warn_pool_utilisation:.0%}, max {spec.max_pool_utilisation:.0%})")
    elif not uses:
        parts.append("no client pools yet (nothing has connected through pgBouncer)")
    if unsized:
        statuses.append(Status.UNKNOWN)
        parts.append("pool size unknown for " + ", ".join(u.name for u in unsized))
    statuses.append(Status.PASS)

    details = [
        f"{u.name}: waiting {u.waiting}, active {u.active}/{u.size if u.size else '?'}"
        + (f" ({u.utilisation:.0%})" if u.utilisation is not None else "")
        + (f"; not counted: the cockpit's own {u.own_waiting} waiting, {u.own_active} active"
           if u.own_waiting or u.own_active else "")
        for u in uses
    ]
    return Outcome(worst_status(statuses), "; ".join(parts), details)


def pools_tsv(pools: list[dict[str, Any]], uses: list[PoolUse]) -> str:
    by_name = {(u.database, u.user): u for u in uses}
    columns = list(pools[0]) if pools else POOL_COLUMNS
    rows = []
    for row in pools:
        use = by_name.get((str(row.get("database")), str(row.get("user"))))
        ratio = use.utilisation if use else None
        extra = (use.size, use.own_waiting, use.own_active) if use else (None, None, None)
        rows.append(tuple(row.get(c) for c in columns) + extra + (None if ratio is None else round(ratio, 4),))
    return Rows(columns + ["pool_size", "cockpit_waiting", "cockpit_active", "utilisation"], rows).to_tsv()


# How many times the pools are read before judging a picture that keeps moving.
POOL_READS = 5


def pool_counts(pools: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(cl_active, cl_waiting, sv_active) per client pool: what two reads must agree on."""
    return {
        (str(r.get("database")), str(r.get("user"))): tuple(int(number(r.get(c)) or 0) for c in ("cl_active", "cl_waiting", "sv_active"))
        for r in pools
        if r.get("database") != ADMIN_DATABASE
    }  # type: ignore[misc]


def clients_waiting(clients: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Waiting clients per pool as SHOW CLIENTS lists them (the cockpit's own included, as SHOW POOLS counts them)."""
    waiting: dict[tuple[str, str], int] = {}
    for row in clients:
        if row.get("state") == "waiting" and row.get("database") != ADMIN_DATABASE:
            key = (str(row.get("database")), str(row.get("user")))
            waiting[key] = waiting.get(key, 0) + 1
    return waiting


def consistent(before: list[dict[str, Any]], clients: list[dict[str, Any]], after: list[dict[str, Any]]) -> bool:
    """One picture: the pools did not move between the two SHOW POOLS, and SHOW CLIENTS between them counts the same waiting."""
    counts = pool_counts(before)
    if counts != pool_counts(after):
        return False
    listed = clients_waiting(clients)
    return all(listed.get(key, 0) == waiting for key, (_, waiting, _) in counts.items())


async def read_pools(source: Any) -> tuple[list[list[dict[str, Any]]], tuple[str, int] | None, int, bool]:
    """SHOW POOLS, CLIENTS, POOLS (plus DATABASES, CONFIG) until one read is a consistent picture.

    A client of the cockpit's own run that logs in between two SHOW commands was
    once counted as a waiting client of the service (a false FAIL on a healthy
    database): a picture is judged only when the pools held still while it was
    read. Returns (the reads, the console's own address, reads made, consistent?);
    when the pools never hold still the calmest read (fewest waiting) is returned.
    """
    calmest: tuple[list[list[dict[str, Any]]], tuple[str, int] | None] | None = None
    for attempt in range(1, POOL_READS + 1):
        shown, console = await source.show_in_order("POOLS", "CLIENTS", "POOLS", "DATABASES", "CONFIG")
        if consistent(shown[0], shown[1], shown[2]):
            return shown, console, attempt, True
        waiting = sum(w for _, w, _ in pool_counts(shown[2]).values())
        if calmest is None or waiting < sum(w for _, w, _ in pool_counts(calmest[0][2]).values()):
            calmest = (shown, console)
        await asyncio.sleep(0.05 * attempt)
    assert calmest is not None
    return calmest[0], calmest[1], POOL_READS, False


async def run_pools(spec: PgBouncerPoolsSpec, ctx: CheckContext) -> Outcome:
    source = pgbouncer_source(ctx)
    if source is None:
        return unknown(NO_PGBOUNCER)
    try:
        shown, console, reads, steady = await read_pools(source)
    except DatabaseError as exc:
        return unknown(str(exc))
    pools, clients, databases, config = shown[2], shown[1], shown[3], shown[4]
    sizes, default_size = pool_sizes(databases, config)
    uses = pool_uses(pools, sizes, default_size, own_connections(clients, console))
    outcome = judge_pools(uses, spec)
    if not steady:
        outcome.details.append(f"the pools kept changing over {reads} reads: judged on the read with the fewest waiting")
    elif reads > 1:
        outcome.details.append(f"read {reads} times before the pools held still")
    name = ctx.evidence_name(spec, "pgbouncer_pools_{version}.tsv")
    outcome.evidence.append(await write_evidence(ctx, name, pools_tsv(pools, uses)))
    return outcome


# ---------------------------------------------------------------- leaks

IDLE_IN_TRANSACTION_SQL = """
SELECT pid, datname, usename, application_name, client_addr::text AS client_addr, state,
       extract(epoch FROM clock_timestamp() - state_change)::float8 AS idle_seconds,
       extract(epoch FROM clock_timestamp() - xact_start)::float8 AS transaction_seconds
FROM pg_stat_activity
WHERE state IN ('idle in transaction', 'idle in transaction (aborted)') AND pid <> pg_backend_pid()
ORDER BY idle_seconds DESC
"""
# Without pg_read_all_stats (pg_monitor) other roles' sessions show only pid, database and user: state
# and backend_type are NULL, so the check would be blind to their open transactions.
HIDDEN_SESSIONS_SQL = """
SELECT count(*) AS hidden FROM pg_stat_activity
WHERE datname IS NOT NULL AND backend_type IS NULL
"""


@dataclass
class LeakPart:
    """One of the three looks; `problem` set means it could not look."""

    title: str
    status: Status = Status.PASS
    summary: str = ""
    problem: str | None = None
    rows: Rows | None = None
    details: list[str] = field(default_factory=list)


def parse_console_time(text: Any) -> float | None:
    """pgBouncer's 'YYYY-MM-DD HH:MM:SS[.ffffff] UTC' as epoch seconds; None when absent or unreadable."""
    if not text:
        return None
    value = str(text).strip().removesuffix(" UTC").removesuffix("Z")
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    return None


def client_wait_seconds(row: dict[str, Any]) -> float:
    """SHOW CLIENTS wait + wait_us: how long a waiting client has waited."""
    return (number(row.get("wait")) or 0.0) + (number(row.get("wait_us")) or 0.0) / 1_000_000


def held_servers(servers: list[dict[str, Any]], now: float, max_age: float) -> list[tuple[dict[str, Any], float]]:
    """Active server connections connected longer ago than max_age, with their age."""
    found = []
    for row in servers:
        if row.get("state") != "active":
            continue
        connected = parse_console_time(row.get("connect_time"))
        if connected is not None and now - connected > max_age:
            found.append((row, now - connected))
    return found


def waiting_clients(clients: list[dict[str, Any]], max_wait: float) -> list[tuple[dict[str, Any], float]]:
    found = []
    for row in clients:
        if row.get("state") == "waiting" and client_wait_seconds(row) > max_wait:
            found.append((row, client_wait_seconds(row)))
    return found


async def _idle_transactions(spec: PgBouncerLeaksSpec, ctx: CheckContext) -> LeakPart:
    part = LeakPart("idle in transaction (pg_stat_activity)")
    source = postgres_source(ctx)
    if source is None:
        part.problem = NO_POSTGRES
        return part
    try:
        rows, hidden = await asyncio.gather(source.fetch(IDLE_IN_TRANSACTION_SQL), source.fetch(HIDDEN_SESSIONS_SQL))
    except DatabaseError as exc:
        part.problem = str(exc)
        return part
    part.rows = rows
    limit = spec.max_idle_in_transaction
    leaks = [r for r in rows.dicts() if (r["idle_seconds"] or 0) > limit]
    if leaks:
        part.status = Status.FAIL
        longest = max(r["idle_seconds"] for r in leaks)
        part.summary = f"{len(leaks)} idle in transaction > {format_duration(limit)} (longest {format_duration(longest)})"
        part.details = [
            f"pid {r['pid']} {r['usename']}@{r['datname']} app={r['application_name'] or '-'} "
            f"from {r['client_addr'] or 'local'}: idle {format_duration(r['idle_seconds'])}"
            for r in leaks
        ]
    else:
        part.summary = f"0 idle in transaction > {format_duration(limit)}"
    hidden_count = int(hidden.rows[0][0]) if hidden.rows else 0
    if hidden_count:
        note = (f"{hidden_count} sessions of other roles are hidden from {source.parts.user or 'the cockpit role'}: "
                f"grant pg_monitor (or pg_read_all_stats) to see them")
        part.details.append(note)
        if part.status is Status.PASS:
            part.problem = note
    return part


async def _bouncer_parts(spec: PgBouncerLeaksSpec, ctx: CheckContext) -> tuple[LeakPart, LeakPart]:
    servers = LeakPart("long-held server connections (SHOW SERVERS)")
    clients = LeakPart("waiting clients (SHOW CLIENTS)")
    source = pgbouncer_source(ctx)
    if source is None:
        servers.problem = clients.problem = NO_PGBOUNCER
        return servers, clients
    try:
        shown = await source.show("SERVERS", "CLIENTS")
    except DatabaseError as exc:
        servers.problem = clients.problem = str(exc)
        return servers, clients
    now = ctx.clock.now()
    servers.rows = Rows.from_dicts(shown["SERVERS"])
    clients.rows = Rows.from_dicts(shown["CLIENTS"])

    held = held_servers(shown["SERVERS"], now, spec.max_server_connection_age)
    age_limit = format_duration(spec.max_server_connection_age)
    if held:
        servers.status = Status.FAIL
        servers.summary = f"{len(held)} active servers held > {age_limit} (oldest {format_duration(max(a for _, a in held))})"
        servers.details = [
            f"server pid {r.get('remote_pid')} {r.get('user')}@{r.get('database')} connected {r.get('connect_time')}: "
            f"{format_duration(age)}"
            for r, age in held
        ]
    else:
        servers.summary = f"0 active servers held > {age_limit}"

    waiting = waiting_clients(shown["CLIENTS"], spec.max_client_wait)
    wait_limit = format_duration(spec.max_client_wait)
    if waiting:
        clients.status = Status.FAIL
        clients.summary = f"{len(waiting)} clients waiting > {wait_limit} (longest {format_duration(max(w for _, w in waiting))})"
        clients.details = [
            f"client {r.get('user')}@{r.get('database')} from {r.get('addr')}:{r.get('port')}"
            f" app={r.get('application_name') or '-'}: waiting {format_duration(wait)}"
            for r, wait in waiting
        ]
    else:
        clients.summary = f"0 clients waiting > {wait_limit}"
    return servers, clients


def leaks_report(parts: list[LeakPart], at: str) -> str:
    lines = [f"# pgBouncer leak detection at {at}", ""]
    for part in parts:
        state = "UNKNOWN" if part.problem and part.status is Status.PASS else part.status.value
        lines.append(f"## {part.title}: {state}: {part.problem or part.summary}")
        lines.extend(f"  {d}" for d in part.details)
        if part.rows is not None:
            lines.append(part.rows.to_tsv().rstrip("\n"))
        lines.append("")
    return "\n".join(lines)


async def run_leaks(spec: PgBouncerLeaksSpec, ctx: CheckContext) -> Outcome:
    idle, (servers, clients) = await asyncio.gather(_idle_transactions(spec, ctx), _bouncer_parts(spec, ctx))
    parts = [idle, servers, clients]
    statuses = [p.status for p in parts] + [Status.UNKNOWN for p in parts if p.problem]
    status = worst_status(statuses)
    texts = []
    for part in parts:
        if part.problem and part.status is Status.PASS:
            texts.append(f"{part.title.split(' (')[0]}: could not look: {part.problem}")
        else:
            texts.append(part.summary)
    # Problems first when they decide the status: an UNKNOWN must say why at the start.
    if status is Status.UNKNOWN:
        texts.sort(key=lambda t: "could not look" not in t)
    details = [d for p in parts for d in p.details]
    name = ctx.evidence_name(spec, "pgbouncer_leaks_{version}.txt")
    written = await write_evidence(ctx, name, leaks_report(parts, iso_utc(ctx.clock.now())))
    return Outcome(status, "; ".join(texts), details, [written])
