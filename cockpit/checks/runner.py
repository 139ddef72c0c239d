"""Runs checks concurrently, each under its timeout; every failure becomes a result, never a traceback."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cockpit.clock import Clock, SystemClock, iso_utc
from cockpit.config import CockpitConfig
from cockpit.evidence import EvidenceStore
from cockpit.redaction import Redactor
from cockpit.results import CheckResult, Outcome, Status, exit_code_for, worst_status

# kind -> "module:function"; modules are imported only when a check of that kind runs.
KINDS: dict[str, str] = {
    "identity": "cockpit.checks.identity:run_identity",
    "clock_drift": "cockpit.checks.clock_drift:run_clock_drift",
    "sql": "cockpit.checks.sql:run_sql",
    "pgbouncer_pools": "cockpit.checks.pgbouncer:run_pools",
    "pgbouncer_leaks": "cockpit.checks.pgbouncer:run_leaks",
    "http_headers": "cockpit.checks.http_headers:run_headers",
    "coep_subresources": "cockpit.checks.http_headers:run_subresources",
    "http_burst": "cockpit.checks.http_burst:run_burst",
    "blast_radius": "cockpit.checks.blast_radius:run_blast_radius",
    "promql": "cockpit.checks.promql:run_promql",
    "prom_targets": "cockpit.checks.promql:run_targets",
    "baseline": "cockpit.checks.promql:run_baseline",
    "signals_probe": "cockpit.checks.signals_probe:run_signals_probe",
    "feature_flags": "cockpit.checks.feature_flags:run_feature_flags",
    "files": "cockpit.checks.files:run_files",
    "sbom": "cockpit.checks.sbom:run_sbom",
    "alertmanager_silences": "cockpit.checks.alertmanager:run_silences",
    "manual": "cockpit.checks.manual:run_manual",
    "computed": "cockpit.checks.computed:run_computed",
}

CheckFunction = Callable[[Any, "CheckContext"], Awaitable[Outcome]]


@dataclass
class CheckContext:
    """What a check may use: config, the release, its evidence folder, a clock, shared sources."""

    config: CockpitConfig
    version: str
    evidence: EvidenceStore
    clock: Clock = field(default_factory=SystemClock)
    redactor: Redactor = field(default_factory=Redactor)
    # Sources are created once per run and shared by the checks (see cockpit.sources.pool).
    shared: dict[str, Any] = field(default_factory=dict)
    # Where a long check reports how it is going (check id, one line): the CLI's live line.
    on_progress: Callable[[str, str], None] | None = None

    def progress(self, check_id: str, text: str) -> None:
        """Report a running check's progress; a failing display never stops the check."""
        if self.on_progress is not None:
            try:
                self.on_progress(check_id, self.redactor.scrub(text))
            except Exception:
                pass

    def evidence_name(self, spec: Any, default: str) -> str:
        """The spec's evidence file name (or the default), with {version} filled in."""
        return (spec.evidence or default).replace("{version}", self.version)

    def service_url(self, target: str) -> str | None:
        """"canary", "stable", a path on the canary, or a full URL -> a URL (None: not configured)."""
        if target.startswith(("http://", "https://")):
            return target
        service = self.config.service
        if service is None:
            return None
        if target == "canary":
            return service.canary_url
        if target == "stable":
            return service.stable_url
        return service.canary_url.rstrip("/") + "/" + target.lstrip("/")


def _resolve(kind: str) -> CheckFunction:
    module_name, _, function = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module_name), function)


async def run_check(spec: Any, ctx: CheckContext) -> CheckResult:
    """Run one check under its timeout and turn whatever happens into a CheckResult."""
    started = ctx.clock.now()
    wall = time.perf_counter()
    try:
        outcome = await asyncio.wait_for(_resolve(spec.kind)(spec, ctx), timeout=spec.timeout)
    except TimeoutError:
        outcome = Outcome(Status.UNKNOWN, f"timed out after {spec.timeout:g}s")
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a check's bug or an unexpected failure: seen, not a traceback
        outcome = Outcome(Status.UNKNOWN, f"could not run: {type(exc).__name__}: {exc}")
    scrub = ctx.redactor.scrub
    return CheckResult(
        id=spec.id,
        title=spec.title,
        phase=spec.phase,
        kind=spec.kind,
        status=outcome.status,
        summary=scrub(outcome.summary),
        details=[scrub(d) for d in outcome.details],
        evidence=outcome.evidence,
        duration_s=round(time.perf_counter() - wall, 4),
        started_at=iso_utc(started),
    )


async def run_checks(
    specs: list[Any],
    ctx: CheckContext,
    on_result: Callable[[CheckResult], None] | None = None,
) -> list[CheckResult]:
    """Run checks concurrently; results come back in the specs' order."""

    async def one(spec: Any) -> CheckResult:
        result = await run_check(spec, ctx)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(one(spec) for spec in specs)))
    finally:
        await close_sources(ctx)


async def close_sources(ctx: CheckContext) -> None:
    for source in list(ctx.shared.values()):
        closer = getattr(source, "aclose", None)
        if closer is not None:
            try:
                await closer()
            except Exception:
                pass
        elif hasattr(source, "close"):
            source.close()
    ctx.shared.clear()


def prometheus_source(ctx: CheckContext) -> Any:
    """The run's shared PrometheusSource, or None when [prometheus] is not configured."""
    if ctx.config.prometheus is None:
        return None
    if "prometheus" not in ctx.shared:
        from cockpit.sources.prometheus import PrometheusSource

        ctx.shared["prometheus"] = PrometheusSource(ctx.config.prometheus, ctx.redactor)
    return ctx.shared["prometheus"]


# The plain-text summary each phase leaves as evidence, by phase.
PHASE_SUMMARY_FILE = {"preflight": "preflight.txt", "redteam": "redteam_{version}.txt"}


def summary_text(title: str, version: str, results: list[CheckResult]) -> str:
    """The plain-text summary written as evidence (preflight.txt and friends)."""
    lines = [f"# {title} {version}", ""]
    for r in results:
        lines.append(f"{r.status.value:<8} {r.id:<34} {r.duration_s:>7.2f}s  {r.summary}")
        lines.extend(f"{'':<9}{d}" for d in r.details)
    statuses = [r.status for r in results]
    lines += ["", f"overall: {worst_status(statuses).value} (exit {exit_code_for(statuses)})"]
    return "\n".join(lines) + "\n"
