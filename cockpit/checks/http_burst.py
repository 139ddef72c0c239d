"""Load-shaped HTTP checks: a burst of identical requests (idempotency, rate limits) and the blast-radius run."""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from cockpit.clock import iso_utc
from cockpit.results import Outcome, Status, unknown
from cockpit.sources.http import describe_http_error, http_client, http_timeout, not_configured

if TYPE_CHECKING:
    import httpx

    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import BlastRadiusSpec, HttpBurstSpec


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of the values; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.1f}ms"


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
    client: "httpx.AsyncClient",
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


async def count_effects(ctx: "CheckContext", query: str, args: list[str]) -> tuple[Any, str | None]:
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


async def run_burst(spec: "HttpBurstSpec", ctx: "CheckContext") -> Outcome:
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
        f"latency: p50={_ms(percentile(latencies, 50))} p95={_ms(percentile(latencies, 95))} "
        f"max={_ms(max(latencies) if latencies else None)}",
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


# ---------------------------------------------------------------- blast radius


@dataclass
class BlastTally:
    """Counts and latencies for the whole run and for the current one-second window."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    window_latencies: list[float] = field(default_factory=list)
    window_requests: int = 0
    window_errors: int = 0

    @property
    def responses(self) -> int:
        return sum(self.statuses.values())

    @property
    def total(self) -> int:
        return self.responses + sum(self.errors.values())

    @property
    def failed(self) -> int:
        """5xx responses plus requests that got no answer."""
        return sum(n for code, n in self.statuses.items() if code >= 500) + sum(self.errors.values())

    def record(self, status: int, latency: float) -> None:
        self.statuses[status] += 1
        self.latencies.append(latency)
        self.window_latencies.append(latency)
        self.window_requests += 1
        if status >= 500:
            self.window_errors += 1

    def record_error(self, text: str) -> None:
        self.errors[text] += 1
        self.window_requests += 1
        self.window_errors += 1

    def take_window(self) -> tuple[list[float], int, int]:
        """The last window's latencies, request count and error count; starts a new window."""
        window = (self.window_latencies, self.window_requests, self.window_errors)
        self.window_latencies, self.window_requests, self.window_errors = [], 0, 0
        return window


async def run_blast_radius(spec: "BlastRadiusSpec", ctx: "CheckContext") -> Outcome:
    """GET the URL for `duration` seconds at `concurrency`; p50/p95/p99 and error rate against limits."""
    import httpx

    url = ctx.service_url(spec.url)
    if url is None:
        return unknown(not_configured(spec.url))
    name = ctx.evidence_name(spec, "micro_blast_{version}.log")
    timeout = http_timeout(ctx.config.service)
    started = f"# {spec.id} started {iso_utc(ctx.clock.now())}: GET {url} for {spec.duration:g}s at concurrency {spec.concurrency}"
    await asyncio.to_thread(ctx.evidence.append_line, name, started)
    tally = BlastTally()
    stop = asyncio.Event()
    start = time.perf_counter()
    deadline = start + spec.duration
    # A dead port fails in microseconds: give up early rather than spin for the whole duration.
    give_up_after = max(5, 2 * spec.concurrency)

    async with http_client(ctx.config.service, concurrency=spec.concurrency) as client:

        async def worker() -> None:
            while not stop.is_set() and time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    response = await client.get(url)
                except httpx.HTTPError as exc:
                    tally.record_error(describe_http_error(exc, url, timeout))
                    if tally.responses == 0 and sum(tally.errors.values()) >= give_up_after:
                        stop.set()
                    continue
                tally.record(response.status_code, time.perf_counter() - sent)

        async def progress() -> None:
            second = 0
            while not stop.is_set():
                second += 1
                try:
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, start + second - time.perf_counter()))
                except (asyncio.TimeoutError, TimeoutError):
                    pass
                window, window_requests, window_errors = tally.take_window()
                line = (
                    f"t+{second:>3}s requests={tally.total} errors={tally.failed} | this second: "
                    f"{window_requests} requests, {window_errors} errors, p95={_ms(percentile(window, 95))}"
                )
                await asyncio.to_thread(ctx.evidence.append_line, name, line)

        reporter = asyncio.create_task(progress())
        try:
            await asyncio.gather(*(worker() for _ in range(spec.concurrency)))
        finally:
            stop.set()
            await reporter
    elapsed = time.perf_counter() - start

    p50, p95, p99 = (percentile(tally.latencies, p) for p in (50, 95, 99))
    error_rate = tally.failed / tally.total if tally.total else 0.0
    figures = (
        f"requests={tally.total} in {elapsed:.1f}s ({tally.total / elapsed if elapsed else 0:.0f}/s) "
        f"p50={_ms(p50)} p95={_ms(p95)} p99={_ms(p99)} errors={tally.failed} ({error_rate:.2%})"
    )
    details = [f"statuses: {tally_text(tally.statuses)}"]
    details += [f"no answer: {n} × {text}" for text, n in tally.errors.most_common(3)]
    if tally.responses == 0:
        common = tally.errors.most_common(1)[0][0] if tally.errors else "no request completed"
        outcome = unknown(f"no request got an answer: {common}", *details)
    elif tally.total < spec.min_requests:
        outcome = unknown(f"only {tally.total} requests in {elapsed:.1f}s (need at least {spec.min_requests}): {figures}", *details)
    else:
        failures = []
        if p95 is not None and p95 > spec.max_p95:
            failures.append(f"p95 {_ms(p95)} over {_ms(spec.max_p95)}")
        if error_rate > spec.max_error_rate:
            failures.append(f"error rate {error_rate:.2%} over {spec.max_error_rate:.2%}")
        if failures:
            outcome = Outcome(Status.FAIL, f"{'; '.join(failures)}: {figures}", details)
        else:
            outcome = Outcome(Status.PASS, figures, details)
    summary_line = f"summary: {figures} statuses: {tally_text(tally.statuses)} → {outcome.status.value}"
    await asyncio.to_thread(ctx.evidence.append_line, name, summary_line)
    outcome.evidence.append(name)
    outcome.data.update({"p50": p50, "p95": p95, "p99": p99, "error_rate": error_rate, "requests": tally.total})
    return outcome
