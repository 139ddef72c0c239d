"""The signals probe as a check: can every armed signal and trigger be judged on this Prometheus?

The same probe the canary runs before its first shift (cockpit.engine.probe).
FAIL: a signal with no series on either track, a query that errors, a relative
limit without a baseline (when judged); WARN: triggers whose metrics do not
exist (they can never fire; FAIL with `strict`); UNKNOWN: Prometheus did not
answer. The report is written as evidence.
"""

from __future__ import annotations

from cockpit.checks.baseline import load_baseline
from cockpit.checks.runner import CheckContext, prometheus_source
from cockpit.checks.specs import SignalsProbeSpec
from cockpit.clock import iso_utc
from cockpit.engine.probe import ProbeReport, probe
from cockpit.results import Outcome, Status, unknown

NOT_CONFIGURED = "[prometheus] is not configured (add a [prometheus] table with its url)"


def probe_status(report: ProbeReport, strict: bool) -> Status:
    """FAIL when something stops the start, WARN for dark triggers, UNKNOWN when Prometheus did not answer."""
    if report.unreachable is not None:
        return Status.UNKNOWN
    if report.stopping(strict):
        return Status.FAIL
    if report.dark_triggers:
        return Status.WARN
    return Status.PASS


def report_lines(report: ProbeReport, strict: bool) -> list[str]:
    """One line per finding, the ones that stop the start first."""
    stops = report.stopping(strict)
    lines = [f"STOPS   {f.line()}" for f in stops]
    lines += [f"DARK    {f.line()}" for f in report.dark_triggers if f not in stops]
    if not report.baseline_judged:
        lines.append("note    relative limits are not judged here: the baseline is preflight.baseline's "
                     "(or give a VERSION whose preflight took one)")
    return lines


async def run_signals_probe(spec: SignalsProbeSpec, ctx: CheckContext) -> Outcome:
    """Probe every enabled signal and trigger once; the canary's start runs the same probe."""
    source = prometheus_source(ctx)
    if source is None:
        return unknown(NOT_CONFIGURED)
    baseline = load_baseline(ctx.evidence) if spec.judge_baseline else None
    report = await probe(ctx.config, source, baseline=baseline, judge_baseline=spec.judge_baseline, version=ctx.version)
    status = probe_status(report, spec.strict)
    lines = report_lines(report, spec.strict)
    body = [f"# signals probe at {iso_utc(ctx.clock.now())}", report.summary(spec.strict), ""] + lines
    evidence = [ctx.evidence.write_text(ctx.evidence_name(spec, "signals_probe_{version}.txt"), "\n".join(body) + "\n")]
    return Outcome(status, report.summary(spec.strict), lines, evidence, {"probe": report.as_dict()})
