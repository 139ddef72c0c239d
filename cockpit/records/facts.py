"""What a release's journal says happened: stages, decisions, figures, rollbacks, the first night.

The reports (one-liner, mini RCA, the release page) are built from these facts
and nothing else, so every number they print can be traced to journal records.
Figures are taken over the canary's own samples: recovery samples (after a
rollback) and first-night samples are kept apart. A signal's typical value is
the median of its judged samples (PASS, WARN, BREACHING, FAIL); a BLIND or
INSUFFICIENT sample has no value that counts, and a signal that was never
judged is reported as BLIND / INSUFFICIENT, never as passing.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError
from cockpit.events import Event
from cockpit.evidence import EvidenceStore
from cockpit.format import format_duration, format_weight
from cockpit.run.journal import JOURNAL_NAME, read_journal

JUDGED = ("PASS", "WARN", "BREACHING", "FAIL")
BAD_SIGNAL_STATES = ("BREACHING", "FAIL")
NIGHT = "first_night"
RECOVERY = "recovery"


class ReportError(CockpitError):
    """The release cannot be reported on (no journal, a broken chain): one line, exit 2."""


@dataclass
class SignalFigure:
    """One signal over the canary's samples."""

    name: str
    unit: str = ""
    values: list[float] = field(default_factory=list)  # judged values, in order
    states: dict[str, int] = field(default_factory=dict)
    limit: float | None = None  # the last limit a sample carried
    dry_run: bool = False
    last_fail: tuple[float, float | None] | None = None  # (value, limit) of the last FAIL sample

    @property
    def samples(self) -> int:
        return sum(self.states.values())

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    @property
    def low(self) -> float | None:
        return min(self.values) if self.values else None

    @property
    def high(self) -> float | None:
        return max(self.values) if self.values else None

    @property
    def verdict(self) -> str:
        """PASS, FAIL, BLIND or INSUFFICIENT over the whole canary (DRY-RUN for a watched-only signal).

        FAIL: some sample failed. BLIND/INSUFFICIENT: never judged. PASS: judged, never failed
        (a BREACHING sample that never lasted its `for` passed, as the decision had it).
        """
        if self.dry_run:
            return "DRY-RUN"
        if self.states.get("FAIL"):
            return "FAIL"
        if not self.values:
            return "INSUFFICIENT" if self.states.get("INSUFFICIENT") and not self.states.get("BLIND") else "BLIND"
        return "PASS"

    @property
    def unjudged(self) -> int:
        return self.states.get("BLIND", 0) + self.states.get("INSUFFICIENT", 0)


@dataclass
class StageFacts:
    stage: int
    weight: float
    hold: float | None = None
    started_at: float | None = None
    ends_at: float | None = None
    ended_at: float | None = None
    result: str = "running"  # passed | rolled back | aborted | running
    holds: list[dict[str, Any]] = field(default_factory=list)
    decisions: dict[str, int] = field(default_factory=dict)  # action -> count
    samples: int = 0
    shift: dict[str, Any] | None = None
    promoted_by: str | None = None


@dataclass
class Incident:
    """A rollback, of the canary or of the first night, with the timings around it."""

    phase: str  # "canary" | "first_night"
    started: dict[str, Any]
    done: dict[str, Any] | None
    first_bad_at: float | None
    first_bad: str  # what was first seen bad, in words
    recovered_at: float | None = None
    hour: int | None = None

    @property
    def stage(self) -> int:
        return int(self.started.get("stage") or 0)

    @property
    def weight(self) -> float:
        return float(self.started.get("weight") or 0.0)

    @property
    def reasons(self) -> list[dict[str, Any]]:
        return [r for r in (self.started.get("reasons") or []) if isinstance(r, dict)]

    @property
    def acting_reasons(self) -> list[dict[str, Any]]:
        acting = [r for r in self.reasons if not r.get("dry_run") and r.get("source") != "stage"]
        return acting or self.reasons

    @property
    def decided_at(self) -> float | None:
        return _num(self.started.get("decided_at"))

    @property
    def detect_s(self) -> float | None:
        """First bad sample -> the decision."""
        if self.first_bad_at is None or self.decided_at is None:
            return None
        return max(0.0, self.decided_at - self.first_bad_at)

    @property
    def command_start_s(self) -> float | None:
        """The decision -> the rollback command's start."""
        start = _num((self.done or {}).get("command_started_at"))
        if start is None or self.decided_at is None:
            return None
        return max(0.0, start - self.decided_at)

    @property
    def command_end_s(self) -> float | None:
        """The decision -> the rollback command's end (traffic off the canary)."""
        end = _num((self.done or {}).get("command_ended_at"))
        if end is None or self.decided_at is None:
            return None
        return max(0.0, end - self.decided_at)

    @property
    def ok(self) -> bool | None:
        return None if self.done is None else bool(self.done.get("ok"))


@dataclass
class NightFacts:
    started_at: float | None = None
    hours: int | None = None
    hour_length: float | None = None
    closed: list[dict[str, Any]] = field(default_factory=list)  # hour_closed records, by hour
    done: dict[str, Any] | None = None
    starts: int = 0

    @property
    def backfilled(self) -> list[int]:
        return [int(r["hour"]) for r in self.closed if r.get("backfilled")]


@dataclass
class ReleaseFacts:
    version: str
    records: int = 0
    head: str = ""
    t0: float | None = None
    plan: list[dict[str, float]] = field(default_factory=list)
    drill: bool = False
    run_baseline: dict[str, float | None] | None = None  # the baseline run_started recorded, if it did
    resumes: int = 0
    stages: dict[int, StageFacts] = field(default_factory=dict)
    signals: dict[str, SignalFigure] = field(default_factory=dict)
    triggers_fired: dict[str, dict[str, Any]] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)  # every non-continue decision
    operator: list[dict[str, Any]] = field(default_factory=list)  # operator commands and notes
    overrides: list[dict[str, Any]] = field(default_factory=list)  # go_override: started without GO
    done: dict[str, Any] | None = None
    incidents: list[Incident] = field(default_factory=list)
    night: NightFacts | None = None
    timeline: list[tuple[float, str, str]] = field(default_factory=list)  # (ts, phase, text)

    @property
    def result(self) -> str:
        """promoted | rolled_back | aborted | running."""
        return str(self.done.get("result")) if self.done else "running"

    @property
    def canary_incident(self) -> Incident | None:
        return next((i for i in self.incidents if i.phase == "canary"), None)

    @property
    def night_incidents(self) -> list[Incident]:
        return [i for i in self.incidents if i.phase == NIGHT]

    @property
    def reached_stage(self) -> int:
        if self.done and self.done.get("stage"):
            return int(self.done["stage"])
        return max(self.stages) if self.stages else 0

    def weight_of(self, stage: int) -> float:
        if stage in self.stages:
            return self.stages[stage].weight
        if 1 <= stage <= len(self.plan):
            return float(self.plan[stage - 1]["weight"])
        return 0.0

    @property
    def counted_signals(self) -> list[SignalFigure]:
        return [s for s in self.signals.values() if not s.dry_run]


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def journal_path(store: EvidenceStore) -> Path:
    return store.dir / JOURNAL_NAME


def read_release(store: EvidenceStore) -> ReleaseFacts:
    """Facts from <evidence>/<version>/journal.jsonl; ReportError when it is missing or changed."""
    path = journal_path(store)
    if not path.is_file():
        raise ReportError(f"{path}: no journal: {store.version} has no canary run in this evidence folder")
    read = read_journal(path)
    if read.error is not None:
        raise ReportError(f"{path}: {read.error}: the journal was changed; no report rests on it")
    if not read.records:
        raise ReportError(f"{path}: the journal is empty")
    facts = build_facts(read.records, store.version)
    facts.head = read.head
    return facts


def is_canary_sample(record: dict[str, Any]) -> bool:
    return record.get("event") == Event.SAMPLE and record.get("phase") not in (RECOVERY, NIGHT)


def build_facts(records: list[dict[str, Any]], version: str) -> ReleaseFacts:
    """Fold journal records into release facts (pure)."""
    facts = ReleaseFacts(version=version, records=len(records))
    open_rollback: dict[str, dict[str, Any]] = {}
    night: NightFacts | None = None
    fired_open: dict[str, float] = {}
    for record in records:
        event = record.get("event")
        ts = float(record.get("ts") or 0.0)
        phase = NIGHT if record.get("phase") == NIGHT else "canary"
        stage = int(record.get("stage") or 0)
        if event == Event.RUN_STARTED:
            if facts.t0 is None:
                facts.t0 = ts
                facts.plan = [dict(s) for s in record.get("plan") or []]
                facts.drill = bool(record.get("drill"))
                if isinstance(record.get("baseline"), dict):
                    facts.run_baseline = {str(k): _num(v) for k, v in record["baseline"].items()}
                facts.timeline.append((ts, "canary", "canary started: " + _plan_text(facts.plan)))
            else:
                facts.resumes += 1
                facts.timeline.append((ts, "canary", f"canary resumed from the journal at stage {record.get('stage')}"))
        elif event == Event.TRAFFIC_SHIFTED:
            current = facts.stages.setdefault(stage, StageFacts(stage, float(record.get("weight") or 0.0)))
            current.shift = record
            if not record.get("ok"):
                facts.timeline.append((ts, "canary", f"traffic shift to {format_weight(record.get('weight'))} NOT done: {record.get('error')}"))
        elif event == Event.STAGE_STARTED:
            current = facts.stages.setdefault(stage, StageFacts(stage, float(record.get("weight") or 0.0)))
            current.weight = float(record.get("weight") or current.weight)
            current.hold = _num(record.get("hold"))
            current.started_at = ts
            current.ends_at = _num(record.get("ends_at"))
            facts.timeline.append((ts, "canary", f"stage {stage} ({format_weight(current.weight)}) started for {format_duration(current.hold)}"))
        elif event == Event.SAMPLE:
            if phase == NIGHT or record.get("phase") == RECOVERY:
                continue
            current = facts.stages.get(stage)
            if current is not None:
                current.samples += 1
            _fold_sample(facts, record, fired_open)
        elif event == Event.DECISION:
            action = str(record.get("action") or "")
            current = facts.stages.get(stage)
            if current is not None and phase == "canary":
                current.decisions[action] = current.decisions.get(action, 0) + 1
            if action != "continue":
                facts.decisions.append(record)
                if action == "proceed":
                    continue  # the stage_passed line says it
                why = _reasons_text(record.get("reasons"))
                facts.timeline.append((ts, phase, f"decision {action.upper()} at stage {stage}" + (f": {why}" if why else "")))
        elif event == Event.HOLD:
            current = facts.stages.get(stage)
            if current is not None:
                current.holds.append(record)
                if record.get("ends_at") is not None:
                    current.ends_at = _num(record.get("ends_at"))
            who = f" by {record.get('by')}" if record.get("by") else ""
            until = _num(record.get("until"))
            length = f" for {format_duration(max(0.0, until - ts))}" if until is not None else " until resumed"
            facts.timeline.append((ts, "canary", f"HOLD{who} at stage {stage}{length}: {_reasons_text(record.get('reasons'))}"))
        elif event == Event.STAGE_PASSED:
            current = facts.stages.get(stage)
            if current is not None:
                current.result = "passed"
                current.ended_at = ts
                current.promoted_by = record.get("by")
            by = f" (promoted by {record.get('by')})" if record.get("by") else ""
            facts.timeline.append((ts, "canary", f"stage {stage} ({format_weight(record.get('weight'))}) passed{by}"))
        elif event == Event.ROLLBACK_STARTED:
            open_rollback[phase] = record
            facts.timeline.append((ts, phase, f"ROLLBACK started from {format_weight(record.get('weight'))}: {_reasons_text(record.get('reasons'))}"))
        elif event == Event.ROLLBACK_DONE:
            started = open_rollback.pop(phase, None) or record
            incident = Incident(phase, started, record, None, "")
            if phase == NIGHT:
                incident.hour = record.get("hour") if isinstance(record.get("hour"), int) else started.get("hour")
            facts.incidents.append(incident)
            took = incident.command_end_s
            result = "done" if record.get("ok") else f"FAILED: {record.get('error')}"
            facts.timeline.append((ts, phase, f"rollback command {result} ({record.get('attempts')} attempt(s)"
                                   + (f", {format_duration(max(0.0, took), 'measured')} after the decision" if took is not None else "") + ")"))
        elif event == Event.SIGNALS_RECOVERED:
            at = _num(record.get("at")) or ts
            for incident in reversed(facts.incidents):
                if incident.phase == "canary":
                    incident.recovered_at = at
                    break
            facts.timeline.append((ts, "canary", "signals back within their limits after the rollback"))
        elif event == Event.GO_OVERRIDE:
            facts.overrides.append(record)
            facts.timeline.append((ts, "canary", f"STARTED WITHOUT GO by {record.get('by')}: {record.get('reason')}"))
        elif event in (Event.OPERATOR, Event.NOTE):
            facts.operator.append(record)
            if event == Event.NOTE:
                facts.timeline.append((ts, phase, f"note by {record.get('by')}: {record.get('text')}"))
            else:
                reason = f": {record.get('reason')}" if record.get("reason") else ""
                facts.timeline.append((ts, phase, f"operator {record.get('by')}: {str(record.get('command')).upper()}{reason}"))
        elif event == Event.CANARY_DONE:
            facts.done = record
            current = facts.stages.get(stage)
            result = str(record.get("result"))
            if current is not None and result != "promoted":
                current.result = "rolled back" if result == "rolled_back" else "aborted"
                current.ended_at = ts
            facts.timeline.append((ts, "canary", f"canary done: {result.replace('_', ' ').upper()}"
                                   + (f" ({record.get('error')})" if record.get("error") else "")))
        elif event == Event.FIRST_NIGHT_STARTED:
            night = night or NightFacts()
            night.starts += 1
            if night.started_at is None:
                night.started_at = ts
                night.hours = int(record.get("hours") or 0) or None
                night.hour_length = _num(record.get("hour_length"))
                facts.timeline.append((ts, NIGHT, f"first night started: {night.hours} hours"))
            else:
                facts.timeline.append((ts, NIGHT, "first night resumed from the journal"))
        elif event == Event.HOUR_CLOSED:
            night = night or NightFacts()
            night.closed = [r for r in night.closed if r.get("hour") != record.get("hour")] + [record]
        elif event == Event.FIRST_NIGHT_DONE:
            night = night or NightFacts()
            night.done = record
            facts.timeline.append((ts, NIGHT, f"first night done: {record.get('verdict')}"))
    # A rollback journaled as started but never as done (a crash in between) is still an incident.
    for phase, started in open_rollback.items():
        facts.incidents.append(Incident(phase, started, None, None, ""))
    for incident in facts.incidents:
        incident.first_bad_at, incident.first_bad = first_bad_sample(records, incident)
    if night is not None:
        night.closed.sort(key=lambda r: int(r.get("hour") or 0))
        facts.night = night
    facts.timeline.sort(key=lambda item: item[0])
    return facts


def _fold_sample(facts: ReleaseFacts, record: dict[str, Any], fired_open: dict[str, float]) -> None:
    for name, data in (record.get("signals") or {}).items():
        if not isinstance(data, dict):
            continue
        figure = facts.signals.setdefault(name, SignalFigure(name))
        state = str(data.get("state") or "BLIND")
        figure.states[state] = figure.states.get(state, 0) + 1
        figure.unit = str(data.get("unit") or figure.unit)
        figure.dry_run = bool(data.get("dry_run", figure.dry_run))
        if data.get("limit") is not None:
            figure.limit = _num(data.get("limit"))
        value = _num(data.get("value"))
        if state in JUDGED and value is not None:
            figure.values.append(value)
        if state == "FAIL" and value is not None:
            figure.last_fail = (value, _num(data.get("limit")))
    ts = float(record.get("ts") or 0.0)
    for name, data in (record.get("triggers") or {}).items():
        if not isinstance(data, dict) or not data.get("firing"):
            continue
        seen = facts.triggers_fired.setdefault(
            name, {"name": name, "action": data.get("action"), "auto": bool(data.get("auto")), "first_at": ts,
                   "samples": 0, "active": False, "dry_run": bool(data.get("dry_run")), "stages": []}
        )
        seen["samples"] += 1
        seen["active"] = seen["active"] or bool(data.get("active"))
        if record.get("stage") not in seen["stages"]:
            seen["stages"].append(record.get("stage"))


def first_bad_sample(records: list[dict[str, Any]], incident: Incident) -> tuple[float | None, str]:
    """When what caused the rollback was first seen bad: the start of its unbroken run of bad samples.

    Bad: a named signal BREACHING/FAIL (BLIND for a blind reason), a named trigger firing (its
    `since` if earlier). Falls back to the runner's fired_at, then to the decision's time.
    """
    names: dict[str, str] = {}
    for reason in incident.acting_reasons:
        source = str(reason.get("source") or "")
        if source in ("signal", "trigger", "alert", "blind"):
            names[str(reason.get("name"))] = source
    decided = incident.decided_at
    if names and decided is not None:
        night = incident.phase == NIGHT
        first: float | None = None
        what = ""
        for record in reversed(records):
            if record.get("event") != Event.SAMPLE:
                continue
            ts = float(record.get("ts") or 0.0)
            if ts > decided + 1e-9:
                continue
            if (record.get("phase") == NIGHT) != night or record.get("phase") == RECOVERY:
                continue
            if not night and record.get("stage") != incident.stage:
                break
            bad = _bad_in(record, names)
            if not bad:
                break
            first, what = ts, bad[0]
            triggers = record.get("triggers") or {}
            since = [_num(triggers[n].get("since")) for n in names if isinstance(triggers.get(n), dict)]
            known = [s for s in since if s is not None]
            if known and min(known) < first:
                first = min(known)
        if first is not None:
            return first, what
    fired = _num(incident.started.get("fired_at"))
    if fired is not None:
        return fired, "as recorded by the runner"
    return decided, "no bad sample recorded before the decision"


def _bad_in(record: dict[str, Any], names: dict[str, str]) -> list[str]:
    signals = record.get("signals") or {}
    triggers = record.get("triggers") or {}
    bad: list[str] = []
    for name, source in names.items():
        sig = signals.get(name)
        if isinstance(sig, dict):
            state = sig.get("state")
            wanted = ("BLIND",) if source == "blind" else BAD_SIGNAL_STATES
            if state in wanted:
                bad.append(f"{name} {state}")
        trig = triggers.get(name)
        if isinstance(trig, dict) and (trig.get("firing") or (source == "blind" and trig.get("error"))):
            bad.append(f"{name} firing" if trig.get("firing") else f"{name} not evaluable")
    return bad


def _plan_text(plan: list[dict[str, float]]) -> str:
    return " → ".join(f"{format_weight(s.get('weight'))} {format_duration(_num(s.get('hold')))}" for s in plan) or "(no plan)"


def _reasons_text(reasons: Any, limit: int = 3) -> str:
    items = [r for r in (reasons or []) if isinstance(r, dict)]
    acting = [r for r in items if not r.get("dry_run") and r.get("source") != "stage"] or items
    return "; ".join(str(r.get("message") or r.get("name") or "") for r in acting[:limit])
