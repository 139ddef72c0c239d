"""A burst of identical requests (idempotency, rate limits); the blast radius lives in blast_radius.py."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cockpit.clock import iso_utc
from cockpit.format import format_value
from cockpit.results import Outcome, Status, unknown
from cockpit.sources.http import connect_problem, describe_http_error, http_client, http_timeout, not_configured

if TYPE_CHECKING:
    import httpx

    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import HttpBurstSpec


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of the values; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def tally_text(statuses: Counter[int]) -> str:
    """"200×19, 201×1" in status order."""
    return ", ".join(f"{code}×{count}" for code, count in sorted(statuses.items())) or "no responses"


# ---------------------------------------------------------------- burst


@dataclass
class Reply:
    """One request of a burst: a status and body digest, or the error that stopped it."""

    latency: float
    status: int | None = None
    body_digest: str | None = None
    error: str | None = None


@dataclass
class BurstReport:
    replies: list[Reply]
    key: str | None

    @property
    def statuses(self) -> Counter[int]:
        return Counter(r.status for r in self.replies if r.status is not None)

    @property
    def errors(self) -> Counter[str]:
        return Counter(r.error for r in self.replies if r.error is not None)

    @property
    def answered(self) -> list[Reply]:
        return [r for r in self.replies if r.status is not None]


async def send_burst(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    count: int,
    concurrency: int,
    headers: dict[str, str],
    body: bytes | None,
    timeout: float,
) -> list[Reply]:
    """Send `count` identical requests, at most `concurrency` in flight; never raises for HTTP errors."""
    import httpx

    gate = asyncio.Semaphore(concurrency)

    async def one() -> Reply:
        async with gate:
            started = time.perf_counter()
            try:
                response = await client.request(method, url, headers=headers, content=body)
            except httpx.HTTPError as exc:
                return Reply(time.perf_counter() - started, error=describe_http_error(exc, url, timeout))
            return Reply(
                time.perf_counter() - started,
                status=response.status_code,
                body_digest=hashlib.sha256(response.content).hexdigest(),
            )

    return list(await asyncio.gather(*(one() for _ in range(count))))


def effect_sql(query: str) -> str:
    """The effect query with a "{key}" placeholder turned into the $1 parameter (never text-formatted)."""
    return query.replace("'{key}'", "$1").replace("{key}", "$1")


async def count_effects(ctx: CheckContext, query: str, args: list[str]) -> tuple[Any, str | None]:
    """The effect query's single value from [postgres] (the run's shared pool): (value, None) or (None, why not)."""
    from cockpit.checks.database import NO_POSTGRES, postgres_source
    from cockpit.sources.postgres import DatabaseError

    source = postgres_source(ctx)
    if source is None:
        return None, NO_POSTGRES
    try:
        rows = await source.fetch(query, *args)
    except DatabaseError as exc:
        return None, f"effect query failed: {exc}"
    if not rows.rows or not rows.rows[0]:
        return None, "effect query returned no row"
    return rows.rows[0][0], None


async def run_burst(spec: HttpBurstSpec, ctx: CheckContext) -> Outcome:
    """N identical requests: status mix, minimum counts (e.g. some 429), effects and distinct bodies."""
    url = ctx.service_url(spec.url)
    if url is None:
        return unknown(not_configured(spec.url))
    try:
        minimums = {int(code): count for code, count in spec.min_status_counts.items()}
    except ValueError:
        return unknown("min_status_counts: keys must be HTTP status codes, e.g. \"429\"")
    query = effect_sql(spec.effect_query) if spec.effect_query else None
    # Refuse before sending anything: a burst with side effects must be measurable.
    if query is not None and ctx.config.postgres is None:
        return unknown("effect_query needs [postgres] (not configured): the effects cannot be counted")
    if query is not None and "$1" in query and not spec.idempotency_header:
        return unknown("effect_query uses the key ($1) but no idempotency_header is set")

    # An unreachable host reads as in every other check, not as N failures outlasting the check's timeout.
    problem = await connect_problem(url, http_timeout(ctx.config.service))
    if problem is not None:
        return unknown(f"no request sent: {problem}")
    key = str(uuid.uuid4()) if spec.idempotency_header else None
    headers = dict(spec.headers)
    if key is not None and spec.idempotency_header:
        headers[spec.idempotency_header] = key
    timeout = http_timeout(ctx.config.service)
    started_at = iso_utc(ctx.clock.now())
    async with http_client(ctx.config.service, concurrency=spec.concurrency) as client:
        wall = time.perf_counter()
        replies = await send_burst(
            client, spec.method, url, spec.requests, spec.concurrency, headers,
            spec.body.encode() if spec.body is not None else None, timeout,
        )
        elapsed = time.perf_counter() - wall
    report = BurstReport(replies, key)
    statuses, errors, answered = report.statuses, report.errors, report.answered

    failures: list[str] = []
    unknowns: list[str] = []
    if errors and answered:
        common, _ = errors.most_common(1)[0]
        failures.append(f"{sum(errors.values())} of {spec.requests} requests got no answer: {common}")
    if spec.allowed_statuses:
        bad = {c: n for c, n in statuses.items() if c not in spec.allowed_statuses}
        if bad:
            failures.append(f"statuses outside {spec.allowed_statuses}: {tally_text(Counter(bad))}")
    else:
        bad = {c: n for c, n in statuses.items() if c >= 500}
        if bad:
            failures.append(f"server errors: {tally_text(Counter(bad))}")
    for code, minimum in sorted(minimums.items()):
        if answered and statuses.get(code, 0) < minimum:
            failures.append(f"{statuses.get(code, 0)} × HTTP {code} (need at least {minimum})")
    distinct = len({r.body_digest for r in answered})
    if spec.max_distinct_bodies is not None and answered and distinct > spec.max_distinct_bodies:
        failures.append(f"{distinct} distinct response bodies (at most {spec.max_distinct_bodies} allowed)")

    effects: Any = None
    if query is not None and answered and ctx.config.postgres is not None:
        args = [key] if "$1" in query and key is not None else []
        effects, problem = await count_effects(ctx, query, args)
        if problem:
            unknowns.append(problem)
        elif isinstance(effects, bool) or not isinstance(effects, (int, float, Decimal)):
            unknowns.append(f"effect query returned {effects!r}, not a number")
        elif spec.expect_effects is not None and effects != spec.expect_effects:
            failures.append(f"{effects:g} effects for one key (expected exactly {spec.expect_effects})")

    latencies = [r.latency for r in answered]
    name = ctx.evidence_name(spec, f"burst_{spec.id}_{{version}}.txt")
    lines = [
        f"# {spec.title} ({spec.id})",
        f"started at: {started_at}",
        f"request: {spec.method} {url}",
        f"requests: {spec.requests}, concurrency: {spec.concurrency}, elapsed: {elapsed:.3f}s",
        f"idempotency key: {spec.idempotency_header}: {key}" if key else "idempotency key: (none)",
        f"statuses: {tally_text(statuses)}",
        f"no answer: {sum(errors.values())}",
        *(f"  {n} × {text}" for text, n in errors.most_common()),
        f"latency: p50={format_value(percentile(latencies, 50), 's', 'audit')} p95={format_value(percentile(latencies, 95), 's', 'audit')} "
        f"max={format_value(max(latencies) if latencies else None, 's', 'audit')}",
        f"distinct bodies: {distinct}",
    ]
    if query is not None:
        lines += [f"effect query: {query}", f"effects: {effects!r} (expected {spec.expect_effects!r})"]

    if not answered:
        common = errors.most_common(1)[0][0] if errors else "no request was sent"
        outcome = unknown(f"all {spec.requests} requests failed: {common}")
    elif failures:
        more = f"; +{len(failures) - 2} more" if len(failures) > 2 else ""
        # the status mix travels with the verdict: "no 429" reads differently when every answer was a 404
        summary = f"{'; '.join(failures[:2])}{more} (statuses: {tally_text(statuses)})"
        outcome = Outcome(Status.FAIL, summary, failures + unknowns)
    elif unknowns:
        outcome = Outcome(Status.UNKNOWN, unknowns[0], unknowns)
    else:
        summary = f"{len(answered)}/{spec.requests} answered: {tally_text(statuses)}"
        if query is not None:
            summary += f"; {effects:g} effect{'s' if effects != 1 else ''}"
        outcome = Outcome(Status.PASS, summary)
    lines += ["", "findings:", *(f"  {text}" for text in failures + unknowns), f"verdict: {outcome.status.value} — {outcome.summary}"]
    outcome.evidence.append(await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join(lines) + "\n"))
    outcome.data.update({"statuses": dict(statuses), "key": key, "effects": effects})
    return outcome
