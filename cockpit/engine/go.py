"""The GO decision (pure): may this release shift traffic? One answer for the TUI, the CLI and every runner.

`decide_go(evidence)` reads what the loader (cockpit.checks.go_loader) gathered from
the evidence folder and the config, and answers with one line per thing GO needs,
in this order:

1. Every enabled check of the gating phases (preflight, blast radius, red team,
   artifacts) has a recorded result for this version: PASS or SKIPPED is fine, a
   WARN or UNKNOWN only when a person accepted that very result (ACCEPTED, never
   PASS), a FAIL never. A phase with no recorded results at all is one line
   ("preflight not run for v1.4.0: cockpit preflight v1.4.0").
2. Every required GO/NO-GO item is green: a manual item ticked by a person; a
   computed item (it restates an automated result, so nobody ticks it) from its
   source: a phase above (its line restates that phase, so it adds no line of its
   own) or the rollback proof the loader measured.
3. Every required role signed GO (its latest signature), and no role's latest
   signature is NO-GO.
4. The green-button seal is recorded, nothing it sealed changed since, and the
   evidence verifies against its manifest.

GO holds when every line is ok. `ready_to_seal` is every line but the seal's: the
green button is pressed once everything else is green.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cockpit.results import Status

GATING_PHASES: tuple[tuple[str, str], ...] = (
    ("preflight", "preflight"), ("blast", "blast radius"), ("redteam", "red team"), ("artifacts", "artifacts"),
)
# A computed GO/NO-GO item's source: a gating phase, or the rollback proof.
COMPUTED_SOURCES = ("preflight", "redteam", "blast", "rollback")
ACCEPTABLE = (Status.WARN, Status.UNKNOWN)


@dataclass(frozen=True)
class RecordedResult:
    """One check's latest recorded result (results_<phase>.json)."""

    id: str
    title: str
    status: Status
    summary: str
    started_at: str


@dataclass(frozen=True)
class Acceptance:
    """A person accepted a WARN or UNKNOWN result (the one that started at `result_at`), with a reason."""

    check_id: str
    status: Status
    result_at: str
    by: str
    reason: str
    at: str


@dataclass(frozen=True)
class Signature:
    """A role's GO or NO-GO, with initials and an optional note."""

    role: str
    go: bool
    by: str
    note: str
    at: str


@dataclass(frozen=True)
class SealRecord:
    """The green button: who pressed it, when, and the manifest it sealed (name -> SHA-256)."""

    by: str
    at: str
    files: dict[str, str]


@dataclass(frozen=True)
class GateCheck:
    """A check the gate needs, as configured: its kind is manual, computed or an automated one."""

    id: str
    title: str
    phase: str
    required: bool
    kind: str
    source: str = ""  # computed items: one of COMPUTED_SOURCES


@dataclass(frozen=True)
class Role:
    """A sign-off role (the seed's "Approved By")."""

    id: str
    title: str
    required: bool


@dataclass(frozen=True)
class Tally:
    """The evidence folder against its manifest: what changed, was added or went missing behind the cockpit."""

    sealed: bool
    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


@dataclass
class GoEvidence:
    """Everything the GO decision reads, gathered by the loader."""

    version: str
    checks: list[GateCheck]
    results: dict[str, dict[str, RecordedResult] | None]  # by phase; None: the phase was never recorded
    ticks: dict[str, tuple[bool, str, str]] = field(default_factory=dict)  # id -> (ticked, initials, at)
    acceptances: dict[str, Acceptance] = field(default_factory=dict)  # id -> the latest acceptance
    rollback: RecordedResult | None = None  # the rollback proof, measured by the loader
    roles: list[Role] = field(default_factory=list)
    signatures: dict[str, Signature] = field(default_factory=dict)  # role -> the latest signature
    seal: SealRecord | None = None
    manifest: dict[str, str] = field(default_factory=dict)
    tally: Tally = Tally(False)
    blast_url: str = "CANARY_URL"


@dataclass(frozen=True)
class GoLine:
    """One thing GO needs: its state in a word, and when not ok, what is missing and the command that provides it."""

    group: str  # "checks", "gonogo", "signoff" or "seal"
    key: str
    label: str
    word: str
    ok: bool
    missing: str = ""
    restates: bool = False  # a computed item whose source already has its own lines: never a line of its own
    detail: str = ""  # a signature's initials, time and note; an acceptance's

    @property
    def blocking(self) -> bool:
        return not self.ok and not self.restates


@dataclass(frozen=True)
class GoState:
    version: str
    lines: tuple[GoLine, ...]

    @property
    def go(self) -> bool:
        return all(line.ok for line in self.lines)

    @property
    def missing(self) -> list[str]:
        """One line per missing item: what, and the command that provides it."""
        return [line.missing for line in self.lines if line.blocking]

    @property
    def ready_to_seal(self) -> bool:
        """Everything but the seal is green: the green button may be pressed."""
        return all(line.ok for line in self.lines if line.group != "seal")

    def group(self, name: str) -> list[GoLine]:
        return [line for line in self.lines if line.group == name]


def result_word(result: RecordedResult | None, acceptance: Acceptance | None, *, computed: bool = False) -> tuple[str, bool]:
    """A result's word and whether it lets GO through: PASS/SKIPPED yes, an accepted WARN/UNKNOWN as ACCEPTED."""
    if result is None:
        return "NOT RUN", False
    if result.status in (Status.PASS, Status.SKIPPED):
        return result.status.value, True
    if result.status in ACCEPTABLE and accepts(acceptance, result, computed=computed):
        return "ACCEPTED", True
    return result.status.value, False


def accepts(acceptance: Acceptance | None, result: RecordedResult, *, computed: bool = False) -> bool:
    """An acceptance holds for the very result it accepted (a re-run needs a new one); computed ones by status."""
    if acceptance is None or acceptance.status != result.status:
        return False
    return computed or acceptance.result_at == result.started_at


def _phase_lines(ev: GoEvidence, phase: str, label: str) -> tuple[list[GoLine], str, bool]:
    """The lines of one gating phase, and its overall word and ok (for the computed items that restate it)."""
    v = ev.version
    checks = [c for c in ev.checks if c.phase == phase]
    if not checks:
        return [], "PASS", True
    recorded = ev.results.get(phase)
    run_cmd = {"preflight": f"cockpit preflight {v}", "redteam": f"cockpit redteam {v}",
               "blast": f"cockpit blast-radius {ev.blast_url} {v} 30", "artifacts": f"cockpit artifacts {v}"}[phase]
    if recorded is None:
        line = GoLine("checks", phase, label, "NOT RUN", False, f"{label} not run for {v}: {run_cmd}")
        return [line], "NOT RUN", False
    lines = []
    for check in checks:
        result = recorded.get(check.id)
        word, ok = result_word(result, ev.acceptances.get(check.id))
        ok = ok or not check.required
        rerun = f"cockpit check {check.id} --version {v}"
        if result is None:
            why = f"{check.id} has no recorded result for {v}: {rerun}"
        elif result.status == Status.FAIL:
            why = f"{check.id} FAIL ({result.summary}): fix it, then {rerun}"
        else:
            why = (f"{check.id} {result.status.value} ({result.summary}), not accepted: "
                   f"cockpit accept {v} {check.id} --by AB --reason TEXT (or fix it, then {rerun})")
        lines.append(GoLine("checks", check.id, check.title, word, ok, "" if ok else why))
    bad = [line for line in lines if not line.ok]
    if bad:
        return lines, bad[0].word, False
    return lines, "ACCEPTED" if any(line.word == "ACCEPTED" for line in lines) else "PASS", True


def _gonogo_line(ev: GoEvidence, check: GateCheck, phases: dict[str, tuple[str, bool]]) -> GoLine:
    v = ev.version
    if check.kind == "computed":
        if check.source == "rollback":
            word, ok = result_word(ev.rollback, ev.acceptances.get(check.id), computed=True)
            detail = ev.rollback.summary if ev.rollback is not None else "not measured"
            why = (f"{check.id} {word} ({detail}): computed from [traffic] rollback; "
                   f"fix it or cockpit accept {v} {check.id} --by AB --reason TEXT")
            ok = ok or not check.required
            return GoLine("gonogo", check.id, check.title, word, ok, "" if ok else why)
        word, ok = phases.get(check.source, ("NOT RUN", False))
        return GoLine("gonogo", check.id, check.title, word, ok or not check.required,
                      f"{check.id}: computed from the {check.source} results", restates=True)
    tick = ev.ticks.get(check.id)
    if tick is not None and tick[0]:
        return GoLine("gonogo", check.id, check.title, "TICKED", True)
    ok = not check.required
    why = f"{check.id} not ticked ({check.title}): cockpit tick {check.id} {v} --initials AB"
    return GoLine("gonogo", check.id, check.title, "TODO", ok, "" if ok else why)


def _role_line(ev: GoEvidence, role: Role) -> GoLine:
    v = ev.version
    signed = ev.signatures.get(role.id)
    detail = f"{signed.by} {signed.at[11:16]}" + (f" {signed.note}" if signed.note else "") if signed else ""
    if signed is not None and not signed.go:
        note = f": {signed.note}" if signed.note else ""
        why = (f"{role.title} signed NO-GO ({signed.by} at {signed.at}{note}): "
               f"blocks until {role.title} signs again: cockpit signoff {v} --role {role.id} --go --by AB")
        return GoLine("signoff", role.id, role.title, "NO-GO", False, why, detail=detail)
    if signed is not None:
        return GoLine("signoff", role.id, role.title, "GO", True, detail=detail)
    if not role.required:
        return GoLine("signoff", role.id, role.title, "UNSIGNED", True)
    why = f"{role.title} has not signed: cockpit signoff {v} --role {role.id} --go|--no-go --by AB"
    return GoLine("signoff", role.id, role.title, "UNSIGNED", False, why)


def _seal_line(ev: GoEvidence) -> GoLine:
    v = ev.version
    again = f"cockpit seal {v} --by AB"
    if ev.seal is None:
        return GoLine("seal", "seal", "green-button seal", "NOT SEALED", False, f"evidence not sealed for {v}: {again}")
    moved = sorted(name for name, digest in ev.seal.files.items() if ev.manifest.get(name) != digest)
    if moved:
        shown = ", ".join(moved[:3]) + (f" and {len(moved) - 3} more" if len(moved) > 3 else "")
        why = f"the seal ({ev.seal.by} at {ev.seal.at}) is stale: {shown} changed since: {again}"
        return GoLine("seal", "seal", "green-button seal", "STALE", False, why)
    tally = ev.tally
    behind = [*(f"changed {n}" for n in tally.changed), *(f"added {n}" for n in tally.added),
              *(f"missing {n}" for n in tally.missing)]
    if behind:
        why = f"evidence for {v} does not verify ({', '.join(behind[:3])}): cockpit evidence verify {v}"
        return GoLine("seal", "seal", "green-button seal", "TAMPERED", False, why)
    return GoLine("seal", "seal", "green-button seal", "SEALED", True)


def decide_go(ev: GoEvidence) -> GoState:
    """GO, or what is missing: see the module docstring for the rules, in order."""
    lines: list[GoLine] = []
    phases: dict[str, tuple[str, bool]] = {}
    for phase, label in GATING_PHASES:
        phase_lines, word, ok = _phase_lines(ev, phase, label)
        lines += phase_lines
        phases[phase] = (word, ok)
    lines += [_gonogo_line(ev, c, phases) for c in ev.checks if c.phase == "gonogo"]
    lines += [_role_line(ev, role) for role in ev.roles]
    lines.append(_seal_line(ev))
    return GoState(ev.version, tuple(lines))
