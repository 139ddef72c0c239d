"""The first night: the promoted release watched for N hours (24 by default), an hourly log, a stability report.

After the canary reached 100 % and passed, every `evaluate_every` the night
samples the golden signals (SignalBoard) and evaluates the triggers
(TriggerBoard) exactly as the canary did, journals each evaluation as a
`sample` record (phase "first_night") in the release's journal, and folds it
into the current hour's aggregate. Triggers stay armed: an active rollback
trigger (an auto-trigger or any trigger whose action is rollback) runs the
rollback through the traffic adapter and pages (the notifier gets the
rollback_started / rollback_done records). A night rolls back once; after
that it keeps watching and writing its hours (the recovery is in them).

Each closed hour writes hourly_log_<HH>.txt (HH = hours since the night's
start) and journals `hour_closed`; at the end stability_report_<N>h.md and
`first_night_done`. Memory stays flat: one hour's aggregate, bounded
histories, and the journal appended without keeping its records.

Stopped and started again, the night reads the journal, knows which hours are
closed, rebuilds the current hour from its journaled samples, and fills what
it missed from Prometheus' history (query_range), marking those hours (and the
hour's part) as back-filled in the log and in `hour_closed`.

With `[state] dsn` the night holds the run's lease like the canary (a
`holding`): its records are committed to PostgreSQL first, in the same chain,
redacted and fenced by the same token (cockpit.run.replicated_journal), its
evidence files follow as they are written, and a night rollback journals
`traffic_fenced` before the command runs, so a night that lost its lease moves
no traffic. A standby (`cockpit first-night VERSION --standby` on another
host) that takes the lease when the night's holder dies resumes it by the same
rules as a restart, from the database's journal, and journals `lease_taken`.
Without [state] the journal is the local file alone, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from cockpit.clock import Clock
from cockpit.config import CockpitConfig
from cockpit.engine.model import TriggerReading
from cockpit.engine.sampling import EvaluationAnswers, evaluate_triggers, sample_signals, signals_json, triggers_json
from cockpit.engine.traffic import rollback_evidence, rollback_fields
from cockpit.errors import CockpitError
from cockpit.events import RECORD_FIELDS, Event
from cockpit.evidence import EvidenceStore
from cockpit.format import format_clock, format_duration
from cockpit.run.base import JournaledRun, Say
from cockpit.run.journal import Journal
from cockpit.run.night_hours import (
    HourAggregate,
    hour_line,
    hourly_log_file,
    hourly_log_text,
    night_verdict,
    stability_report_file,
)

NIGHT = "first_night"
# What the notifier gets: the rollback records and a standby's takeover as journaled, and an `hourly_summary` per closed hour
# (the [[notify]] event name; its `line` is the hour in one line for a phone).
PAGED = (Event.ROLLBACK_STARTED, Event.ROLLBACK_DONE, Event.LEASE_TAKEN)
NO_TRAFFIC = "no [traffic] configured"
MAX_RANGE_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series
RANGE_CONCURRENCY = 4
MAX_ROLLBACK_TRIES = 3  # a rollback whose command failed (after the adapter's retries) is tried again, up to this


class FirstNightError(CockpitError):
    """The night cannot start (not promoted, already live, journal changed): one line."""


@dataclass
class NightOutcome:
    version: str
    verdict: str  # stable | attention | unknown (the night was blind: night_hours.BLIND_NIGHT_RULE) | rolled back
    hours: int
    closed: list[int] = field(default_factory=list)
    backfilled: list[int] = field(default_factory=list)
    rollbacks: int = 0
    rollback_ok: bool | None = None
    report: str | None = None
    resumed: bool = False
    already_finished: bool = False

    @property
    def exit_code(self) -> int:
        """0 the night ended without a rollback; 1 it rolled back (or the rollback failed); 3 it was blind (UNKNOWN)."""
        if self.rollbacks:
            return 1
        return 3 if self.verdict == "unknown" else 0


KEEP_RECORDS = 16  # the night's journal keeps this many of its records in memory (a night writes thousands)


def _let_go(journal: Journal, keep: int = KEEP_RECORDS) -> list[dict[str, Any]]:
    """The records the journal read when it opened (for the resume); from now on it keeps only the last few."""
    loaded = journal.records
    journal.records = deque(maxlen=keep)  # type: ignore[assignment]
    return loaded


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


@dataclass
class _Resume:
    """What the journal says about the night so far."""

    canary_done: dict[str, Any] | None = None
    started_at: float | None = None
    hours: int | None = None
    hour_length: float | None = None
    every: float | None = None  # how often the night evaluated when it started (its hourly logs say it)
    closed: dict[int, dict[str, Any]] = field(default_factory=dict)
    done: dict[str, Any] | None = None
    samples: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # unclosed hours' samples
    last_board: dict[str, Any] | None = None
    rollback_started: dict[str, Any] | None = None
    rollback_done: dict[str, Any] | None = None
    rollbacks: list[dict[str, Any]] = field(default_factory=list)  # summaries of finished night rollbacks


def _read_resume(records: list[dict[str, Any]]) -> _Resume:
    state = _Resume()
    for record in records:
        event = record.get("event")
        if event == Event.CANARY_DONE:
            state.canary_done = record
        elif event == Event.FIRST_NIGHT_STARTED and state.started_at is None:
            state.started_at = float(record["ts"])
            state.hours = int(record.get("hours") or 24)
            state.hour_length = float(record.get("hour_length") or 3600.0)
            state.every = _num(record.get("evaluate_every"))
        elif event == Event.HOUR_CLOSED:
            state.closed[int(record["hour"])] = record
            state.samples.pop(int(record["hour"]), None)
        elif event == Event.FIRST_NIGHT_DONE:
            state.done = record
        elif record.get("phase") != NIGHT:
            continue
        elif event == Event.SAMPLE:
            hour = int(record.get("hour") or 0)
            if hour not in state.closed:
                state.samples.setdefault(hour, []).append(record)
            if record.get("board"):
                state.last_board = record["board"]
        elif event == Event.ROLLBACK_STARTED:
            state.rollback_started, state.rollback_done = record, None
        elif event == Event.ROLLBACK_DONE:
            state.rollback_done = record
    return state


class FirstNight(JournaledRun):
    """One release's first night in this process. Use `run_first_night`."""

    def __init__(
        self,
        config: CockpitConfig,
        version: str,
        *,
        source: Any,
        clock: Clock,
        store: EvidenceStore,
        notifier: Any,
        traffic: Any,
        hours: int,
        hour_length: float,
        evaluate_every: float | None,
        baseline: dict[str, float | None] | None,
        signal_board: Any,
        trigger_board: Any,
        say: Say | None,
        handed_over: bool = False,
        holding: Any = None,
    ) -> None:
        if hours < 1:
            raise FirstNightError(f"hours: {hours} is not a number of hours (at least 1)")
        if hour_length <= 0:
            raise FirstNightError(f"hour length: {hour_length!r} must be more than 0 seconds")
        super().__init__(version, clock=clock, store=store, notifier=notifier, say=say, holding=holding)
        self.config = config
        self.source = source
        self.answers = EvaluationAnswers(source)  # the boards' source: one evaluation asks a query once
        self.traffic = traffic
        self.hours = hours
        self.hour_length = float(hour_length)
        self.every = max(0.001, float(evaluate_every if evaluate_every is not None else config.canary.evaluate_every))
        self.baseline = baseline
        self.signal_board = signal_board
        self.trigger_board = trigger_board
        self.handed_over = handed_over  # the canary's own process went on into the night (start = "auto")
        self.started_at = 0.0
        self.stage = 0
        self.weight = 100.0
        self.rolled_back = False  # a rollback command succeeded: the night does not roll back twice
        self.rollback_count = 0
        self.rollback_ok: bool | None = None
        self.rollbacks: deque[dict[str, Any]] = deque(maxlen=8)
        self.closed: dict[int, dict[str, Any]] = {}  # hour -> summary (at most `hours` small dicts)
        self.agg: HourAggregate | None = None
        self.baseline_file: str | None = None
        self._pending_rollback: dict[str, Any] | None = None  # started before a stop, never done
        self._unclosed_rollback: dict[str, Any] | None = None  # done in an hour not closed before the stop
        self._unclosed_started: dict[str, Any] | None = None
        self._loaded: list[dict[str, Any]] = []  # the journal as it was when the night opened it
        self._takeover: tuple[float, str] | None = None  # (when, what) a standby took the night over, for its hour

    # ------------------------------------------------------------------ lifecycle

    # ------------------------------------------------------------------ JournaledRun

    def refuse(self, message: str) -> Exception:
        """A FirstNightError: the night cannot start."""
        return FirstNightError(message)

    def lock_held(self, holder: str) -> str:
        """The canary runner's lock: one writer of the journal at a time."""
        return f"{self.version}: another cockpit process (pid {holder}) is writing this release's journal"

    def open_journal(self) -> Journal:
        """The journal (with [state] dsn the replicated one) without the night's records kept in memory."""
        journal = super().open_journal()
        self._loaded = _let_go(journal)
        return journal

    def offer(self, record: dict[str, Any]) -> None:
        """The notifier gets the records worth a page, with the version."""
        if record.get("event") in PAGED:
            self.page({**record, "version": self.version})

    def record_context(self) -> dict[str, Any]:
        """The night's own records say they are the night's."""
        return {"phase": NIGHT}

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> NightOutcome:
        """Watch the night, resume it, or report it done (see the module docstring)."""
        with self.journal_open():
            resume = _read_resume(self._loaded)
            self._loaded = []
            self._check_promoted(resume)
            if resume.done is not None:
                return self._finished_outcome(resume)
            self._prepare()
            resumed = resume.started_at is not None
            await self._start(resume)
            await self._catch_up(resume)
            self._note_takeover()
            resume.samples.clear()
            await self._watch()
            self._finish()
            return self._outcome(resumed)

    def _check_promoted(self, resume: _Resume) -> None:
        done = resume.canary_done
        if done is None:
            raise FirstNightError(f"{self.version}: the canary has not finished (no canary_done in the journal): "
                                  "the first night watches a release at 100 %")
        if done.get("result") != "promoted":
            raise FirstNightError(f"{self.version}: the canary was not promoted ({done.get('result')}): "
                                  "there is no released version to watch")
        self.stage = int(done.get("stage") or 0)
        self.weight = float(done.get("weight") or 100.0)

    def _prepare(self) -> None:
        self.take_notifier_failures()
        if self.baseline is None:
            from cockpit.checks.baseline import load_baseline

            self.baseline = load_baseline(self.store)
        if self.baseline is not None:
            from cockpit.checks.baseline import baseline_file

            self.baseline_file = baseline_file(self.version)
        if self.signal_board is None:
            from cockpit.engine.signals import SignalBoard

            # History only as long as the trend needs: the hour's figures live in the aggregate.
            keep = max(60, 2 * math.ceil(float(self.config.canary.trend_window) / self.every))
            self.signal_board = SignalBoard(self.config, self.answers, self.clock, self.baseline, history=keep)
        if self.trigger_board is None:
            from cockpit.engine.triggers import TriggerBoard

            self.trigger_board = TriggerBoard(self.config, self.answers, self.clock)

    # ------------------------------------------------------------------ hours

    def hour_of(self, ts: float) -> int:
        return int((ts - self.started_at) // self.hour_length)

    def hour_bounds(self, hour: int) -> tuple[float, float]:
        start = self.started_at + hour * self.hour_length
        return start, start + self.hour_length

    @property
    def night_ends_at(self) -> float:
        return self.started_at + self.hours * self.hour_length

    def _new_hour(self, hour: int, carry: dict[str, Any] | None = None) -> HourAggregate:
        start, end = self.hour_bounds(hour)
        return HourAggregate(hour, start, end, carry)

    async def _start(self, resume: _Resume) -> None:
        if resume.started_at is not None:
            self.started_at = resume.started_at
            if (resume.hours, resume.hour_length) != (self.hours, self.hour_length):
                self.say(f"this night started with {resume.hours} hours of {format_duration(resume.hour_length or 0)}: "
                         "it keeps them", loud=True)
            self.hours = int(resume.hours or self.hours)
            self.hour_length = float(resume.hour_length or self.hour_length)
            self.closed = {h: _summary_of(r) for h, r in resume.closed.items()}
            self._restore_hour_logs(resume)
            self._restore_rollbacks(resume)
            self._restore_triggers(resume.last_board)
        else:
            self.started_at = self.clock.now()
        self.emit(Event.FIRST_NIGHT_STARTED, version=self.version, hours=self.hours, hour_length=self.hour_length,
                  evaluate_every=self.every, selector=self.config.canary.selector, stage=self.stage, weight=self.weight,
                  resumed=resume.started_at is not None, closed_hours=sorted(self.closed),
                  traffic=self.traffic.describe() if self.traffic is not None else None,
                  **({"start": "auto", "pid": os.getpid()} if self.handed_over else {}))
        self._announce_takeover(resumed=resume.started_at is not None)
        if self.handed_over:
            self.say(f"hand-over: the canary promoted {self.version}; this process (pid {os.getpid()}) watches its "
                     "first night now ([first_night] start = \"auto\")", loud=True)
        if resume.started_at is None:
            self.say(f"first night of {self.version}: {self.hours} hours of {format_duration(self.hour_length)}, "
                     f"evaluating every {format_duration(self.every)}")
        else:
            self.say(f"first night of {self.version} resumed: {len(self.closed)}/{self.hours} hours closed", loud=True)
        if self.traffic is None:
            self.say(f"{NO_TRAFFIC}: a rollback trigger at night will page but cannot move traffic", loud=True)

    def _announce_takeover(self, *, resumed: bool) -> None:
        """A standby (`first-night --standby`) that took the night over says so right after the night's start record.

        A lease its canary released when it finished is the night's normal start, not a takeover: not announced.
        """
        previous = self.holding.lease.previous if self.holding is not None else None
        if previous is None or (previous.released and not resumed):
            return
        hour = max(0, min(self.hour_of(self.clock.now()), self.hours - 1))
        text = self.holding.announce(self, self.stage, self.weight, phase=NIGHT, hour=hour)
        if text is not None:
            self._takeover = (self.clock.now(), text)

    def _note_takeover(self) -> None:
        """The takeover in the current hour's log (its aggregate exists only once the missed hours are caught up)."""
        if self._takeover is not None and self.agg is not None:
            self.agg.note(*self._takeover)
        self._takeover = None

    def _restore_hour_logs(self, resume: _Resume) -> None:
        """Write again, from its journaled summary, a closed hour's log this folder lacks.

        A holder that died right after closing an hour may not have sent that hour's log to the state database
        yet (files follow each lease renewal); its `hour_closed` record holds everything the log says.
        """
        for hour, record in sorted(resume.closed.items()):
            name = str(record.get("file") or hourly_log_file(hour))
            if self.store.path(name).exists():
                continue
            self._write(name, hourly_log_text(self.version, self.closed[hour], night_start=self.started_at,
                                              hours=int(resume.hours or self.hours), every=resume.every or self.every,
                                              baseline_file=self.baseline_file))
            self.say(f"hour {hour:02d}'s log was not on this host: written again from its journaled summary → {name}")

    def _restore_rollbacks(self, resume: _Resume) -> None:
        for record in self.closed.values():
            for rb in record.get("rollbacks") or []:
                self.rollbacks.append(rb)
                self.rollback_count += 1
                self.rollback_ok = bool(rb.get("ok"))
                self.rolled_back = self.rolled_back or bool(rb.get("ok"))
        done = resume.rollback_done
        if done is not None and not any(rb.get("decided_at") == done.get("decided_at") for rb in self.rollbacks):
            # Done in an hour that was not closed yet: it is in that hour's samples' aggregate.
            self.rollback_count += 1
            self.rollback_ok = bool(done.get("ok"))
            self.rolled_back = self.rolled_back or bool(done.get("ok"))
        self._pending_rollback = resume.rollback_started if resume.rollback_started is not None and done is None else None
        self._unclosed_rollback = done if done is not None and not any(
            rb.get("decided_at") == done.get("decided_at") for rb in self.rollbacks) else None
        self._unclosed_started = resume.rollback_started

    def _restore_triggers(self, board: dict[str, Any] | None) -> None:
        if not board or not isinstance(board.get("triggers"), dict):
            return
        timers = {}
        for name, timer in (board["triggers"].get("timers") or {}).items():
            if isinstance(timer, dict):
                # Pause each timer where it was last seen: the time the night was stopped is not "firing".
                timers[name] = {**timer, "paused_at": timer.get("paused_at") or timer.get("seen_at")}
        restore = getattr(self.trigger_board, "restore", None)
        if restore is not None:
            with contextlib.suppress(Exception):
                restore({"timers": timers})

    async def _catch_up(self, resume: _Resume) -> None:
        """Close the hours missed while stopped (from journaled samples and history); seed the current hour."""
        now = self.clock.now()
        current = min(self.hour_of(now), self.hours)
        carry: dict[str, Any] | None = None
        for hour in range(self.hours):
            if hour in self.closed:
                continue
            if hour > current:
                break
            agg = self._new_hour(hour, carry)
            for record in resume.samples.get(hour, []):
                agg.add_sample(float(record["ts"]), record.get("signals") or {}, record.get("triggers") or {})
            if hour == current:
                self.agg = agg
                self._attach_rollback(agg)
                await self._backfill_gaps(agg, until=now)
                break
            self._attach_rollback(agg)
            await self._backfill_gaps(agg, until=agg.ends_at)
            carry = agg.carry()
            self._close(agg)
        if self._pending_rollback is not None and self._may_roll_back():
            started = self._pending_rollback
            self._pending_rollback = None
            self.say("a rollback was started before the stop and never finished: running it now", loud=True)
            await self._run_rollback(started, self.agg or self._new_hour(min(current, self.hours - 1)))

    def _attach_rollback(self, agg: HourAggregate) -> None:
        done = self._unclosed_rollback
        if done is None or self.hour_of(float(done["ts"])) != agg.hour:
            return
        started = self._unclosed_started or {}
        agg.rollbacks.append(self._rollback_summary(started, done))
        self.rollbacks.append(agg.rollbacks[-1])
        self._unclosed_rollback = None

    async def _watch(self) -> None:
        """Evaluate every `every` until the last hour closes."""
        last_eval = self.agg.last_sample_at if self.agg is not None else None
        while True:
            now = self.clock.now()
            hour = self.hour_of(now)
            if self.agg is None or hour != self.agg.hour:
                carry = None
                if self.agg is not None:
                    ended = self.agg
                    self.agg = None
                    await self._backfill_gaps(ended, until=ended.ends_at)  # a stall at the hour's end
                    carry = ended.carry()
                    self._close(ended)
                    # A stall (suspended process, slow rollback) that skipped whole hours: fill them from history.
                    for missed in range(ended.hour + 1, min(hour, self.hours)):
                        if missed not in self.closed:
                            gap = self._new_hour(missed, carry)
                            await self._backfill_gaps(gap, until=gap.ends_at)
                            carry = gap.carry()
                            self._close(gap)
                if hour >= self.hours:
                    return
                self.agg = self._new_hour(hour, carry)
                if last_eval is not None and now - last_eval > 1.5 * self.every:
                    await self._backfill_gaps(self.agg, until=now)
            due = now if last_eval is None else last_eval + self.every
            wait = min(due, self.agg.ends_at) - now
            if wait > 0:
                await self.clock.sleep(wait)
                continue
            await self._evaluate(self.agg)
            last_eval = now

    def _close(self, agg: HourAggregate) -> None:
        summary = agg.summary(self.baseline)
        text = hourly_log_text(self.version, summary, night_start=self.started_at, hours=self.hours, every=self.every,
                               baseline_file=self.baseline_file)
        name = hourly_log_file(agg.hour)
        self._write(name, text)
        record = self.emit(Event.HOUR_CLOSED, **summary, file=name)
        self.page({"event": Event.HOURLY_SUMMARY.value, "ts": record["ts"], "seq": record["seq"], "version": self.version,
                   "hour": agg.hour, "line": hour_line(summary), "file": name})
        self.closed[agg.hour] = summary
        mark = " (back-filled)" if summary["backfilled"] else ""
        self.say(f"hour {agg.hour:02d} closed{mark}: worst {summary['worst']}, "
                 f"{len(summary['triggers'])} trigger(s) fired → {name}", loud=summary["worst"] in ("FAIL", "OVER"))

    def _finish(self) -> None:
        from cockpit.run.night_hours import stability_report_text

        closed = [self.closed[h] for h in sorted(self.closed)]
        name = stability_report_file(self.hours)
        text = stability_report_text(self.version, closed, night_start=self.started_at, hours=self.hours,
                                     hour_length=self.hour_length, rollbacks=list(self.rollbacks), baseline_file=self.baseline_file)
        self._write(name, text)
        verdict = night_verdict(closed, self.rollback_count)
        self.emit(Event.FIRST_NIGHT_DONE, verdict=verdict, hours=self.hours, closed=sorted(self.closed),
                  backfilled=[h for h in sorted(self.closed) if self.closed[h].get("backfilled")],
                  rollbacks=self.rollback_count, report=name)
        self.say(f"first night of {self.version} done: {verdict.upper()} → {name}", loud=verdict != "stable")

    def _write(self, name: str, text: str) -> None:
        try:
            self.store.write_text(name, text)
        except Exception as exc:  # evidence never stops the watch
            self.say(f"evidence {name} not written: {exc}", loud=True)

    # ------------------------------------------------------------------ one evaluation

    async def _evaluate(self, agg: HourAggregate) -> None:
        now = self.clock.now()
        # {window} may widen on low night-time traffic, up to an hour: never wider than the hour it reports.
        with self.answers.evaluation():
            signals, triggers = await asyncio.gather(
                sample_signals(self.signal_board, self.config, self.clock, max(self.started_at, now - self.hour_length),
                               agg.ends_at),
                evaluate_triggers(self.trigger_board, self.config, self.clock),
            )
        # Only the triggers that are not quiet: twenty quiet ones every 15 s for a night would be most of the journal.
        signal_data, trigger_data = signals_json(signals), triggers_json(triggers, quiet=False)
        board: dict[str, Any] = {}
        if any(t.firing for t in triggers):
            taker = getattr(self.trigger_board, "snapshot", None)
            if taker is not None:
                with contextlib.suppress(Exception):
                    snap = taker()
                    board = {"triggers": {"timers": {n: t for n, t in (snap.get("timers") or {}).items()
                                                     if isinstance(t, dict) and t.get("since") is not None}}}
        self.emit(Event.SAMPLE, stage=self.stage, weight=self.weight, phase=NIGHT, hour=agg.hour, signals=signal_data,
                  triggers=trigger_data, **({"board": board} if board else {}))
        agg.add_sample(now, signal_data, trigger_data)
        acting = [t for t in triggers if t.active and t.action == "rollback" and not t.dry_run and t.error is None]
        if acting and self._may_roll_back():
            await self._roll_back(acting, agg)

    def _may_roll_back(self) -> bool:
        """Once done, never again; a failed command is tried again a few times; without traffic, paged once."""
        if self.rolled_back:
            return False
        if self.traffic is None:
            return self.rollback_count == 0
        return self.rollback_count < MAX_ROLLBACK_TRIES

    # ------------------------------------------------------------------ rollback

    async def _roll_back(self, acting: list[TriggerReading], agg: HourAggregate) -> None:
        from cockpit.engine.decision import trigger_reason

        decided_at = self.clock.now()
        reasons = [trigger_reason(t).as_dict() for t in acting]
        since = [t.since for t in acting if t.since is not None]
        auto = any(t.auto for t in acting)
        started = self.emit(Event.ROLLBACK_STARTED, stage=self.stage, weight=self.weight, phase=NIGHT, hour=agg.hour,
                            reasons=reasons, decided_at=decided_at, fired_at=min(since) if since else decided_at,
                            action="immediate_rollback" if auto else "rollback")
        why = "; ".join(r["message"] for r in reasons[:3])
        agg.note(decided_at, f"ROLLBACK started: {why}")
        self.say(f"FIRST NIGHT ROLLBACK in hour {agg.hour:02d}: {why}", loud=True)
        await self._run_rollback(started, agg, decided_perf=time.perf_counter())

    async def _run_rollback(self, started: dict[str, Any], agg: HourAggregate, decided_perf: float | None = None) -> None:
        decided_at = _num(started.get("decided_at"))
        common = {"stage": self.stage, "weight": self.weight, "phase": NIGHT, "hour": agg.hour}
        if self.traffic is None:
            done = self.emit(Event.ROLLBACK_DONE, **common, decided_at=decided_at, ok=False, attempts=0, command_started_at=None,
                             command_ended_at=None, decision_to_command_ms=None, error=NO_TRAFFIC)
        else:
            await self.fence_traffic("rollback", self.stage, self.weight)  # [state]: only while this night holds the run
            result = await self.traffic.rollback(self.version, self.stage, self.weight)
            fields = rollback_fields(result, decided_at, decided_perf)
            done = self.emit(Event.ROLLBACK_DONE, **common, **fields)
            why = "; ".join(str(r.get("message", "")) for r in (started.get("reasons") or [])[:4])
            title = f"First-night rollback — {self.version} hour {agg.hour:02d}"
            self._write(f"rollback_first_night_{self.version}.txt", rollback_evidence(title, why, result, fields))
        summary = self._rollback_summary(started, done)
        agg.rollbacks.append(summary)
        self.rollbacks.append(summary)
        self.rollback_count += 1
        self.rollback_ok = bool(done.get("ok"))
        if done.get("ok"):
            self.rolled_back = True
            agg.note(float(done["ts"]), f"rollback done: {done.get('attempts')} attempt(s), traffic off the release "
                                        f"{summary['to_end']} after the decision")
            self.say(f"first-night rollback done ({summary['to_end']} after the decision)", loud=True)
        else:
            agg.note(float(done["ts"]), f"ROLLBACK FAILED: {done.get('error')}")
            self.say(f"FIRST-NIGHT ROLLBACK FAILED: {done.get('error')} — ROLL BACK BY HAND", loud=True)

    def _rollback_summary(self, started: dict[str, Any], done: dict[str, Any]) -> dict[str, Any]:
        decided = _num(started.get("decided_at")) or _num(done.get("decided_at"))

        def after(key: str) -> str:
            at = _num(done.get(key))
            if at is None or decided is None:
                return "not recorded"
            return format_duration(max(0.0, at - decided), "measured")

        return {
            "hour": int(done.get("hour") if isinstance(done.get("hour"), int) else started.get("hour") or 0),
            "decided_at": decided,
            "why": "; ".join(str(r.get("message", "")) for r in (started.get("reasons") or [])[:3]),
            "ok": bool(done.get("ok")),
            "error": done.get("error"),
            "attempts": done.get("attempts"),
            "to_start": after("command_started_at"),
            "to_end": after("command_ended_at"),
        }

    # ------------------------------------------------------------------ back-fill from history

    async def _backfill_gaps(self, agg: HourAggregate, until: float) -> None:
        """Fill the parts of the hour up to `until` that no live sample covers, from Prometheus' history."""
        end = min(until, agg.ends_at)
        covered = agg.last_sample_at
        start = agg.started_at if covered is None else covered + self.every
        if end - start < self.every * 0.5 or start >= end:
            return
        await self.backfill(agg, start, end)

    async def backfill(self, agg: HourAggregate, start: float, end: float) -> None:
        """Signals (min/p50/max against their limits) and triggers over [start, end) from query_range."""
        from cockpit.engine.promql_text import render_query
        from cockpit.engine.signals import query_deadline

        step = max(self.every, (end - start) / MAX_RANGE_POINTS)
        # Prometheus' client sends whole seconds: ask from the next whole second, so the points asked
        # for are the points that come back (start + k*step before `end`).
        first = float(math.ceil(start))
        if first >= end:
            return
        expected = max(1, math.ceil((end - first) / step - 1e-9))
        last = first + (expected - 1) * step
        agg.backfilled_spans.append((start, end))
        fetch = getattr(self.source, "query_range", None)
        if fetch is None:
            agg.backfill_errors.append("the source cannot read Prometheus' history (no query_range)")
            for name, signal in self.config.enabled_signals().items():
                agg.add_history(name, signal.unit, None, [(start, None, "BLIND")] * expected)
            return

        def within(points: dict[float, float]) -> dict[float, float]:
            return {t: v for t, v in points.items() if first - 1e-6 <= t < end}

        deadline = query_deadline(self.config)
        gate = asyncio.Semaphore(RANGE_CONCURRENCY)
        canary = self.config.canary

        async def ask(expr: str) -> Any:
            async with gate:
                try:
                    return await asyncio.wait_for(fetch(expr, first, last, step), timeout=deadline)
                except TimeoutError:
                    return _RangeError(f"no answer within {deadline:g}s")
                except Exception as exc:  # a source must never take the night down
                    return _RangeError(f"{type(exc).__name__}: {str(exc)[:200]}")

        signals = self.config.enabled_signals()
        need = canary.min_requests
        signal_jobs = {name: ask(render_query(s.query, canary.window, canary)) for name, s in signals.items()}
        volume_jobs = {name: ask(render_query(s.volume_query, canary.window, canary))
                       for name, s in signals.items() if s.volume_query and need > 0}
        triggers = [t for t in self.config.triggers if t.enabled]
        trigger_jobs = {t.name: ask(render_query(t.expr, canary.window, canary)) for t in triggers}
        label = canary.alerts_action_label
        alerts_job = ask(f'ALERTS{{{label}!="",alertstate="firing"}}') if label and hasattr(self.source, "alerts") else None
        names = list(signal_jobs) + [f"volume:{n}" for n in volume_jobs] + [f"trigger:{n}" for n in trigger_jobs]
        jobs = list(signal_jobs.values()) + list(volume_jobs.values()) + list(trigger_jobs.values())
        if alerts_job is not None:
            names.append("alerts")
            jobs.append(alerts_job)
        answers = dict(zip(names, await asyncio.gather(*jobs)))
        for name, signal in signals.items():
            limits = self.signal_board.limits(name, signal) if hasattr(self.signal_board, "limits") else None
            upper = limits is None or limits.upper is not None or limits.lower is None
            series = within(_points(answers[name], upper=upper))
            volume = within(_points(answers.get(f"volume:{name}"), upper=True)) if f"volume:{name}" in answers else None
            error = _error_of(answers[name]) or (_error_of(answers.get(f"volume:{name}")) if volume is not None else None)
            if error:
                agg.backfill_errors.append(f"{name}: {error}")
                series = {}
            points: list[tuple[float, float | None, str]] = []
            for t, value in sorted(series.items()):
                if volume is not None and (volume.get(t) is None or volume[t] < need):
                    points.append((t, value, "INSUFFICIENT"))
                elif limits is None or limits.missing is not None:
                    points.append((t, value, "BLIND"))
                else:
                    points.append((t, value, "OVER" if limits.breached(value) else "WITHIN"))
            # A step with no point in history is a step nobody could see: BLIND, never a pass.
            points += [(end, None, "BLIND")] * max(0, expected - len(points))
            shown = limits.shown if limits is not None else None
            agg.add_history(name, signal.unit, shown, points)
        for trigger in triggers:
            answer = answers[f"trigger:{trigger.name}"]
            error = _error_of(answer)
            if error:
                agg.backfill_errors.append(f"trigger {trigger.name}: {error}")
                continue
            times = sorted(within(_points(answer, upper=True)))
            agg.add_history_trigger(trigger.name, trigger.action, trigger.auto, times)
        if alerts_job is not None:
            answer = answers["alerts"]
            error = _error_of(answer)
            if error:
                agg.backfill_errors.append(f"alerts: {error}")
            else:
                for labels, times in _alert_series(answer, first - 1e-6, end):
                    action = str(labels.get(label) or "warn").lower()
                    auto = action in ("immediate", "immediate_rollback", "auto", "auto_rollback")
                    agg.add_history_trigger(f"alert:{labels.get('alertname', 'unnamed')}",
                                            "rollback" if auto else action, auto, times)
        self.say(f"hour {agg.hour:02d}: back-filled {format_clock(start)}–{format_clock(end)} UTC from Prometheus' history"
                 + (f" ({len(agg.backfill_errors)} problem(s))" if agg.backfill_errors else ""), loud=bool(agg.backfill_errors))

    # ------------------------------------------------------------------ results

    def _outcome(self, resumed: bool) -> NightOutcome:
        closed = sorted(self.closed)
        return NightOutcome(
            version=self.version,
            verdict=night_verdict([self.closed[h] for h in closed], self.rollback_count),
            hours=self.hours,
            closed=closed,
            backfilled=[h for h in closed if self.closed[h].get("backfilled")],
            rollbacks=self.rollback_count,
            rollback_ok=self.rollback_ok,
            report=stability_report_file(self.hours),
            resumed=resumed,
        )

    def _finished_outcome(self, resume: _Resume) -> NightOutcome:
        done = resume.done or {}
        return NightOutcome(
            version=self.version,
            verdict=str(done.get("verdict") or "?"),
            hours=int(done.get("hours") or resume.hours or self.hours),
            closed=sorted(resume.closed),
            backfilled=[h for h in sorted(resume.closed) if resume.closed[h].get("backfilled")],
            rollbacks=int(done.get("rollbacks") or 0),
            report=done.get("report"),
            already_finished=True,
        )


@dataclass
class _RangeError:
    error: str


def _error_of(answer: Any) -> str | None:
    if answer is None:
        return None
    return getattr(answer, "error", None)


def _points(answer: Any, *, upper: bool) -> dict[float, float]:
    """{timestamp (ms precision): the worst finite value across series} of a range answer."""
    found: dict[float, float] = {}
    if answer is None or getattr(answer, "error", None):
        return found
    for series in getattr(answer, "series", None) or []:
        for t, value in series.points:
            if not math.isfinite(value):
                continue
            key = round(float(t), 3)
            old = found.get(key)
            found[key] = value if old is None else (max(old, value) if upper else min(old, value))
    return found


def _alert_series(answer: Any, start: float, end: float) -> list[tuple[dict[str, str], list[float]]]:
    out = []
    for series in getattr(answer, "series", None) or []:
        times = sorted(round(float(t), 3) for t, v in series.points if start <= float(t) < end)
        if times:
            out.append((dict(series.labels), times))
    return out


def _summary_of(record: dict[str, Any]) -> dict[str, Any]:
    """An hour_closed record without the journal's own fields."""
    return {k: v for k, v in record.items() if k not in (*RECORD_FIELDS, "file")}


async def run_first_night(
    config: CockpitConfig,
    version: str,
    *,
    source: Any,
    clock: Clock,
    store: EvidenceStore,
    notifier: Any = None,
    traffic: Any = None,
    hours: int = 24,
    hour_length: float = 3600.0,
    evaluate_every: float | None = None,
    baseline: dict[str, float | None] | None = None,
    signal_board: Any = None,
    trigger_board: Any = None,
    say: Say | None = None,
    handed_over: bool = False,
    holding: Any = None,
) -> NightOutcome:
    """Watch the promoted `version` for `hours` hours of `hour_length` seconds (or resume, or report it done).

    source: Prometheus-like (`query`, `query_range`, optionally `alerts`).
    notifier: anything with `emit(record)` that never blocks; it gets first_night_started, hour_closed,
      rollback_started, rollback_done and first_night_done.
    traffic: a TrafficAdapter (its `rollback` runs when a rollback trigger is active); None: page only.
    baseline: None loads baseline_<v>.json from the evidence folder if there is one.
    handed_over: the canary's own process goes on into the night ([first_night] start = "auto"): journaled.
    holding: a cockpit.run.lease.RunHolding with [state] dsn: the records go to PostgreSQL first, fenced.
    Raises FirstNightError (one line) when the night cannot start.
    """
    night = FirstNight(
        config, version, source=source, clock=clock, store=store, notifier=notifier, traffic=traffic, hours=hours,
        hour_length=hour_length, evaluate_every=evaluate_every, baseline=baseline, signal_board=signal_board,
        trigger_board=trigger_board, say=say, handed_over=handed_over, holding=holding,
    )
    return await night.run()

