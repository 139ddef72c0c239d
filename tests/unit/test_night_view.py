"""The first night folded from the release's journal: what `cockpit watch` shows (NightView inside CanaryView).

Journals are written with the real Journal class: one by the real first night
(cockpit.run.first_night, compressed hours on a ManualClock, a real rollback
command), others record by record with tests/release_journal.JournalWriter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.clock import ManualClock
from cockpit.config import CockpitConfig
from cockpit.engine.traffic import traffic_from_config
from cockpit.evidence import EvidenceStore
from cockpit.run.first_night import run_first_night
from cockpit.run.journal import read_journal
from cockpit.run.night_hours import night_verdict
from cockpit.sources.prometheus import QueryResult, RangeResult, Sample
from cockpit.views.canary import CanaryView
from cockpit.views.night import HourRow, hour_lines, hour_mark, hour_status
from tests.canary_boards import recording_command
from tests.release_journal import JournalWriter, promoted_journal

VERSION = "v1.4.0"
HOUR = 120.0  # a compressed hour: 8 evaluations of 15 s
EVERY = 15.0


class FaultySource:
    """Prometheus answered from the clock: p95 over its limit and the fault trigger firing from 2:30 on."""

    def __init__(self, clock: ManualClock, start: float) -> None:
        self.clock, self.start = clock, start

    def faulty(self, t: float) -> bool:
        return int((t - self.start) // HOUR) == 2 and (t - self.start) % HOUR >= 30

    async def query(self, expr: str) -> QueryResult:
        t = self.clock.now()
        if "night_fault" in expr:
            return QueryResult(expr, [Sample({}, 1.0)] if self.faulty(t) else [])
        value = (0.45 if self.faulty(t) else 0.12) if "night_p95" in expr else 0.002
        return QueryResult(expr, [Sample({}, value)])

    async def query_range(self, expr: str, start: float, end: float, step: float) -> RangeResult:
        return RangeResult(expr, error="no history in this test")


def night_config(tmp: Path, log: Path) -> CockpitConfig:
    return CockpitConfig.model_validate({
        "prometheus": {"url": "http://127.0.0.1:9"},
        "evidence": {"dir": str(tmp / "evidence")},
        "canary": {"evaluate_every": EVERY, "window": 60, "min_requests": 0},
        "signals": {
            "p95_latency": {"query": "night_p95{{selector}}", "unit": "s", "max": 0.2, "for": "30s", "short": "p95"},
            "error_rate": {"query": "night_errors{{selector}}", "unit": "ratio", "max": 0.01, "short": "5xx"},
        },
        "triggers": [{"name": "p95_latency_breach", "expr": "night_fault{{selector}} > 0", "for": "30s",
                      "action": "rollback"}],
        "traffic": {"set_weight": recording_command(log), "rollback": recording_command(log), "retries": 1,
                    "backoff": 0.1},
    })


def fold(journal: Path) -> CanaryView:
    view = CanaryView()
    view.apply_all(read_journal(journal).records)
    return view


async def test_a_real_night_with_a_rollback_in_hour_2_reads_as_the_nights_not_a_stages(tmp_path: Path) -> None:
    done_at = promoted_journal(tmp_path / "evidence", VERSION, signals={"p95_latency": ("s", 0.2)})
    store = EvidenceStore(tmp_path / "evidence", VERSION)
    start = done_at + 60
    clock = ManualClock(start)
    log = tmp_path / "traffic.log"
    config = night_config(tmp_path, log)
    outcome = await run_first_night(config, VERSION, source=FaultySource(clock, start), clock=clock, store=store,
                                    traffic=traffic_from_config(config.traffic, clock=clock), hours=4, hour_length=HOUR)
    assert outcome.rollbacks == 1 and outcome.verdict == "rolled back"
    records = read_journal(store.dir / "journal.jsonl").records
    assert {r["phase"] for r in records if r["event"].startswith("rollback_")} == {"first_night"}

    view = fold(store.dir / "journal.jsonl")
    assert view.ignored == 0  # every record of the canary and the night is one the view knows
    # The canary stays what it was: promoted at 100 %; no stage rollback, nothing "rolling back".
    assert view.result == "promoted" and view.phase == "promoted" and view.rollback is None
    night = view.night
    assert night is not None and night.started_at == pytest.approx(start) and night.starts == 1
    assert (night.hours, night.hour_length, night.every) == (4, HOUR, EVERY)
    # One row per hour_closed record, as the night wrote them.
    closed = {r["hour"]: r for r in records if r["event"] == "hour_closed"}
    assert sorted(night.closed) == sorted(closed) == [0, 1, 2, 3]
    for hour, record in closed.items():
        row = night.closed[hour]
        assert (row.worst, row.backfilled, row.file) == (record["worst"], record["backfilled"], record["file"])
        assert set(row.triggers) == set(record["triggers"])
    assert night.closed[2].status == "FAIL" and night.closed[2].rollback == "ROLLBACK"
    assert "p95_latency_breach (ACTIVE)" in night.closed[2].fired()
    assert [night.closed[h].status for h in (0, 1, 3)] == ["PASS", "PASS", "PASS"]
    # The night's rollback, with its timing, in the hour it happened.
    started = next(r for r in records if r["event"] == "rollback_started")
    assert night.rollback is not None and night.rollback.ok and night.rollback_hour == 2
    assert night.rollback.decided_at == pytest.approx(started["decided_at"]) and night.rollbacks_done == 1
    assert not night.alarm  # rolled back fine: loud on the screen, not an alarm any more
    head, outcome_line = night.rollback_lines(clock.now())
    assert head.startswith("▲ FIRST-NIGHT ROLLBACK in hour 02") and "p95_latency_breach" in head
    assert outcome_line.startswith("✔ rolled back") and "1 attempt" in outcome_line
    assert night.headline() == "ROLLED BACK in the first night (hour 02)"
    # Stability: the stability report's own rule, the report's name once done.
    rows = [r for r in records if r["event"] == "hour_closed"]
    assert night.verdict() == night_verdict(rows, 1) == "rolled back"
    assert night.stability() == ("fail", "▲ night done: ROLLED BACK in hour 02 · 4/4 hours closed → stability_report_4h.md")
    assert night.done_verdict == "rolled back" and night.report == "stability_report_4h.md"
    progress = night.progress(clock.now())
    assert progress is not None and progress.over and progress.next_hour is None
    # The war-room log tells the night's story in order, the rollback as an alarm.
    texts = [line.text for line in view.log]
    assert texts.index("first night started: 4 hours of 2m, evaluating every 15s") < next(
        i for i, t in enumerate(texts) if t.startswith("FIRST-NIGHT ROLLBACK started in hour 02"))
    assert any(line.kind == "alarm" and line.text.startswith("FIRST-NIGHT ROLLBACK done") for line in view.log)
    assert texts[-1] == "first night done: ROLLED BACK → stability_report_4h.md"
    # The screen's rows: the four hours, nothing open once the night is done.
    lines = hour_lines(night)
    assert [(line.hour, line.mark, line.rollback) for line in lines] == [
        ("00", "✔ PASS", ""), ("01", "✔ PASS", ""), ("02", "▲ FAIL", "ROLLBACK"), ("03", "✔ PASS", "")]


def night_writer(tmp_path: Path) -> tuple[JournalWriter, float]:
    """A promoted canary (journal written with the real Journal class); the writer is at the night's start."""
    done_at = promoted_journal(tmp_path / "evidence", VERSION)
    writer = JournalWriter(tmp_path / "evidence", VERSION, done_at + 60)
    writer.plan = [(1.0, 900.0), (5.0, 900.0), (25.0, 900.0), (50.0, 900.0), (100.0, 1800.0)]
    return writer, done_at + 60


def night_sample(writer: JournalWriter, hour: int, p95: float = 0.12, state: str = "PASS",
                 triggers: dict[str, Any] | None = None) -> None:
    writer.sample(5, {"p95": (p95, state)}, triggers=triggers or {}, units={"p95": ("s", 0.2)},
                  phase="first_night", hour=hour)


def hour_closed(writer: JournalWriter, hour: int, worst: str, **extra: Any) -> None:
    fields = {"from": 0.0, "to": 0.0, "backfilled": False, "live_samples": 8, "backfilled_points": 0,
              "backfilled_spans": [], "backfill_errors": [], "signals": {}, "triggers": {}, "events": [],
              "dropped_events": 0, "rollbacks": [], "worst": worst, "file": f"hourly_log_{hour:02d}.txt", **extra}
    writer.add("hour_closed", hour=hour, **fields)


def test_a_resumed_night_with_a_backfilled_hour_an_open_hour_and_an_overdue_summary(tmp_path: Path) -> None:
    writer, start = night_writer(tmp_path)
    writer.add("first_night_started", version=VERSION, hours=24, hour_length=HOUR, evaluate_every=EVERY, stage=5,
               weight=100, resumed=False, closed_hours=[])
    for hour in range(2):
        writer.at(start + hour * HOUR + 15)
        night_sample(writer, hour)
        writer.at(start + (hour + 1) * HOUR)
        hour_closed(writer, hour, "PASS")
    # Stopped in hour 2, started again in hour 3: hour 2 back-filled from history, one point over its limit.
    writer.at(start + 3 * HOUR + 10)
    writer.add("first_night_started", version=VERSION, hours=12, hour_length=60.0, evaluate_every=EVERY, stage=5,
               weight=100, resumed=True, closed_hours=[0, 1])
    hour_closed(writer, 2, "OVER", backfilled=True, live_samples=0, backfilled_points=8,
                triggers={"p95_latency_breach": {"action": "rollback", "auto": False, "first_at": 0, "last_at": 0,
                                                 "firing": 2, "active": False, "backfilled": True, "dry_run": False}})
    writer.at(start + 3 * HOUR + 15)
    night_sample(writer, 3, triggers={"gc_pause_hold": {"firing": True, "active": False, "action": "hold",
                                                        "auto": False, "value": 0.03, "error": None, "dry_run": False}})
    writer.at(start + 3 * HOUR + 30)
    night_sample(writer, 3, p95=0.21, state="BREACHING")
    writer.close()

    view = fold(writer.dir / "journal.jsonl")
    night = view.night
    assert night.starts == 2 and night.started_at == start
    assert (night.hours, night.hour_length) == (24, HOUR)  # a resume keeps the night's own hours
    assert night.closed[2].mark == "▲ OVER" and night.closed[2].source == "BACK-FILLED"
    assert night.closed[2].fired() == "p95_latency_breach (history)"
    # The open hour, from its samples so far: the worst state seen, what fired.
    assert night.open is not None and night.open.hour == 3 and night.open.samples == 2
    assert night.open.worst == "BREACHING" and night.open.fired == {"gc_pause_hold": False}
    # The last night sample lists only triggers that are not quiet: gc_pause_hold is quiet again.
    assert view.firing_triggers() == []
    assert night.verdict() == "attention"
    kind, line = night.stability()
    assert kind == "warn" and line == "! ATTENTION · 3/24 hours closed (1 back-filled); look at hours 02 OVER"
    assert [(x.hour, x.mark, x.kind, x.source) for x in hour_lines(night)][-2:] == [
        ("02", "▲ OVER", "fail", "BACK-FILLED"), ("03▶", "▲ BREACHING", "open", "open: 2 samples")]
    # Hour 03's summary is due at 4 hours; later it is overdue, and the hours never summarised read "?".
    progress = night.progress(start + 3 * HOUR + 30)
    assert progress.hour == 3 and progress.next_hour == 3 and progress.due_in == pytest.approx(HOUR - 30)
    just_ended = night.progress(start + 4 * HOUR + 20)  # the night closes it at its next evaluation: not late yet
    assert just_ended.due_in == pytest.approx(-20) and not just_ended.overdue and just_ended.grace == 60
    late = night.progress(start + 5 * HOUR + 1)
    assert late.overdue and late.next_hour == 3 and late.due_in == pytest.approx(-HOUR - 1)
    assert night.hours_strip(start + 5 * HOUR + 1, 8) == [  # 8 of the 24 marks, around now
        ("✔", "pass"), ("▲", "fail"), ("?", "missing"), ("?", "missing"), ("▶", "now"), ("·", "later"),
        ("·", "later"), ("·", "later")]
    assert [mark for mark, _ in night.hours_strip(start + 5 * HOUR + 1, 24)][:6] == ["✔", "✔", "▲", "?", "?", "▶"]
    assert any(x.text.startswith("first night resumed: 2/24 hours closed") and x.kind == "alarm" for x in view.log)


def test_a_failed_night_rollback_is_an_alarm_and_says_roll_back_by_hand(tmp_path: Path) -> None:
    writer, start = night_writer(tmp_path)
    writer.add("first_night_started", version=VERSION, hours=24, hour_length=HOUR, evaluate_every=EVERY, stage=5,
               weight=100, resumed=False, closed_hours=[])
    writer.at(start + 45)
    reasons = [{"source": "trigger", "name": "error_risk_correlation", "message": "5xx 4.2% with risk blocks",
                "query": "", "window": None, "value": 1.0, "limit": None, "dry_run": False}]
    writer.add("rollback_started", stage=5, weight=100, phase="first_night", hour=0, reasons=reasons,
               decided_at=start + 45, fired_at=start + 30, action="immediate_rollback")
    view = fold(writer.dir / "journal.jsonl")  # read while the writer still has it open (appends are fsync'd)
    night = view.night
    assert night.rolling_back and night.alarm and view.phase == "promoted" and view.rollback is None
    assert night.headline() == "FIRST-NIGHT ROLLBACK (hour 00)"
    head, now_line = night.rollback_lines(start + 57)
    assert head.startswith("▲ FIRST-NIGHT IMMEDIATE ROLLBACK in hour 00") and "error_risk_correlation" in head
    assert now_line.startswith("ROLLING BACK: 12s since the decision")
    assert night.verdict() == "rolled back"  # a rollback in flight already decides the night

    writer.at(start + 75)
    writer.add("rollback_done", stage=5, weight=100, phase="first_night", hour=0, decided_at=start + 45, ok=False,
               attempts=3, command_started_at=start + 45.1, command_ended_at=start + 75, decision_to_command_ms=100.0,
               error="exit 3: ingress not found")
    writer.close()
    view = fold(writer.dir / "journal.jsonl")
    night = view.night
    assert night.alarm and not night.rolling_back and night.rollbacks_done == 1
    assert night.headline() == "FIRST-NIGHT ROLLBACK FAILED (hour 00)"
    assert night.rollback_lines(start + 80)[1] == ("▲ ROLLBACK FAILED after 3 attempt(s): exit 3: ingress not found"
                                                   " — ROLL BACK BY HAND")
    assert view.phase == "promoted" and view.rollback is None  # still not a canary stage's rollback


def test_before_any_hour_closes_nothing_is_judged_and_a_canary_rollback_is_still_a_stages(tmp_path: Path) -> None:
    writer, start = night_writer(tmp_path)
    writer.add("first_night_started", version=VERSION, hours=24, hour_length=HOUR, evaluate_every=EVERY, stage=5,
               weight=100, resumed=False, closed_hours=[])
    writer.at(start + 15)
    night_sample(writer, 0)
    writer.close()
    night = fold(writer.dir / "journal.jsonl").night
    assert night.verdict() is None
    assert night.stability() == ("unknown", "? NOT JUDGED YET: no hour closed (0/24 hours closed)")
    assert night.headline() == "first night: 0/24 hours closed"

    # A canary's own rollback (no phase) is the stage's, as before; no night is made up for it.
    canary = CanaryView()
    canary.apply_all([
        {"ts": 1.0, "event": "run_started", "version": VERSION, "plan": [{"weight": 1, "hold": 900}], "pid": 1},
        {"ts": 2.0, "event": "stage_started", "stage": 1, "weight": 1, "hold": 900, "ends_at": 902.0},
        {"ts": 3.0, "event": "rollback_started", "stage": 1, "weight": 1, "decided_at": 3.0, "reasons": []},
    ])
    assert canary.phase == "rolling_back" and canary.rollback is not None and canary.night is None


def test_hour_states_never_read_as_a_pass_when_blind_and_bad_records_are_named() -> None:
    assert [hour_status(s) for s in ("PASS", "WITHIN", "WARN", "BREACHING", "OVER", "FAIL")] == [
        "PASS", "PASS", "WARN", "FAIL", "FAIL", "FAIL"]
    assert [hour_mark(s) for s in ("BLIND", "INSUFFICIENT", None, "NEW")] == [
        "? BLIND", "? INSUFFICIENT", "? UNKNOWN", "? NEW"]
    assert HourRow.from_record({"hour": "3"}, 0.0) is None and HourRow.from_record({"hour": 500}, 0.0) is None
    view = CanaryView()
    view.apply({"ts": 5.0, "event": "hour_closed", "hour": None, "worst": "PASS"})
    assert view.night.closed == {} and view.log[-1].kind == "alarm" and "without a valid hour" in view.log[-1].text


def test_a_weeks_night_keeps_one_row_per_hour_and_a_strip_that_fits(tmp_path: Path) -> None:
    view = CanaryView()
    view.apply({"ts": 0.0, "event": "first_night_started", "hours": 168, "hour_length": 60.0, "evaluate_every": 15.0})
    for hour in range(168):
        view.apply({"ts": (hour + 1) * 60.0, "event": "hour_closed", "hour": hour, "worst": "PASS"})
        view.apply({"ts": (hour + 1) * 60.0, "event": "hour_closed", "hour": hour, "worst": "PASS"})  # told twice
    night = view.night
    assert len(night.closed) == 168 and len(hour_lines(night)) == 168
    assert len(night.hours_strip(100 * 60.0, 40)) == 40
    assert len(view.log) <= view.log_lines  # the log stays bounded however long the night
