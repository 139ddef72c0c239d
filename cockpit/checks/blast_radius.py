"""The micro blast radius (T-9): an open-loop API load, a WebSocket round trip and the canary's PromQL view.

The API load is open loop: request i is scheduled at t0 + i/rate, whatever the
canary does, and its latency is measured from that scheduled start. A closed
loop (send the next request when the last one answered) sends fewer requests to
a slow canary and measures each from its late send time, so a 1 s stall costs a
handful of samples and the p95 stays in milliseconds (coordinated omission).
Here a request that waits for a free connection, or is never answered, counts at
its latency from the schedule, or as an error. The run is bounded in count
(`max_requests`) and in time (`duration` plus the request timeout).

Each part writes its evidence (micro_api_<v>.log, micro_ws_<v>.log,
micro_prom_<v>.promql; the run's own log is micro_blast_<v>.log) and is UNKNOWN,
with the reason, when it is not configured or cannot look; never PASS.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cockpit.checks.http_burst import percentile, tally_text
from cockpit.clock import iso_utc
from cockpit.format import format_value
from cockpit.results import Outcome, Status, worst_status
from cockpit.sources.http import connect_problem, describe_http_error, http_client, http_timeout, not_configured

if TYPE_CHECKING:
    import httpx

    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import BlastRadiusSpec

PART_FILES = {"api": "micro_api_{version}.log", "ws": "micro_ws_{version}.log", "prom": "micro_prom_{version}.promql"}


def part_file(ctx: CheckContext, part: str) -> str:
    """A part's evidence file as the seed names it, with {version} filled in."""
    return PART_FILES[part].replace("{version}", ctx.version)


@dataclass
class Shot:
    """One scheduled request: its latency from the schedule, and a status or the error that ended it."""

    endpoint: str
    scheduled: float  # seconds after t0
    latency: float
    status: int | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None or (self.status is not None and self.status >= 500)


@dataclass
class LoadReport:
    """The API part's shots, in the order they finished, and how many the schedule held."""

    scheduled: int
    shots: list[Shot] = field(default_factory=list)
    elapsed: float = 0.0
    stopped_early: str | None = None

    def figures(self, shots: list[Shot] | None = None) -> tuple[float | None, float]:
        """(p95 from the schedule, error rate) over the shots (all of them by default)."""
        chosen = self.shots if shots is None else shots
        p95 = percentile([s.latency for s in chosen], 95)
        return p95, (sum(s.failed for s in chosen) / len(chosen) if chosen else 0.0)


async def open_loop(
    client: httpx.AsyncClient,
    urls: list[str],
    rate: float,
    duration: float,
    max_requests: int,
    concurrency: int,
    timeout: float,
    on_second: callable | None = None,  # type: ignore[valid-type]
) -> LoadReport:
    """GET the URLs in turn at `rate` per second for `duration`; at most `concurrency` in flight."""
    import httpx

    count = min(max_requests, max(1, math.ceil(rate * duration)))
    report = LoadReport(scheduled=count)
    slots = asyncio.Semaphore(concurrency)
    t0 = time.perf_counter()
    hard_end = t0 + duration + timeout  # nothing is waited for after this
    stop = asyncio.Event()
    give_up_after = 5

    async def one(i: int) -> None:
        url = urls[i % len(urls)]
        due = t0 + i / rate
        try:
            async with asyncio.timeout(max(0.0, hard_end - time.perf_counter())):
                async with slots:
                    response = await client.get(url)
            shot = Shot(url, i / rate, time.perf_counter() - due, status=response.status_code)
        except TimeoutError:
            shot = Shot(url, i / rate, time.perf_counter() - due,
                        error=f"no answer by the end of the test ({duration:g}s + {timeout:g}s timeout)")
        except httpx.HTTPError as exc:
            shot = Shot(url, i / rate, time.perf_counter() - due, error=describe_http_error(exc, url, timeout))
        report.shots.append(shot)
        # A dead port fails in microseconds: give up early rather than fire the whole schedule at it.
        if len(report.shots) >= give_up_after and not any(s.status is not None for s in report.shots):
            report.stopped_early = report.shots[0].error
            stop.set()

    async def ticker() -> None:
        second = 0
        while not stop.is_set():
            second += 1
            try:
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, t0 + second - time.perf_counter()))
            except TimeoutError:
                pass
            if on_second is not None:
                await on_second(second, report)

    tasks: list[asyncio.Task[None]] = []
    reporter = asyncio.create_task(ticker())
    try:
        for i in range(count):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                except TimeoutError:
                    pass
            if stop.is_set():
                report.scheduled = i
                break
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        stop.set()
        await asyncio.gather(reporter, return_exceptions=True)
    report.elapsed = time.perf_counter() - t0
    return report


def _endpoint_urls(spec: BlastRadiusSpec, ctx: CheckContext) -> list[str] | None:
    base = ctx.service_url(spec.url)
    if base is None:
        return None
    if not spec.endpoints:
        return [base]
    urls = []
    for endpoint in spec.endpoints:
        if endpoint.startswith(("http://", "https://")):
            urls.append(endpoint)
        else:
            urls.append(base.rstrip("/") + "/" + endpoint.lstrip("/"))
    return urls


@dataclass
class Part:
    """One part's verdict, its evidence file and its figures."""

    name: str
    outcome: Outcome
    data: dict[str, object] = field(default_factory=dict)


async def _write(ctx: CheckContext, name: str, lines: list[str]) -> str:
    return await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join(lines) + "\n")


async def api_part(spec: BlastRadiusSpec, ctx: CheckContext, log: callable) -> Part:  # type: ignore[valid-type]
    """The open-loop load against the endpoints: p95 from the schedule and error rate against the limits."""
    name = part_file(ctx, "api")
    urls = _endpoint_urls(spec, ctx)
    if urls is None:
        outcome = Outcome(Status.UNKNOWN, f"api: {not_configured(spec.url)}")
        outcome.evidence.append(await _write(ctx, name, [f"# {spec.id} api part", f"verdict: UNKNOWN — {outcome.summary}"]))
        return Part("api", outcome)
    timeout = http_timeout(ctx.config.service)
    problem = await connect_problem(urls[0], timeout)
    if problem is not None:
        outcome = Outcome(Status.UNKNOWN, f"api: {problem}")
        outcome.evidence.append(await _write(ctx, name, [f"# {spec.id} api part", f"verdict: UNKNOWN — {outcome.summary}"]))
        return Part("api", outcome)

    async def each_second(second: int, report: LoadReport) -> None:
        p95, rate = report.figures()
        text = (f"t+{second:>3}s sent={min(report.scheduled, math.ceil(second * spec.rate))} answered={len(report.shots)} "
                f"p95={format_value(p95, 's', 'audit')} errors={sum(s.failed for s in report.shots)} ({rate:.2%})")
        ctx.progress(spec.id, f"{min(second, math.ceil(spec.duration))}s/{spec.duration:g}s p95={format_value(p95, 's', 'audit')} errors={rate:.2%}")
        await log(text)

    async with http_client(ctx.config.service, concurrency=spec.concurrency) as client:
        report = await open_loop(client, urls, spec.rate, spec.duration, spec.max_requests, spec.concurrency, timeout, each_second)

    p95, error_rate = report.figures()
    answered = [s for s in report.shots if s.status is not None]
    statuses = Counter(s.status for s in answered)
    errors = Counter(s.error for s in report.shots if s.error is not None)
    figures = (f"{len(report.shots)} requests at {spec.rate:g}/s in {report.elapsed:.1f}s p95={format_value(p95, 's', 'audit')} "
               f"errors={sum(s.failed for s in report.shots)} ({error_rate:.2%})")
    details = [f"statuses: {tally_text(statuses)}"] + [f"no answer: {n} × {text}" for text, n in errors.most_common(3)]
    per_endpoint = []
    for url in urls:
        mine = [s for s in report.shots if s.endpoint == url]
        ep95, erate = report.figures(mine)
        per_endpoint.append(f"{url}: {len(mine)} requests p95={format_value(ep95, 's', 'audit')} errors={erate:.2%}")
    if len(urls) > 1:
        details += per_endpoint
    if not answered:
        common = report.stopped_early or (errors.most_common(1)[0][0] if errors else "no request was sent")
        outcome = Outcome(Status.UNKNOWN, f"api: no request got an answer: {common}", details)
    elif len(report.shots) < spec.min_requests:
        outcome = Outcome(Status.UNKNOWN, f"api: only {len(report.shots)} requests (need at least {spec.min_requests}): {figures}", details)
    else:
        failures = []
        if p95 is not None and p95 > spec.max_p95:
            failures.append(f"p95 {format_value(p95, 's', 'audit')} over {format_value(spec.max_p95, 's', 'audit')}")
        if error_rate > spec.max_error_rate:
            failures.append(f"error rate {error_rate:.2%} over {spec.max_error_rate:.2%}")
        status = Status.FAIL if failures else Status.PASS
        outcome = Outcome(status, f"api: {'; '.join(failures) + ': ' if failures else ''}{figures}", details)
    lines = [
        f"# {spec.id} api part: GET {', '.join(urls)} open loop at {spec.rate:g}/s for {spec.duration:g}s "
        f"(at most {spec.concurrency} in flight, {spec.max_requests} requests); latency from each request's scheduled start",
        *per_endpoint,
        f"statuses: {tally_text(statuses)}",
        *(f"no answer: {n} × {text}" for text, n in errors.most_common()),
        "",
        "scheduled_s\tlatency_ms\tstatus\tendpoint",
        *(f"{s.scheduled:.3f}\t{s.latency * 1000:.1f}\t{s.status if s.status is not None else s.error}\t{s.endpoint}"
          for s in sorted(report.shots, key=lambda s: s.scheduled)),
        "",
        f"verdict: {outcome.status.value} — {outcome.summary}",
    ]
    outcome.evidence.append(await _write(ctx, name, lines))
    return Part("api", outcome, {"p95": p95, "error_rate": error_rate, "requests": len(report.shots),
                                  "window": report.elapsed})


async def ws_part(spec: BlastRadiusSpec, ctx: CheckContext) -> Part:
    """Connect to [service] ws_url and time one message round trip."""
    from cockpit.sources.websocket import ws_round_trip

    name = part_file(ctx, "ws")
    service = ctx.config.service
    url = service.ws_url if service is not None else None
    if url is None:
        outcome = Outcome(Status.UNKNOWN, "ws: [service] ws_url is not configured (set it, or leave \"ws\" out of parts)")
        outcome.evidence.append(await _write(ctx, name, [f"# {spec.id} ws part", f"verdict: UNKNOWN — {outcome.summary}"]))
        return Part("ws", outcome)
    trip = await ws_round_trip(url, spec.ws_message, http_timeout(service), service.verify_tls if service else True)
    if trip.error is not None or trip.total_s is None:
        outcome = Outcome(Status.UNKNOWN, f"ws: {trip.error or 'no round trip'}")
    else:
        figures = f"connect {format_value(trip.connect_s, 's', 'audit')} + round trip {format_value(trip.round_trip_s, 's', 'audit')} = {format_value(trip.total_s, 's', 'audit')}"
        if trip.total_s > spec.max_ws_latency:
            outcome = Outcome(Status.FAIL, f"ws: {figures} over {format_value(spec.max_ws_latency, 's', 'audit')}")
        else:
            outcome = Outcome(Status.PASS, f"ws: {figures}")
    lines = [f"# {spec.id} ws part: {url} at {iso_utc(ctx.clock.now())}", f"sent: {spec.ws_message!r}",
             f"reply: {trip.reply!r}", f"connect: {format_value(trip.connect_s, 's', 'audit')}", f"round trip: {format_value(trip.round_trip_s, 's', 'audit')}",
             f"verdict: {outcome.status.value} — {outcome.summary}"]
    outcome.evidence.append(await _write(ctx, name, lines))
    return Part("ws", outcome, {"connect": trip.connect_s, "round_trip": trip.round_trip_s})


async def prom_part(spec: BlastRadiusSpec, ctx: CheckContext, window_s: float) -> Part:
    """The golden signals `prom_signals` read from Prometheus over the test window, each judged on its max/min."""
    from cockpit.checks.runner import prometheus_source
    from cockpit.engine.promql_text import render_query

    name = part_file(ctx, "prom")
    source = prometheus_source(ctx)
    if source is None:
        outcome = Outcome(Status.UNKNOWN, "prom: [prometheus] is not configured: the canary's view cannot be read")
        outcome.evidence.append(await _write(ctx, name, [f"# {spec.id} prom part", f"# verdict: UNKNOWN — {outcome.summary}"]))
        return Part("prom", outcome)
    window = max(1, math.ceil(window_s))
    lines = [f"# {spec.id} prom part at {iso_utc(ctx.clock.now())}, window {window}s (the test's length)"]
    statuses: list[Status] = []
    found: list[str] = []
    data: dict[str, object] = {}
    for signal_name in spec.prom_signals:
        signal = ctx.config.signals.get(signal_name)
        if signal is None:
            statuses.append(Status.UNKNOWN)
            found.append(f"{signal_name}: no such signal in the config")
            lines.append(f"# {signal_name}: no such signal")
            continue
        query = render_query(signal.query, window, ctx.config.canary)
        result = await source.query(query)
        value = result.scalar()
        data[signal_name] = value
        if value is None:
            statuses.append(Status.UNKNOWN)
            found.append(f"{signal_name}: {result.describe_missing()}")
        elif (signal.max is not None and value > signal.max) or (signal.min is not None and value < signal.min):
            statuses.append(Status.FAIL)
            found.append(f"{signal_name}={value:.4g} outside its limit (max {signal.max}, min {signal.min})")
        else:
            statuses.append(Status.PASS)
            found.append(f"{signal_name}={value:.4g}")
        lines += [f"# {signal_name} = {value if value is not None else result.describe_missing()}"
                  f" (max {signal.max}, min {signal.min})", query]
    status = worst_status(statuses) if statuses else Status.UNKNOWN
    outcome = Outcome(status, "prom: " + ("; ".join(found) if found else "no signals named in prom_signals"))
    lines.append(f"# verdict: {outcome.status.value} — {outcome.summary}")
    outcome.evidence.append(await _write(ctx, name, lines))
    return Part("prom", outcome, data)


async def run_blast_radius(spec: BlastRadiusSpec, ctx: CheckContext) -> Outcome:
    """The parts in `parts`, in turn (the PromQL part reads the API part's window); the worst verdict wins."""
    name = ctx.evidence_name(spec, "micro_blast_{version}.log")

    async def log(line: str) -> None:
        await asyncio.to_thread(ctx.evidence.append_line, name, line)

    await log(f"# {spec.id} started {iso_utc(ctx.clock.now())}: parts {', '.join(spec.parts)}; "
              f"{spec.duration:g}s at {spec.rate:g}/s against {spec.url}")
    parts: list[Part] = []
    window = spec.duration
    if "api" in spec.parts:
        api = await api_part(spec, ctx, log)
        parts.append(api)
        if "window" in api.data:
            window = float(api.data["window"])  # type: ignore[arg-type]
    if "ws" in spec.parts:
        parts.append(await ws_part(spec, ctx))
    if "prom" in spec.parts:
        parts.append(await prom_part(spec, ctx, window))
    status = worst_status([p.outcome.status for p in parts]) if parts else Status.UNKNOWN
    summary = " | ".join(p.outcome.summary for p in parts) or "no parts to run (parts is empty)"
    details = [f"{p.outcome.status.value} {p.outcome.summary}" for p in parts]
    details += [d for p in parts for d in p.outcome.details]
    await log(f"summary: {summary} → {status.value}")
    outcome = Outcome(status, summary, details)
    outcome.evidence = [name] + [e for p in parts for e in p.outcome.evidence]
    for part in parts:
        outcome.data.update({f"{part.name}_{k}": v for k, v in part.data.items() if k != "window"})
    return outcome
