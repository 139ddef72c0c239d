"""The war-room line: the seed's format, BLIND as the missing mark, PASS counted only among judged signals."""

from __future__ import annotations

from cockpit.engine.model import SignalReading, SignalState
from cockpit.run.warroom_log import SignalCell, cells_from_readings, cells_from_sample, minute_mark, tally, warroom_line

T0 = 1_800_000_000.0


def _seed_cells(**states: str) -> list[SignalCell]:
    values = [
        ("api_p95", "p95", 0.142, "s"),
        ("error_rate", "5xx", 0.002, "ratio"),
        ("ws_staleness", "ws", 8.0, "s"),
        ("idempotency", "idemp", 0.001, "ratio"),
        ("csp", "csp", 3.0, "count"),
        ("eventloop", "eloop", 0.012, "s"),
        ("gc", "gc", 0.008, "s"),
    ]
    return [SignalCell(name, label, value, states.get(name, "PASS"), unit) for name, label, value, unit in values]


def test_the_seed_line():
    line = warroom_line(at=T0 + 20, t0=T0, stage=1, weight=1, signals=_seed_cells(), decision="proceed")
    assert line == ":00 | Stage 1 (1%) | p95=142ms 5xx=0.2% ws=8s idemp=0.1% csp=3 eloop=12ms gc=8ms | 7/7 PASS | engine: Proceed | IC: —"


def test_blind_is_the_missing_mark_and_not_counted_as_pass():
    cells = _seed_cells(api_p95="BLIND", gc="INSUFFICIENT")
    line = warroom_line(at=T0 + 75 * 60, t0=T0, stage=5, weight=100, signals=cells, decision="hold")
    assert line.startswith(":15 | Stage 5 (100%) | p95=— ")
    assert "gc=~8ms" in line  # a value on too little traffic is approximate, not judged
    assert line.endswith("| 5/5 PASS 1 INSUFFICIENT 1 BLIND | engine: Hold | IC: —")


def test_failing_signal_is_marked_and_counted():
    cells = _seed_cells(error_rate="FAIL")
    cells[1] = SignalCell("error_rate", "5xx", 0.021, "FAIL", "ratio")
    line = warroom_line(at=T0, t0=T0, stage=3, weight=25, signals=cells, decision="rollback")
    assert "5xx=2.1%!" in line and "| 6/7 PASS 1 FAIL | engine: ROLLBACK | IC: —" in line


def test_minute_mark_wraps_the_hour():
    assert minute_mark(T0, T0) == ":00"
    assert minute_mark(T0 + 59.9, T0) == ":00"
    assert minute_mark(T0 + 15 * 60, T0) == ":15"
    assert minute_mark(T0 + 61 * 60, T0) == ":01"


def test_dry_run_signals_are_shown_marked_and_named_in_the_count():
    cells = [SignalCell("a", "a", 0.1, "PASS", "s"), SignalCell("b", "b", 9.0, "FAIL", "s", dry_run=True)]
    assert tally(cells) == "1/1 PASS 1 DRY-RUN"  # two signals shown, two in the count; the dry one never judged
    line = warroom_line(at=T0, t0=T0, stage=1, weight=1, signals=cells, decision="continue")
    assert "a=100ms " in line and "b=9s!~dry" in line


def test_cells_from_readings_and_from_a_sample_event_agree():
    readings = [
        SignalReading("api_p95", SignalState.PASS, 0.142, 0.2, "q", T0, unit="s"),
        SignalReading("error_rate", SignalState.BLIND, None, 0.01, "q", T0, unit="ratio", reason="no data"),
    ]
    labels = {"api_p95": "p95", "error_rate": "5xx"}
    sample = {"api_p95": {"value": 0.142, "state": "PASS", "unit": "s"}, "error_rate": {"value": None, "state": "BLIND", "unit": "ratio"}}
    a = warroom_line(at=T0, t0=T0, stage=1, weight=1, signals=cells_from_readings(readings, labels), decision="continue")
    b = warroom_line(at=T0, t0=T0, stage=1, weight=1, signals=cells_from_sample(sample, labels), decision="continue")
    assert a == b == ":00 | Stage 1 (1%) | p95=142ms 5xx=— | 1/1 PASS 1 BLIND | engine: Continue | IC: —"


def test_the_ic_column_is_the_ics_own_call_beside_the_engines_decision():
    cells = _seed_cells()
    called = warroom_line(at=T0, t0=T0, stage=2, weight=5, signals=cells, decision="proceed", ic="AB", call="GO")
    assert called.endswith("| 7/7 PASS | engine: Proceed | IC (AB): GO")
    # The IC may disagree with the engine; the line keeps both, neither overwrites the other.
    disagree = warroom_line(at=T0, t0=T0, stage=2, weight=5, signals=cells, decision="continue", ic="AB", call="ROLLBACK")
    assert disagree.endswith("| engine: Continue | IC (AB): ROLLBACK")
    not_yet = warroom_line(at=T0, t0=T0, stage=2, weight=5, signals=cells, decision="proceed", ic="AB")
    assert not_yet.endswith("| engine: Proceed | IC (AB): —")  # no call yet is not the engine's word
