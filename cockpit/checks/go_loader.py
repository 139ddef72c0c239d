"""The one loader of the GO decision: the release's evidence and config in, `decide_go`'s answer out (I/O).

Every path that shifts traffic asks `load_go` first (`cockpit canary`, headless or
detached, and the TUI's T-0); `cockpit go` prints it. The rollback proof is measured
here, from something real: the rollback command resolves to an executable (or the
HAProxy admin socket answers), and the weight read-back, when one is configured,
answers with a weight. Never from a tick.
"""

from __future__ import annotations

import asyncio
import shutil

from cockpit.checks.gate_records import latest_acceptances, latest_signoffs, read_phase_results, read_seal
from cockpit.checks.ticks import read_ticks
from cockpit.clock import SystemClock, iso_utc
from cockpit.config import CockpitConfig
from cockpit.engine.go import (
    GATING_PHASES,
    GateCheck,
    GoEvidence,
    GoState,
    RecordedResult,
    Role,
    Tally,
    decide_go,
)
from cockpit.evidence import EvidenceStore
from cockpit.results import Status

ROLLBACK_ID = "gonogo.rollback_ready"
_PHASES = tuple(p for p, _ in GATING_PHASES) + ("gonogo",)


def gate_checks(config: CockpitConfig) -> list[GateCheck]:
    """The enabled checks the gate needs, in playbook order."""
    return [GateCheck(c.id, c.title, c.phase, c.required, c.kind, getattr(c, "source", ""))
            for phase in _PHASES for c in config.enabled_checks(phase)]


def prove_rollback(config: CockpitConfig, version: str, *, timeout: float = 10.0) -> RecordedResult:
    """Is the rollback path real? PASS, FAIL (it cannot work) or UNKNOWN (nothing here can prove it), and why."""
    started = iso_utc(SystemClock().now())
    traffic = config.traffic

    def result(status: Status, summary: str) -> RecordedResult:
        return RecordedResult(ROLLBACK_ID, "Rollback path tested", status, summary, started)

    if traffic.preset == "haproxy" and traffic.haproxy is not None:
        from cockpit.engine.haproxy import HAProxyRuntime, ServersState

        reader: object = ServersState(HAProxyRuntime(traffic.haproxy, traffic.timeout))
        how = f"HAProxy runtime API on {traffic.haproxy.socket}"
    else:
        argv = traffic.rollback or traffic.set_weight
        if argv is None:
            if traffic.webhook:
                return result(Status.UNKNOWN, "rollback by webhook: not provable without calling it")
            return result(Status.UNKNOWN, "no [traffic] rollback or set_weight configured")
        key = "rollback" if traffic.rollback else "set_weight (with weight 0)"
        if shutil.which(argv[0]) is None:
            return result(Status.FAIL, f"traffic.{key}: {argv[0]!r} is not found or not executable")
        how = f"traffic.{key} {argv[0]!r} is executable"
        from cockpit.engine.traffic import weight_reader

        reader = weight_reader(traffic, config.redactor())
        if reader is None:
            return result(Status.PASS, f"{how}; no weight read-back configured")
    try:
        weight, why = asyncio.run(asyncio.wait_for(reader.read(version, 0), timeout))  # type: ignore[attr-defined]
    except (TimeoutError, OSError) as exc:
        weight, why = None, f"no answer ({type(exc).__name__})"
    except Exception as exc:  # noqa: BLE001 - any failure to read back is a FAIL with its reason, not a traceback
        weight, why = None, str(exc) or type(exc).__name__
    if weight is None:
        return result(Status.FAIL, f"{how}; the weight read-back does not answer: {why}")
    return result(Status.PASS, f"{how}; the read-back answers: canary weight {weight:g}%")


def load_go(config: CockpitConfig, store: EvidenceStore) -> GoState:
    """Read the release's evidence, measure the rollback path, and decide GO."""
    version = store.version
    checks = gate_checks(config)
    ticks = {t.id: (t.ticked, t.initials, t.at) for t in read_ticks(store).latest().values()}
    rollback = None
    if any(c.kind == "computed" and c.source == "rollback" for c in checks):
        rollback = prove_rollback(config, version)
    report = store.verify()
    evidence = GoEvidence(
        version=version,
        checks=checks,
        results={phase: read_phase_results(store, phase) for phase, _ in GATING_PHASES},
        ticks=ticks,
        acceptances=latest_acceptances(store),
        rollback=rollback,
        roles=[Role(r.id, r.title, r.required) for r in config.roles],
        signatures=latest_signoffs(store),
        seal=read_seal(store),
        manifest=store.read_manifest(),
        tally=Tally(report.sealed, tuple(report.changed), tuple(report.added), tuple(report.missing)),
        blast_url=config.service.canary_url if config.service is not None else "CANARY_URL",
    )
    return decide_go(evidence)

