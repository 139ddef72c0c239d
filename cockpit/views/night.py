"""The first night as its screen shows it, folded from the release's journal (pure, no Textual).

cockpit.run.first_night writes into the release's journal: `first_night_started`
(again on every resume), a `sample` with phase "first_night" and its `hour` at
every evaluation, `hour_closed` with the hour's summary, `rollback_started` /
`rollback_done` with phase "first_night", and `first_night_done`. CanaryView
hands those to a NightView, which keeps what the first-night screen needs: the
night's clock (hour N of M, when the next hourly summary is due), one row per
closed hour, the open hour so far, the night's rollback, and the stability so
far (the verdict the stability report gives, from the same rule). Bounded: one
row per hour of the night, one open hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cockpit.format import MISSING, format_clock, format_duration
from cockpit.run.night_hours import hour_label, hourly_log_file, night_verdict, worst_of
from cockpit.views.reading import STATUS_SYMBOL, RollbackView, finite_number, format_reason, whole_number

MAX_HOURS = 168  # `cockpit first-night --hours` accepts at most a week
# The night's one-word states (cockpit.run.night_hours.SEVERITY) as screen statuses: a blind hour is never PASS.
HOUR_STATUS = {"FAIL": "FAIL", "OVER": "FAIL", "BREACHING": "FAIL", "BLIND": "UNKNOWN", "INSUFFICIENT": "UNKNOWN",
               "WARN": "WARN", "PASS": "PASS", "WITHIN": "PASS"}


def hour_status(state: str | None) -> str:
    """PASS / WARN / FAIL / UNKNOWN for a night state (anything unknown is UNKNOWN)."""
    return HOUR_STATUS.get(state or "", "UNKNOWN")


def hour_mark(state: str | None) -> str:
    """The state with its symbol, e.g. "▲ OVER", "? BLIND", "✔ WITHIN"."""
    return f"{STATUS_SYMBOL[hour_status(state)]} {state or 'UNKNOWN'}"


@dataclass
class HourRow:
    """A closed hour, from its `hour_closed` record."""

    hour: int
    worst: str
    closed_at: float
    backfilled: bool = False
    live_samples: int = 0
    backfilled_points: int = 0
    backfill_errors: list[str] = field(default_factory=list)
    triggers: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> action/auto/active/backfilled/dry_run
    rollbacks: list[dict[str, Any]] = field(default_factory=list)
    file: str = ""
    sight: dict[str, dict[str, int]] = field(default_factory=dict)  # signal -> judged / samples (the blind-night rule)

    @classmethod
    def from_record(cls, record: dict[str, Any], ts: float) -> HourRow | None:
        hour = whole_number(record.get("hour"))
        if hour is None or not 0 <= hour < MAX_HOURS:
            return None
        triggers = record.get("triggers") if isinstance(record.get("triggers"), dict) else {}
        keep = ("action", "auto", "active", "backfilled", "dry_run")
        errors = record.get("backfill_errors")
        rollbacks = record.get("rollbacks")
        return cls(
            hour=hour,
            worst=str(record.get("worst") or "BLIND"),
            closed_at=ts,
            backfilled=bool(record.get("backfilled")),
            live_samples=whole_number(record.get("live_samples")) or 0,
            backfilled_points=whole_number(record.get("backfilled_points")) or 0,
            backfill_errors=[str(e) for e in errors] if isinstance(errors, list) else [],
            triggers={str(name): {k: t.get(k) for k in keep} for name, t in triggers.items() if isinstance(t, dict)},
            rollbacks=[r for r in rollbacks if isinstance(r, dict)] if isinstance(rollbacks, list) else [],
            file=str(record.get("file") or hourly_log_file(hour)),
            sight=_sight(record.get("signals")),
        )

    @property
    def status(self) -> str:
        return hour_status(self.worst)

    @property
    def mark(self) -> str:
        return hour_mark(self.worst)

    @property
    def source(self) -> str:
        if not self.backfilled:
            return "live"
        return "BACK-FILLED + live" if self.live_samples else "BACK-FILLED"

    @property
    def rollback(self) -> str:
        """"" / "ROLLBACK" / "ROLLBACK FAILED": what the night's rollback did in this hour."""
        if not self.rollbacks:
            return ""
        return "ROLLBACK" if all(r.get("ok") for r in self.rollbacks) else "ROLLBACK FAILED"

    def fired(self) -> str:
        """The triggers that fired in the hour: ACTIVE ones (past their `for`) and those seen only in history marked."""
        parts = []
        for name, t in self.triggers.items():
            flags = [word for word, on in (("ACTIVE", t.get("active")), ("history", t.get("backfilled")),
                                           ("dry-run", t.get("dry_run"))) if on]
            parts.append(name + (f" ({', '.join(flags)})" if flags else ""))
        return ", ".join(parts) or "none"

    def verdict_record(self) -> dict[str, Any]:
        """What cockpit.run.night_hours.night_verdict reads of an hour."""
        return {"hour": self.hour, "worst": self.worst, "backfill_errors": self.backfill_errors, "triggers": self.triggers,
                "signals": self.sight}


def _sight(signals: Any) -> dict[str, dict[str, int]]:
    """Per signal, how many samples it had and how many carried a judged value (nothing else of the record)."""
    if not isinstance(signals, dict):
        return {}
    return {str(name): {"judged": whole_number(s.get("judged")) or 0, "samples": whole_number(s.get("samples")) or 0}
            for name, s in signals.items() if isinstance(s, dict)}


@dataclass
class OpenHour:
    """The hour the night is in, from its samples so far (its summary comes when it closes)."""

    hour: int
    samples: int = 0
    worst: str | None = None  # the worst signal state sampled so far
    fired: dict[str, bool] = field(default_factory=dict)  # trigger -> it was ACTIVE (not only firing)

    def fired_text(self) -> str:
        return ", ".join(name + (" (ACTIVE)" if active else "") for name, active in self.fired.items()) or "none"


@dataclass(frozen=True)
class NightProgress:
    """Where the night's clock is: the hour it is in, and the next hourly summary."""

    hour: int  # 0-based hour the clock is in (the last one once the night's time is over)
    hours: int
    next_hour: int | None  # the first hour not closed yet; None when every hour is closed
    due_at: float | None  # when its summary is due (the hour's end)
    due_in: float | None  # seconds until then; negative: past due
    over: bool  # the night's time has run out
    grace: float = 60.0  # the night closes an hour at its first evaluation after the hour's end

    @property
    def overdue(self) -> bool:
        """Past due by more than the night needs to close an hour: is the night process still running?"""
        return self.due_in is not None and self.due_in < -self.grace


@dataclass
class NightView:
    """The first night's state, built only from its journal records."""

    started_at: float | None = None
    hours: int = 24
    hour_length: float = 3600.0
    every: float | None = None
    starts: int = 0  # first_night_started records: the start and each resume
    closed: dict[int, HourRow] = field(default_factory=dict)
    open: OpenHour | None = None
    samples: int = 0
    last_sample_at: float | None = None
    rollback: RollbackView | None = None  # the latest night rollback
    rollback_hour: int | None = None
    rollback_auto: bool = False
    rollbacks_done: int = 0
    done_at: float | None = None
    done_verdict: str | None = None
    report: str | None = None

    # ------------------------------------------------------------ events (each returns the log line: kind, text)

    def started(self, event: dict[str, Any], ts: float) -> tuple[str, str]:
        self.starts += 1
        if self.started_at is None:  # a resume keeps the night's first start, hours and hour length
            self.started_at = ts
            self.hours = min(MAX_HOURS, max(1, whole_number(event.get("hours")) or 24))
            self.hour_length = finite_number(event.get("hour_length")) or 3600.0
            self.every = finite_number(event.get("evaluate_every"))
        every = f", evaluating every {format_duration(self.every)}" if self.every else ""
        if not event.get("resumed"):
            return "event", f"first night started: {self.hours} hours of {format_duration(self.hour_length)}{every}"
        closed = event.get("closed_hours")
        count = len(closed) if isinstance(closed, list) else len(self.closed)
        return "alarm", (f"first night resumed: {count}/{self.hours} hours closed; "
                         "missed time is back-filled from Prometheus' history")

    def sample(self, event: dict[str, Any], ts: float) -> None:
        self.samples += 1
        self.last_sample_at = ts
        hour = whole_number(event.get("hour"))
        if hour is None:
            hour = self.hour_at(ts) or 0
        if self.open is None or self.open.hour != hour:
            self.open = OpenHour(hour)
        current = self.open
        current.samples += 1
        signals = event.get("signals")
        if isinstance(signals, dict):
            states = [str(s.get("state") or "BLIND") for s in signals.values() if isinstance(s, dict)]
            current.worst = worst_of(states + ([current.worst] if current.worst else [])) or current.worst
        triggers = event.get("triggers")
        if isinstance(triggers, dict):
            for name, t in triggers.items():
                if isinstance(t, dict) and not t.get("error") and (t.get("firing") or t.get("active")):
                    current.fired[str(name)] = current.fired.get(str(name), False) or bool(t.get("active"))

    def hour_closed(self, event: dict[str, Any], ts: float) -> tuple[str, str]:
        row = HourRow.from_record(event, ts)
        if row is None:
            return "alarm", f"an hour_closed record without a valid hour ({event.get('hour')!r}): not shown"
        self.closed[row.hour] = row
        if self.open is not None and self.open.hour == row.hour:
            self.open = None
        parts = [f"hour {hour_label(row.hour)} closed: worst {row.worst}"]
        if row.backfilled:
            parts.append("back-filled from Prometheus' history")
        if row.triggers:
            parts.append(f"fired: {row.fired()}")
        if row.rollback:
            parts.append(row.rollback)
        loud = row.status == "FAIL" or bool(row.rollback) or bool(row.backfill_errors)
        return ("alarm" if loud else "event"), ", ".join(parts) + f" → {row.file}"

    def rollback_started(self, event: dict[str, Any], ts: float) -> tuple[str, str]:
        self.rollback = RollbackView.from_started(event, ts)
        self.rollback_hour = whole_number(event.get("hour"))
        self.rollback_auto = event.get("action") == "immediate_rollback"
        return "alarm", f"FIRST-NIGHT ROLLBACK started in hour {self._rollback_hour_label()}: {self.rollback_why()}"

    def rollback_done(self, event: dict[str, Any], ts: float) -> tuple[str, str]:
        if self.rollback is None:  # a journal read from the middle still shows the outcome
            self.rollback = RollbackView(started_at=ts, stage=whole_number(event.get("stage")), weight=finite_number(event.get("weight")))
            self.rollback_hour = whole_number(event.get("hour"))
        rb = self.rollback
        rb.finish(event, ts)
        self.rollbacks_done += 1
        if rb.ok:
            return "alarm", f"FIRST-NIGHT ROLLBACK done in {format_duration(rb.elapsed(ts), 'measured')} (hour {self._rollback_hour_label()})"
        return "alarm", (f"FIRST-NIGHT ROLLBACK FAILED after {rb.attempts if rb.attempts is not None else MISSING} attempt(s): "
                         f"{rb.error or 'no reason given'} — roll back by hand")

    def finished(self, event: dict[str, Any], ts: float) -> tuple[str, str]:
        self.done_at = ts
        self.done_verdict = str(event.get("verdict") or MISSING)
        self.report = str(event["report"]) if event.get("report") else None
        self.open = None
        where = f" → {self.report}" if self.report else ""
        return ("event" if self.done_verdict == "stable" else "alarm"), f"first night done: {self.done_verdict.upper()}{where}"

    # ------------------------------------------------------------ queries

    @property
    def running(self) -> bool:
        """Started and not done: its journal should keep growing every evaluation."""
        return self.started_at is not None and self.done_at is None

    @property
    def rolling_back(self) -> bool:
        return self.rollback is not None and not self.rollback.done

    @property
    def alarm(self) -> bool:
        """A night rollback runs now, or failed: the screen shouts."""
        return self.rollback is not None and (not self.rollback.done or not self.rollback.ok)

    def hour_at(self, now: float) -> int | None:
        if self.started_at is None:
            return None
        return max(0, int((now - self.started_at) // self.hour_length))

    def progress(self, now: float) -> NightProgress | None:
        if self.started_at is None:
            return None
        hour = self.hour_at(now) or 0
        over = hour >= self.hours
        next_hour = next((h for h in range(self.hours) if h not in self.closed), None)
        if self.done_at is not None:
            next_hour = None  # a finished night closes no more hours (a stop mid-way leaves them unclosed)
        due_at = None if next_hour is None else self.started_at + (next_hour + 1) * self.hour_length
        return NightProgress(hour=min(hour, self.hours - 1), hours=self.hours, next_hour=next_hour, due_at=due_at,
                             due_in=None if due_at is None else due_at - now, over=over,
                             grace=max(60.0, 3 * (self.every or 0.0)))

    def rollback_count(self) -> int:
        """Rollbacks as the night counts them (each finished command), plus one that runs now."""
        return self.rollbacks_done + (1 if self.rolling_back else 0)

    def verdict(self) -> str | None:
        """stable / attention / unknown / rolled back (the stability report's rule); None before any hour says anything."""
        if self.done_verdict is not None:
            return self.done_verdict
        rows = [self.closed[h] for h in sorted(self.closed)]
        if not rows and not self.rollback_count():
            return None  # nothing judged yet: never "stable" on no evidence
        return night_verdict([r.verdict_record() for r in rows], self.rollback_count())

    def not_passing(self) -> list[str]:
        """Closed hours whose worst state is not a clean pass, e.g. ["03 OVER", "05 BLIND", "07 WARN"]."""
        return [f"{hour_label(h)} {r.worst}" for h, r in sorted(self.closed.items()) if r.status != "PASS"]

    def rollback_why(self) -> str:
        if self.rollback is None:
            return ""
        return "; ".join(format_reason(r) for r in self.rollback.reasons[:2]) or "no reason recorded"

    def _rollback_hour_label(self) -> str:
        return hour_label(self.rollback_hour) if self.rollback_hour is not None else MISSING

    def rollback_lines(self, now: float) -> list[str]:
        """Two lines for the night's rollback banner (none when the night has not rolled back)."""
        rb = self.rollback
        if rb is None:
            return []
        kind = "IMMEDIATE " if self.rollback_auto else ""
        head = (f"▲ FIRST-NIGHT {kind}ROLLBACK in hour {self._rollback_hour_label()} "
                f"(decided {format_clock(rb.decided_at if rb.decided_at is not None else rb.started_at, zone=True)}): "
                f"{self.rollback_why()}")
        if not rb.done:
            return [head, f"ROLLING BACK: {format_duration(rb.elapsed(now))} since the decision — the rollback command is running"]
        if rb.ok:
            return [head, ", ".join([f"✔ rolled back {format_duration(rb.elapsed(now), 'measured')} after the decision", *rb.timings()])]
        attempts = rb.attempts if rb.attempts is not None else MISSING
        return [head, f"▲ ROLLBACK FAILED after {attempts} attempt(s): {rb.error or 'no reason given'} — ROLL BACK BY HAND"]

    def headline(self) -> str:
        """One phrase for the war room's phase line once the night has begun."""
        hour = self._rollback_hour_label()
        if self.rolling_back:
            return f"FIRST-NIGHT ROLLBACK (hour {hour})"
        if self.rollback is not None and not self.rollback.ok:
            return f"FIRST-NIGHT ROLLBACK FAILED (hour {hour})"
        if self.rollback is not None:
            return f"ROLLED BACK in the first night (hour {hour})"
        if self.done_verdict is not None:
            return f"first night done: {self.done_verdict.upper()}"
        return f"first night: {len(self.closed)}/{self.hours} hours closed"

    def stability(self) -> tuple[str, str]:
        """(kind, line): the stability so far. kind is ok / warn / fail / unknown (for the line's style)."""
        closed = len(self.closed)
        backfilled = sum(1 for r in self.closed.values() if r.backfilled)
        count = f"{closed}/{self.hours} hours closed" + (f" ({backfilled} back-filled)" if backfilled else "")
        verdict = self.verdict()
        done = self.done_verdict is not None
        prefix = "night done: " if done else ""
        report = f" → {self.report}" if done and self.report else ""
        if verdict is None:
            return "unknown", f"? NOT JUDGED YET: no hour closed ({count})"
        if verdict == "rolled back":
            return "fail", f"▲ {prefix}ROLLED BACK in hour {self._rollback_hour_label()} · {count}{report}"
        bad = self.not_passing()
        why = f"; look at hours {', '.join(bad[:6])}" + (" …" if len(bad) > 6 else "") if bad else ""
        if verdict == "unknown":  # the night was blind (night_hours.BLIND_NIGHT_RULE): never a pass
            return "unknown", f"? {prefix}UNKNOWN: the night was blind · {count}{why}{report}"
        if verdict == "stable":  # the report's rule; a WARN or a thin hour is still worth naming
            return "ok", f"✔ {prefix}STABLE{'' if done else ' so far'} · {count}{why or ', all within limits'}{report}"
        return "warn", f"! {prefix}{verdict.upper()} · {count}{why}{report}"

    def hours_strip(self, now: float, width: int) -> list[tuple[str, str]]:
        """One mark per hour (closed: its status symbol, ▶ the open one, · to come, ? past and not closed),
        a window of at most `width` around now."""
        if self.started_at is None:
            return []
        current = self.hour_at(now) or 0
        marks: list[tuple[str, str]] = []
        for hour in range(self.hours):
            row = self.closed.get(hour)
            if row is not None:
                marks.append((STATUS_SYMBOL[row.status], row.status.lower()))
            elif hour == current and self.running:
                marks.append(("▶", "now"))
            elif hour < current:
                marks.append(("?", "missing"))
            else:
                marks.append(("·", "later"))
        if len(marks) <= width:
            return marks
        start = min(max(0, current - width // 2), len(marks) - width)
        return marks[start:start + width]


@dataclass(frozen=True)
class HourLine:
    """One row of the hours table as the screen draws it; `kind` picks its style (pass/warn/fail/unknown/open)."""

    hour: str
    mark: str
    kind: str
    source: str
    fired: str
    rollback: str = ""


def hour_lines(night: NightView | None) -> list[HourLine]:
    """The closed hours, oldest first, then the open hour so far."""
    if night is None:
        return []
    lines = [HourLine(hour_label(h), r.mark, r.status.lower(), r.source, r.fired(), r.rollback)
             for h, r in sorted(night.closed.items())]
    current = night.open
    if current is not None and current.hour not in night.closed:
        samples = f"open: {current.samples} sample{'s' if current.samples != 1 else ''}"
        mark = hour_mark(current.worst) if current.worst else "? no sample"
        lines.append(HourLine(f"{hour_label(current.hour)}▶", mark, "open", samples, current.fired_text()))
    return lines
