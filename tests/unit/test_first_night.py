"""The first night in compressed time: a ManualClock, an in-test source, a real rollback command.

The source answers instant queries from the clock's time and range queries
from the same functions, so the back-filled hours can be checked against what
the live ones would have seen. The real-Prometheus back-fill is in
tests/integration/test_first_night_backfill.py.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cockpit.cli import main
from cockpit.clock import ManualClock
from cockpit.config import CockpitConfig
from cockpit.engine.traffic import traffic_from_config
from cockpit.evidence import EvidenceStore
from cockpit.run.first_night import FirstNightError, run_first_night
from cockpit.run.journal import read_journal
from cockpit.sources.prometheus import QueryResult, RangeResult, RangeSeries, Sample
from tests.canary_boards import recording_command
from tests.release_journal import JournalWriter, promoted_journal

VERSION = "v1.4.0"
HOUR = 120.0  # a compressed hour: 8 evaluations of 15 s
EVERY = 15.0

Fn = Callable[[float], float | None]


class NightSource:
    """PromQL answered by the first fragment it contains, from a function of the time asked about."""

    def __init__(self, clock: ManualClock, answers: dict[str, Fn]) -> None:
        self.clock = clock
        self.answers = answers
        self.instant = 0
        self.ranges: list[tuple[str, float, float, float]] = []

    def _fn(self, expr: str) -> Fn | None:
        return next((fn for fragment, fn in self.answers.items() if fragment in expr), None)

    async def query(self, expr: str) -> QueryResult:
        self.instant += 1
        fn = self._fn(expr)
        if fn is None:
            return QueryResult(expr, error=f"unscripted query: {expr}")
        value = fn(self.clock.now())
        return QueryResult(expr, [] if value is None else [Sample({}, value)])

    async def query_range(self, expr: str, start: float, end: float, step: float) -> RangeResult:
        self.ranges.append((expr, start, end, step))
        fn = self._fn(expr)
        if fn is None:
            return RangeResult(expr, error=f"unscripted query: {expr}")
        points = []
        t = start
        while t <= end + 1e-9:
            value = fn(t)
            if value is not None:
                points.append((t, value))
            t += step
        return RangeResult(expr, [RangeSeries({}, points)] if points else [])


class Pager:
    """A notifier stand-in: keeps what it is given, never blocks; can run a callback on an hour's summary."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.on_hour: Callable[[int], None] | None = None
        self.on_failure = None

    def emit(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        if record.get("event") == "hourly_summary" and self.on_hour is not None:
            self.on_hour(int(record["hour"]))

    def kinds(self) -> list[str]:
        return [r["event"] for r in self.records]


def night_config(tmp: Path, log: Path | None = None) -> CockpitConfig:
    data: dict[str, Any] = {
        "prometheus": {"url": "http://127.0.0.1:9"},
        "evidence": {"dir": str(tmp / "evidence")},
        "canary": {"evaluate_every": EVERY, "window": 60, "min_requests": 0},
        "signals": {
            "p95_latency": {"query": "night_p95{{selector}}", "unit": "s", "max": 0.2, "for": "30s", "short": "p95"},
            "error_rate": {"query": "night_errors{{selector}}", "unit": "ratio", "max": 0.01, "short": "5xx"},
            "csp_violations": {"query": "night_csp{{selector}}", "unit": "ratio", "max_vs_baseline": 1.1, "max": 0.0001},
        },
        "triggers": [
            {"name": "p95_latency_breach", "expr": "night_fault{{selector}} > 0", "for": "30s", "action": "rollback"},
            {"name": "gc_pause_hold", "expr": "night_gc{{selector}} > 0.02", "action": "hold"},
        ],
    }
    if log is not None:
        data["traffic"] = {"set_weight": recording_command(log), "rollback": recording_command(log), "retries": 1,
                           "backoff": 0.1}
    return CockpitConfig.model_validate(data)


def setup_release(tmp: Path) -> tuple[EvidenceStore, float]:
    done_at = promoted_journal(tmp / "evidence", VERSION)
    store = EvidenceStore(tmp / "evidence", VERSION)
    from cockpit.checks.baseline import write_baseline

    write_baseline(store, "2027-01-15T13:50:00Z", {"csp_violations": 0.0005, "p95_latency": 0.13})
    return store, done_at + 60


def quiet(clock: ManualClock) -> NightSource:
    """Signals within their limits, no trigger firing."""
    return NightSource(clock, {"night_p95": lambda t: 0.12, "night_errors": lambda t: 0.002,
                               "night_csp": lambda t: 0.0005, "night_fault": lambda t: None, "night_gc": lambda t: None})


def hour_of(start: float, t: float) -> int:
    return int((t - start) // HOUR)


def records(store: EvidenceStore, event: str) -> list[dict[str, Any]]:
    return [r for r in read_journal(store.dir / "journal.jsonl").records if r["event"] == event]


# ---------------------------------------------------------------- a whole night, a fault in hour 3


async def test_a_whole_night_in_seconds_with_a_fault_in_hour_3_rolled_back_and_reported(tmp_path: Path) -> None:
    store, start = setup_release(tmp_path)
    log = tmp_path / "traffic.log"
    config = night_config(tmp_path, log)
    clock = ManualClock(start)

    def faulty(t: float) -> bool:
        return hour_of(start, t) == 3 and (t - start) % HOUR >= 30

    source = NightSource(clock, {
        "night_p95": lambda t: 0.45 if faulty(t) else 0.12 + 0.001 * hour_of(start, t),
        "night_errors": lambda t: 0.002,
        "night_csp": lambda t: 0.0005,
        "night_fault": lambda t: 1.0 if faulty(t) else None,
        "night_gc": lambda t: None,
    })
    pager = Pager()
    traffic = traffic_from_config(config.traffic, clock=clock)
    outcome = await run_first_night(config, VERSION, source=source, clock=clock, store=store, notifier=pager,
                                    traffic=traffic, hours=24, hour_length=HOUR)

    assert clock.now() == pytest.approx(start + 24 * HOUR)
    assert outcome.closed == list(range(24)) and outcome.backfilled == []
    assert outcome.rollbacks == 1 and outcome.rollback_ok is True and outcome.verdict == "rolled back"
    assert outcome.exit_code == 1
    # The rollback command really ran, once, with the release's stage and weight.
    assert log.read_text().split() == ["rollback", "0", VERSION, "5"]
    for hour in range(24):
        assert store.path(f"hourly_log_{hour:02d}.txt").is_file()
    # Fault from 3:30; the trigger's `for` is 30 s: firing at 3:30, 3:45, active at 4:00 → rollback then.
    started = records(store, "rollback_started")
    assert len(started) == 1 and started[0]["phase"] == "first_night" and started[0]["hour"] == 3
    assert started[0]["decided_at"] == pytest.approx(start + 3 * HOUR + 60)
    assert started[0]["reasons"][0]["name"] == "p95_latency_breach"
    done = records(store, "rollback_done")[0]
    assert done["ok"] is True and done["command_started_at"] >= started[0]["decided_at"]
    hour3 = store.path("hourly_log_03.txt").read_text()
    assert "ROLLBACK during this hour" in hour3 and "p95_latency_breach" in hour3 and "command: OK" in hour3
    assert "p95_latency PASS → BREACHING" in hour3 and "trigger p95_latency_breach ACTIVE (rollback)" in hour3
    assert "ROLLBACK" not in store.path("hourly_log_02.txt").read_text()
    report = store.path("stability_report_24h.md").read_text()
    assert "**Verdict: ROLLED BACK**" in report and "**ROLLBACK in hour 03**" in report
    assert "| [03](hourly_log_03.txt) | live | FAIL **ROLLBACK** |" in report
    # Paged: the rollback records as journaled, and one hourly summary per hour.
    assert pager.kinds().count("rollback_started") == 1 and pager.kinds().count("rollback_done") == 1
    hourly = [r for r in pager.records if r["event"] == "hourly_summary"]
    assert [r["hour"] for r in hourly] == list(range(24))
    assert "ROLLBACK done" in hourly[3]["line"] and "p95_latency_breach" in hourly[3]["line"]
    # A night rolls back once: the trigger stays active in hour 3, nothing runs twice.
    assert len(log.read_text().splitlines()) == 1
    night_done = records(store, "first_night_done")
    assert len(night_done) == 1 and night_done[0]["verdict"] == "rolled back"


async def test_hourly_log_has_min_p50_max_against_limit_and_baseline(tmp_path: Path) -> None:
    store, start = setup_release(tmp_path)
    config = night_config(tmp_path)
    clock = ManualClock(start)
    values = [0.11, 0.19, 0.12, 0.15, 0.13, 0.18, 0.14, 0.16]  # the 8 evaluations of every hour
    source = NightSource(clock, {
        "night_p95": lambda t: values[int(round((t - start) % HOUR / EVERY)) % 8],
        "night_errors": lambda t: None,  # no data all night: BLIND, never a pass
        "night_csp": lambda t: 0.0005,
        "night_fault": lambda t: None,
        "night_gc": lambda t: None,
    })
    outcome = await run_first_night(config, VERSION, source=source, clock=clock, store=store, hours=2, hour_length=HOUR)
    assert outcome.verdict == "attention"  # a signal blind for whole hours is not "stable"
    closed = records(store, "hour_closed")
    p95 = closed[0]["signals"]["p95_latency"]
    assert (p95["min"], p95["max"]) == (min(values), max(values))
    assert p95["p50"] == pytest.approx(statistics.median(values))
    assert p95["limit"] == 0.2 and p95["baseline"] == 0.13 and p95["judged"] == 8
    assert closed[0]["signals"]["error_rate"]["judged"] == 0 and closed[0]["signals"]["error_rate"]["worst"] == "BLIND"
    # csp: limit relative to the baseline (0.0005 x 1.1), above the floor.
    assert closed[0]["signals"]["csp_violations"]["limit"] == pytest.approx(0.00055)
    text = store.path("hourly_log_00.txt").read_text()
    row = next(line for line in text.splitlines() if line.startswith("p95_latency"))
    assert row.split()[1:6] == ["110ms", "145ms", "190ms", "200ms", "130ms"]
    assert "8/8" in row
    assert "error_rate" in text and "8 BLIND" in text
    assert "baseline:  baseline_v1.4.0.json" in text
    assert "source:    live: 8 sample(s), every 15s" in text


# ---------------------------------------------------------------- stop and restart


async def stopped_after_hour(hour: int, config: CockpitConfig, source: Any, clock: ManualClock, store: EvidenceStore,
                             pager: Pager, hours: int) -> None:
    """Run the night and stop it (as a kill would) once hour `hour` is closed and paged."""
    task: asyncio.Task[Any] | None = None

    def stop_after(closed: int) -> None:
        if closed == hour and task is not None:
            task.cancel()

    pager.on_hour = stop_after
    task = asyncio.ensure_future(run_first_night(config, VERSION, source=source, clock=clock, store=store,
                                                 notifier=pager, hours=hours, hour_length=HOUR))
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_stop_after_hour_5_and_restart_back_fills_the_missed_hours(tmp_path: Path) -> None:
    store, start = setup_release(tmp_path)
    config = night_config(tmp_path)
    clock = ManualClock(start)

    def p95(t: float) -> float:
        return round(0.10 + 0.005 * hour_of(start, t), 4)  # a value of its own per hour

    source = NightSource(clock, {"night_p95": p95, "night_errors": lambda t: 0.002, "night_csp": lambda t: 0.0005,
                                 "night_fault": lambda t: None, "night_gc": lambda t: None})
    pager = Pager()
    await stopped_after_hour(5, config, source, clock, store, pager, hours=24)
    assert [r["hour"] for r in records(store, "hour_closed")] == list(range(6))
    assert source.ranges == []  # nothing missed yet

    clock.advance(3.5 * HOUR)  # stopped for three and a half hours: back in the middle of hour 9
    outcome = await run_first_night(config, VERSION, source=source, clock=clock, store=store, notifier=pager,
                                    hours=24, hour_length=HOUR)
    assert outcome.closed == list(range(24)) and outcome.resumed
    assert outcome.backfilled == [6, 7, 8, 9]
    closed = {r["hour"]: r for r in records(store, "hour_closed")}
    assert len(records(store, "hour_closed")) == 24  # no hour closed twice
    for hour in (6, 7, 8):
        assert closed[hour]["backfilled"] is True and closed[hour]["live_samples"] == 0
        p = closed[hour]["signals"]["p95_latency"]
        expected = round(0.10 + 0.005 * hour, 4)
        assert (p["min"], p["p50"], p["max"]) == (expected, expected, expected)
        assert p["judged"] == int(HOUR / EVERY)  # every 15 s step of the hour came from history
        text = store.path(f"hourly_log_{hour:02d}.txt").read_text()
        assert "BACK-FILLED from Prometheus history" in text and "live:" not in text
    # Hour 9: its first half from history, the rest live.
    assert closed[9]["backfilled"] is True and closed[9]["live_samples"] == 4 and closed[9]["backfilled_points"] == 4 * 3
    text9 = store.path("hourly_log_09.txt").read_text()
    assert "BACK-FILLED" in text9 and "live: 4 sample(s)" in text9
    for hour in list(range(6)) + list(range(10, 24)):
        assert closed[hour]["backfilled"] is False
        assert "BACK-FILLED" not in store.path(f"hourly_log_{hour:02d}.txt").read_text()
    report = store.path("stability_report_24h.md").read_text()
    assert "back-filled from Prometheus history: 06, 07, 08, 09" in report
    assert "| [07](hourly_log_07.txt) | BACK-FILLED | WITHIN |" in report
    started = records(store, "first_night_started")
    assert [r["resumed"] for r in started] == [False, True] and started[1]["closed_hours"] == list(range(6))
    # Each back-filled span asked Prometheus once per query (3 signals, 2 triggers): 4 spans.
    assert len(source.ranges) == 4 * 5
    assert all(step == EVERY for _, _, _, step in source.ranges)


async def test_a_resumed_night_writes_a_closed_hours_missing_log_again_from_its_journaled_summary(
        tmp_path: Path) -> None:
    """A standby's folder may lack the log of the hour its holder closed just before it died: the journal has it."""
    store, start = setup_release(tmp_path)
    config = night_config(tmp_path)
    clock = ManualClock(start)
    source = quiet(clock)
    await stopped_after_hour(1, config, source, clock, store, Pager(), hours=3)
    lost = store.path("hourly_log_01.txt")
    written = lost.read_bytes()
    lost.unlink()
    outcome = await run_first_night(config, VERSION, source=source, clock=clock, store=store, hours=3, hour_length=HOUR)
    assert outcome.closed == [0, 1, 2] and outcome.resumed
    assert lost.read_bytes() == written  # the same log, from the hour_closed record
    assert [r["hour"] for r in records(store, "hour_closed")] == [0, 1, 2]  # and the hour not closed again


async def test_a_finished_night_is_not_run_again(tmp_path: Path) -> None:
    store, start = setup_release(tmp_path)
    config = night_config(tmp_path)
    clock = ManualClock(start)
    source = quiet(clock)
    first = await run_first_night(config, VERSION, source=source, clock=clock, store=store, hours=1, hour_length=HOUR)
    asked = source.instant
    again = await run_first_night(config, VERSION, source=source, clock=clock, store=store, hours=1, hour_length=HOUR)
    assert again.already_finished and again.verdict == first.verdict and source.instant == asked


async def test_the_night_refuses_a_release_that_was_not_promoted(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "evidence", VERSION)
    writer.run_started()
    writer.start_stage(1)
    writer.done("rolled_back", 1)
    writer.close()
    store = EvidenceStore(tmp_path / "evidence", VERSION)
    clock = ManualClock()
    with pytest.raises(FirstNightError, match="not promoted \\(rolled_back\\)"):
        await run_first_night(night_config(tmp_path), VERSION, source=NightSource(clock, {}), clock=clock, store=store)


async def test_an_unanswered_history_is_blind_not_a_pass(tmp_path: Path) -> None:
    store, start = setup_release(tmp_path)
    config = night_config(tmp_path)
    clock = ManualClock(start)

    class NoHistory(NightSource):
        async def query_range(self, expr: str, start: float, end: float, step: float) -> RangeResult:
            return RangeResult(expr, error="Prometheus at http://prom did not answer within 5s")

    source = NoHistory(clock, quiet(clock).answers)
    JournalWriter(tmp_path / "evidence", VERSION, t0=start).add("first_night_started", hours=2, hour_length=HOUR,
                                                                resumed=False)
    clock.advance(HOUR + 30)  # the night "started" an hour and a half ago and nobody watched hour 00
    outcome = await run_first_night(config, VERSION, source=source, clock=clock, store=store, hours=2, hour_length=HOUR)
    hour0 = records(store, "hour_closed")[0]
    assert hour0["backfilled"] and hour0["worst"] == "BLIND"
    assert all(s["judged"] == 0 for s in hour0["signals"].values())
    assert "did not answer" in store.path("hourly_log_00.txt").read_text()
    assert outcome.verdict == "attention"


# ---------------------------------------------------------------- memory stays flat


def _night_memory(base: Path) -> tuple[int, int, int]:
    """(traced bytes at hour 6, peak traced bytes by hour 23, bytes journaled in between) of a 24-hour night."""
    store, start = setup_release(base)
    config = night_config(base)
    clock = ManualClock(start)
    source = NightSource(clock, {"night_p95": lambda t: 0.12 + 0.05 * math.sin(t / 300.0),
                                 "night_errors": lambda t: 0.002, "night_csp": lambda t: 0.0005,
                                 "night_fault": lambda t: None, "night_gc": lambda t: None})
    pager = Pager()
    marks: dict[int, tuple[int, int]] = {}
    journal = store.dir / "journal.jsonl"

    def measure(hour: int) -> None:
        if hour == 6:
            marks[6] = (tracemalloc.get_traced_memory()[0], journal.stat().st_size)
            tracemalloc.reset_peak()
        elif hour == 23:
            marks[23] = (tracemalloc.get_traced_memory()[1], journal.stat().st_size)

    pager.on_hour = measure
    tracemalloc.start()
    try:
        # 1,800 s hours at 15 s: 120 evaluations an hour, 2,880 in the night.
        asyncio.run(run_first_night(config, VERSION, source=source, clock=clock, store=store, notifier=pager,
                                    hours=24, hour_length=1800.0))
    finally:
        tracemalloc.stop()
    (current_6, size_6), (peak_23, size_23) = marks[6], marks[23]
    return current_6, peak_23, size_23 - size_6


def test_memory_stays_flat_over_a_night_with_many_samples_per_hour(tmp_path: Path) -> None:
    import multiprocessing
    import shutil
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    root = Path("/dev/shm") if Path("/dev/shm").is_dir() else tmp_path  # many fsyncs: keep them cheap
    base = Path(tempfile.mkdtemp(dir=root, prefix="night-memory-"))
    try:
        # In a fresh interpreter: tracemalloc counts every thread's allocations, and a session's services
        # (an exporter answering scrapes, a proxy) would be counted as the night's growth.
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
            current_6, peak_23, journaled = child.submit(_night_memory, base).result(timeout=300)
        growth = peak_23 - current_6
        print(f"\nmemory: {current_6 / 1e6:.2f} MB at hour 06, peak {peak_23 / 1e6:.2f} MB by hour 23 "
              f"(+{growth / 1e3:.0f} kB) while {journaled / 1e6:.1f} MB were journaled")
        assert journaled > 1_000_000  # the night really journaled ~2,000 samples in between
        # What grows: one small summary per closed hour (for the stability report), and the interpreter's
        # own free lists warming up; keeping the samples would take more than their JSON size.
        assert growth < 600_000, f"memory grew {growth} bytes between hour 6 and hour 23"
        assert growth < journaled / 3
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- the command


def test_first_night_command_refuses_bad_input_in_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cockpit.toml").write_text('[prometheus]\nurl = "http://127.0.0.1:9"\n[evidence]\ndir = "evidence"\n')
    assert main(["first-night", VERSION, "--hours", "0"]) == 2
    assert "--hours" in capsys.readouterr().err
    assert main(["first-night", VERSION, "--hour-length", "soon"]) == 2
    assert "--hour-length" in capsys.readouterr().err
    assert main(["first-night", VERSION]) == 2  # no journal: nothing was promoted
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has not finished" in err
    assert main(["first-night", "nope"]) == 2


def test_journal_records_are_json_lines_with_the_night_phase(tmp_path: Path) -> None:
    store, start = setup_release(tmp_path)
    clock = ManualClock(start)
    source = quiet(clock)
    asyncio.run(run_first_night(night_config(tmp_path), VERSION, source=source, clock=clock, store=store, hours=1,
                                hour_length=HOUR))
    lines = (store.dir / "journal.jsonl").read_text().splitlines()
    night = [json.loads(line) for line in lines if '"first_night"' in line]
    assert {r["event"] for r in night} == {"sample"}
    assert all(r["hour"] == 0 and r["stage"] == 5 and r["weight"] == 100.0 for r in night)
    assert [json.loads(line)["event"] for line in lines[-2:]] == ["hour_closed", "first_night_done"]


# ---------------------------------------------------------------- the night in the release's reports


async def test_the_nights_rollback_and_hours_reach_the_one_liner_rca_and_report(tmp_path: Path) -> None:
    from cockpit.records.facts import read_release
    from cockpit.records.reports import rca_markdown, release_oneliner, report_markdown

    store, start = setup_release(tmp_path)
    log = tmp_path / "traffic.log"
    config = night_config(tmp_path, log)
    clock = ManualClock(start)

    def faulty(t: float) -> bool:
        return hour_of(start, t) == 3 and (t - start) % HOUR >= 30

    source = NightSource(clock, {"night_p95": lambda t: 0.45 if faulty(t) else 0.12, "night_errors": lambda t: 0.002,
                                 "night_csp": lambda t: 0.0005, "night_fault": lambda t: 1.0 if faulty(t) else None,
                                 "night_gc": lambda t: None})
    await run_first_night(config, VERSION, source=source, clock=clock, store=store,
                          traffic=traffic_from_config(config.traffic, clock=clock), hours=5, hour_length=HOUR)
    facts = read_release(store)
    # The canary's figures are the canary's samples only (0.1 each), not the night's.
    assert facts.signals["p95"].values == [0.1] * 5
    line = release_oneliner(facts, "en")
    assert line.startswith("v1.4.0 canary: 1%→100% all stages 1/1 metrics pass; rollback=0; p95=100ms; ")
    assert line.endswith("first night: rolled back at hour 03.")
    assert release_oneliner(facts, "tr").endswith("ilk gece: 03. saatte geri alındı.")
    (incident,) = facts.night_incidents
    assert incident.hour == 3 and incident.ok
    assert incident.first_bad_at == pytest.approx(start + 3 * HOUR + 30)  # the trigger's first firing sample
    assert incident.detect_s == pytest.approx(30.0)
    rca = rca_markdown(facts, store.files())
    assert "## Rollback 1 (first night): what fired and how fast" in rca
    assert "first night, hour 03" in rca and "p95_latency_breach (trigger)" in rca
    assert "[hourly_log_03.txt](hourly_log_03.txt)" in rca and "[stability_report_5h.md](stability_report_5h.md)" in rca
    page = report_markdown(facts, oneliner=line, evidence_files=store.files())
    assert "## First night" in page and "5/5 hours closed; verdict **rolled back**" in page
    assert "| 03 | live | FAIL | p95_latency_breach |" in page
    assert "## Rollback (first night)" in page


async def test_the_night_waits_for_no_one_else_writing_the_journal(tmp_path: Path) -> None:
    import fcntl
    import os

    store, start = setup_release(tmp_path)
    fd = os.open(store.dir / ".run.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, b"4242\n", 0)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live canary (or another night) holds the run lock
        clock = ManualClock(start)
        with pytest.raises(FirstNightError, match="pid 4242"):
            await run_first_night(night_config(tmp_path), VERSION, source=quiet(clock), clock=clock, store=store,
                                  hours=1, hour_length=HOUR)
    finally:
        os.close(fd)


@pytest.mark.parametrize("stop_on", ["hour_closed", "rollback_done"])
async def test_a_restart_after_the_nights_rollback_does_not_roll_back_again(tmp_path: Path, stop_on: str) -> None:
    store, start = setup_release(tmp_path)
    log = tmp_path / "traffic.log"
    config = night_config(tmp_path, log)
    clock = ManualClock(start)

    def faulty(t: float) -> bool:
        return hour_of(start, t) >= 3  # the fault never goes away

    source = NightSource(clock, {"night_p95": lambda t: 0.45 if faulty(t) else 0.12, "night_errors": lambda t: 0.002,
                                 "night_csp": lambda t: 0.0005, "night_fault": lambda t: 1.0 if faulty(t) else None,
                                 "night_gc": lambda t: None})
    task: asyncio.Task[Any] | None = None

    class Stopper(Pager):
        def emit(self, record: dict[str, Any]) -> None:
            super().emit(record)
            hour_done = record["event"] == "hourly_summary" and record["hour"] == 3
            if task is not None and (hour_done if stop_on == "hour_closed" else record["event"] == stop_on):
                task.cancel()

    pager = Stopper()
    task = asyncio.ensure_future(run_first_night(config, VERSION, source=source, clock=clock, store=store, notifier=pager,
                                                 traffic=traffic_from_config(config.traffic, clock=clock), hours=6,
                                                 hour_length=HOUR))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(log.read_text().splitlines()) == 1
    clock.advance(HOUR / 2)
    outcome = await run_first_night(config, VERSION, source=source, clock=clock, store=store, notifier=pager,
                                    traffic=traffic_from_config(config.traffic, clock=clock), hours=6, hour_length=HOUR)
    assert outcome.rollbacks == 1 and outcome.rollback_ok and outcome.verdict == "rolled back"
    assert len(log.read_text().splitlines()) == 1  # the trigger is still active: nothing runs twice
    assert len(records(store, "rollback_started")) == 1
    assert "**ROLLBACK in hour 03**" in store.path("stability_report_6h.md").read_text()
    assert "ROLLBACK during this hour" in store.path("hourly_log_03.txt").read_text()


# ---------------------------------------------------------------- no secret reaches the night's journal


async def test_a_secret_in_a_failing_triggers_error_never_reaches_the_nights_journal(tmp_path: Path) -> None:
    store, start = setup_release(tmp_path)
    config = night_config(tmp_path)
    clock = ManualClock(start)
    leak = ("could not reach postgresql://cockpit:s3cr3t-pw@db.internal:5432/app "
            "(Authorization: Bearer tok3n.abc.def)")

    class Leaky(NightSource):
        async def query(self, expr: str) -> QueryResult:
            if "night_fault" in expr:
                self.instant += 1
                return QueryResult(expr, error=leak)
            return await super().query(expr)

    source = Leaky(clock, quiet(clock).answers)
    await run_first_night(config, VERSION, source=source, clock=clock, store=store, hours=1, hour_length=HOUR)

    journal = (store.dir / "journal.jsonl").read_text()
    erroring = [r for r in records(store, "sample") if r.get("phase") == "first_night"
                and (r["triggers"].get("p95_latency_breach") or {}).get("error")]
    assert erroring, "the failing trigger's error is journaled with each night sample"
    assert "db.internal" in journal  # the error is there, its secrets are not
    assert "s3cr3t-pw" not in journal and "tok3n.abc.def" not in journal


# ---------------------------------------------------------------- a blind night is UNKNOWN, exit 3


async def test_a_night_that_saw_nothing_is_unknown_and_exits_3(tmp_path: Path) -> None:
    store, start = setup_release(tmp_path)
    clock = ManualClock(start)
    nothing: Fn = lambda t: None  # noqa: E731 (every series missing all night: no data, never a pass)
    source = NightSource(clock, {"night_p95": nothing, "night_errors": nothing, "night_csp": nothing,
                                 "night_fault": nothing, "night_gc": nothing})
    outcome = await run_first_night(night_config(tmp_path), VERSION, source=source, clock=clock, store=store, hours=3,
                                    hour_length=HOUR)
    assert outcome.verdict == "unknown" and outcome.exit_code == 3 and outcome.rollbacks == 0
    assert records(store, "first_night_done")[0]["verdict"] == "unknown"
    report = store.path("stability_report_3h.md").read_text()
    assert "**Verdict: UNKNOWN**" in report and "STABLE" not in report
    assert "The night was blind: 3 of 3 closed hours saw too little to judge (00, 01, 02)" in report


@pytest.mark.parametrize(("blind", "verdict", "code"), [(3, "unknown", 3), (2, "attention", 0), (0, "stable", 0)])
async def test_a_mostly_blind_night_is_unknown_more_than_half_of_its_hours(tmp_path: Path, blind: int, verdict: str,
                                                                        code: int) -> None:
    """4 hours, the first `blind` of them with no data at all: more than half blind (3/4) is UNKNOWN; half is not."""
    store, start = setup_release(tmp_path)
    clock = ManualClock(start)

    def seen(value: float) -> Fn:
        return lambda t: None if hour_of(start, t) < blind else value

    source = NightSource(clock, {"night_p95": seen(0.12), "night_errors": seen(0.002), "night_csp": seen(0.0005),
                                 "night_fault": lambda t: None, "night_gc": lambda t: None})
    outcome = await run_first_night(night_config(tmp_path), VERSION, source=source, clock=clock, store=store, hours=4,
                                    hour_length=HOUR)
    assert (outcome.verdict, outcome.exit_code) == (verdict, code)


async def test_one_signal_blind_all_night_is_attention_not_unknown(tmp_path: Path) -> None:
    """An hour is blind when fewer than half its signal samples had data: one of three missing is not that."""
    store, start = setup_release(tmp_path)
    clock = ManualClock(start)
    source = NightSource(clock, {**quiet(clock).answers, "night_errors": lambda t: None})
    outcome = await run_first_night(night_config(tmp_path), VERSION, source=source, clock=clock, store=store, hours=2,
                                    hour_length=HOUR)
    assert (outcome.verdict, outcome.exit_code) == ("attention", 0)


def test_the_blind_night_rule_counts_judged_samples() -> None:
    from cockpit.run.night_hours import night_is_blind, night_verdict

    def hour(n: int, judged: int, samples: int = 8) -> dict[str, Any]:
        return {"hour": n, "worst": "PASS" if judged == samples else "BLIND",
                "signals": {"p95": {"judged": judged, "samples": samples}, "err": {"judged": judged, "samples": samples}}}

    assert night_is_blind([]) and night_verdict([], 0) == "unknown"  # no sample with data at all
    assert night_is_blind([hour(0, 3)])  # 6 of 16 samples judged: the hour is blind, and so is the night
    assert not night_is_blind([hour(0, 4)])  # exactly half judged: the hour saw something
    assert night_verdict([hour(0, 0), hour(1, 8)], 0) == "attention"  # half the hours blind: not more than half
    assert night_verdict([hour(0, 0), hour(1, 0), hour(2, 8)], 0) == "unknown"
    assert night_verdict([hour(0, 0)], 1) == "rolled back"  # a rollback says more than blindness


def test_the_run_lock_is_shared_only_inside_a_hand_over(tmp_path: Path) -> None:
    """Held `share=True` (the canary that goes on into its night), the runs inside take it; otherwise refused."""
    from cockpit.run.lock import RunLock, RunLockHeld

    outer, inner, other = RunLock(tmp_path), RunLock(tmp_path), RunLock(tmp_path)
    outer.acquire(share=True)
    inner.acquire()  # the canary run, then the night: same process, same open file
    inner.release()
    inner.acquire()
    inner.release()
    outer.release()
    other.acquire()  # a plain hold (no hand-over): a second holder is refused, even in this process
    with pytest.raises(RunLockHeld):
        inner.acquire()
    other.release()
    inner.acquire()
    inner.release()
