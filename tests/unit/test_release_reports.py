"""The one-liner, the mini RCA and the release page, from journals written with the real Journal class.

Expected figures are computed here, independently (statistics.median over the
values the test wrote), and read back out of the printed line.
"""

from __future__ import annotations

import random
import re
import statistics
from pathlib import Path

import pytest

from cockpit.checks.baseline import write_baseline
from cockpit.cli import main
from cockpit.evidence import EvidenceStore
from cockpit.format import format_value
from cockpit.records.facts import ReportError, read_release
from cockpit.records.reports import rca_markdown, release_oneliner
from tests.release_journal import DEFAULT_SIGNALS, PLAN, T0, JournalWriter, signal_reason

VERSION = "v1.4.0"
SEED_VALUES = {
    "p95_latency": [0.13, 0.14, 0.15],
    "error_rate": [0.002, 0.003, 0.004],
    "ws_staleness": [9.0, 11.0, 13.0],
    "risk_block_rate": [0.05, 0.1, 0.2],
    "idempotency_conflicts": [0.001, 0.002, 0.003],
    "csp_violations": [0.0005, 0.00052, 0.0006],
    "eventloop_lag": [0.010, 0.012, 0.016],
    "gc_pause": [0.007, 0.008, 0.009],
}
CSP_BASELINE = 0.0005
LABELS = {
    "p95_latency": "p95", "error_rate": "5xx", "ws_staleness": "ws_stale_p95", "risk_block_rate": "risk_block",
    "idempotency_conflicts": "idemp_conflict", "csp_violations": "csp_viol", "eventloop_lag": "event-loop p95",
    "gc_pause": "GC avg",
}


def store_for(tmp: Path) -> EvidenceStore:
    return EvidenceStore(tmp / "evidence", VERSION)


def write_promoted(tmp: Path, values: dict[str, list[float | None]], states: dict[str, list[str]] | None = None) -> None:
    """Five stages; sample i of every signal takes values[name][i % len]; stage boundaries every len samples."""
    writer = JournalWriter(tmp / "evidence", VERSION)
    writer.run_started()
    per_stage = max(len(v) for v in values.values())
    index = 0
    for stage in range(1, len(PLAN) + 1):
        writer.start_stage(stage)
        for _ in range(per_stage):
            writer.advance(15)
            sample = {}
            for name, series in values.items():
                value = series[index % len(series)]
                state = (states or {}).get(name, [])[index % len((states or {}).get(name) or [1])] if states and name in states else "PASS"
                sample[name] = (value, state)
            writer.sample(stage, sample)
            writer.decision(stage, "continue")
            index += 1
        writer.pass_stage(stage)
    writer.done("promoted", len(PLAN))
    writer.close()


def parse_figure(line: str, label: str) -> tuple[str, float | None]:
    """(the raw text, the number in base units) of `label=...` in the one-liner."""
    match = re.search(r"(?:: |, |; )" + re.escape(label) + r"=([^,;]+?)(?=, |; |\.$)", line)
    assert match, f"{label} not in {line!r}"
    raw = match.group(1)
    number = re.match(r"~?(-?[0-9.]+)(ms|s|%|/min)?", raw)
    if not number:
        return raw, None
    value = float(number.group(1))
    scale = {"ms": 0.001, "%": 0.01}.get(number.group(2) or "", 1.0)
    return raw, value * scale


# ---------------------------------------------------------------- the seed's line


def test_oneliner_reproduces_the_seed_line_in_english_and_turkish(tmp_path: Path) -> None:
    write_promoted(tmp_path, SEED_VALUES)
    facts = read_release(store_for(tmp_path))
    baseline = {"csp_violations": CSP_BASELINE}
    en = release_oneliner(facts, "en", baseline=baseline, relative={"csp_violations"})
    tr = release_oneliner(facts, "tr", baseline=baseline, relative={"csp_violations"})
    tail = ("rollback=0; p95=~140ms, 5xx=0.3%, ws_stale_p95=11s, risk_block=0.1/min, idemp_conflict=0.2%, "
            "csp_viol=baseline+4%; event-loop p95=12ms, GC avg=8ms.")
    assert en == f"v1.4.0 canary: 1%→100% all stages 8/8 metrics pass; {tail}"
    assert tr == f"v1.4.0 canary: 1%→100% tüm aşamalar 8/8 metrik geçer; {tail}"


def test_every_number_in_the_oneliner_is_the_median_of_the_journaled_samples(tmp_path: Path) -> None:
    rng = random.Random(7)
    values: dict[str, list[float | None]] = {}
    for name, (_unit, limit) in DEFAULT_SIGNALS.items():
        # Skewed (a few large outliers), so a mean would not pass for the median.
        series = [limit * rng.uniform(0.2, 0.5) for _ in range(17)] + [limit * rng.uniform(2.0, 4.0) for _ in range(6)]
        rng.shuffle(series)
        values[name] = series
    write_promoted(tmp_path, values)
    baseline = {"csp_violations": 0.0004}
    line = release_oneliner(read_release(store_for(tmp_path)), "en", baseline=baseline, relative={"csp_violations"})
    # Every sample of every stage took values[name][i % 23] in order: 5 stages x 23 samples.
    for name, series in values.items():
        taken = [series[i % len(series)] for i in range(len(PLAN) * len(series))]
        median, mean = statistics.median(taken), statistics.fmean(taken)
        raw, shown = parse_figure(line, LABELS[name])
        if name == "csp_violations":
            expected_pct = (median / baseline[name] - 1) * 100
            assert raw.startswith("baseline")
            assert abs(int(raw.removeprefix("baseline").rstrip("%")) - expected_pct) <= 0.5
            continue
        assert shown is not None, raw
        unit = DEFAULT_SIGNALS[name][0]
        display = {"s": 1000.0 if median < 1 else 1.0, "ratio": 100.0}.get(unit, 1.0)
        truth = median * display
        tolerance = 0.51 if truth >= 10 else 0.051 * truth  # integers from 10, two significant digits below
        assert abs(shown * display - truth) <= tolerance, (name, raw, median)
        assert abs(mean * display - truth) > tolerance, "the test data must tell a median from a mean"
    assert "all stages 8/8 metrics pass" in line and "rollback=0" in line


# ---------------------------------------------------------------- BLIND / INSUFFICIENT


def test_blind_and_insufficient_signals_are_reported_as_such_never_as_passing(tmp_path: Path) -> None:
    values = {name: list(v) for name, v in SEED_VALUES.items()}
    values["ws_staleness"] = [None]
    values["idempotency_conflicts"] = [0.004, 0.005, 0.006]
    states = {
        "ws_staleness": ["BLIND"],
        "idempotency_conflicts": ["INSUFFICIENT"],
        "error_rate": ["PASS", "BLIND", "PASS"],
    }
    write_promoted(tmp_path, values, states)
    facts = read_release(store_for(tmp_path))
    words = {"en": ("BLIND", "INSUFFICIENT", "samples"), "tr": ("VERİSİZ", "YETERSİZ", "örnek")}
    for lang, (blind, insufficient, samples) in words.items():
        line = release_oneliner(facts, lang, baseline={"csp_violations": CSP_BASELINE}, relative={"csp_violations"})
        assert f"ws_stale_p95={blind}" in line
        assert f"idemp_conflict={insufficient}" in line
        # 5 of the 15 error-rate samples were BLIND; the figure is the median of the other 10.
        raw, shown = parse_figure(line, "5xx")
        assert shown == pytest.approx(statistics.median([0.002, 0.004] * 5))
        assert raw.endswith(f"(5/15 {samples} {blind})"), raw
    en = release_oneliner(facts, "en", baseline={"csp_violations": CSP_BASELINE}, relative={"csp_violations"})
    assert "all stages passed; 6/8 metrics pass (1 BLIND: ws_stale_p95, 1 INSUFFICIENT: idemp_conflict)" in en
    assert "8/8" not in en
    tr = release_oneliner(facts, "tr", baseline={"csp_violations": CSP_BASELINE}, relative={"csp_violations"})
    assert "tüm aşamalar geçti; 6/8 metrik geçer (1 VERİSİZ: ws_stale_p95, 1 YETERSİZ: idemp_conflict)" in tr


# English status words a Turkish line must not carry (labels like p95 and the seed's rollback=N stay).
ENGLISH_WORDS = re.compile(r"\b(BLIND|INSUFFICIENT|FAIL|PASS|WARN|DRY-RUN|samples|median|rolled|stage|trigger|fired)\b")


def test_the_turkish_line_has_no_english_state_words(tmp_path: Path) -> None:
    values = {name: list(v) for name, v in SEED_VALUES.items()}
    values["ws_staleness"] = [None]
    values["idempotency_conflicts"] = [0.004, None, 0.006]
    states = {"ws_staleness": ["BLIND"], "idempotency_conflicts": ["PASS", "INSUFFICIENT", "PASS"]}
    write_promoted(tmp_path / "promoted", values, states)
    write_rolled_back(tmp_path / "rolled_back")
    for folder in ("promoted", "rolled_back"):
        facts = read_release(store_for(tmp_path / folder))
        tr = release_oneliner(facts, "tr", baseline={"csp_violations": CSP_BASELINE}, relative={"csp_violations"})
        en = release_oneliner(facts, "en", baseline={"csp_violations": CSP_BASELINE}, relative={"csp_violations"})
        assert not ENGLISH_WORDS.findall(tr), tr
        assert ENGLISH_WORDS.findall(en), en  # the same facts do carry state words: the check can fail
    assert "idemp_conflict=0.5% (5/15 örnek YETERSİZ)" in release_oneliner(
        read_release(store_for(tmp_path / "promoted")), "tr")


def test_a_relative_signal_without_a_baseline_shows_its_value_not_a_made_up_percentage(tmp_path: Path) -> None:
    write_promoted(tmp_path, SEED_VALUES)
    line = release_oneliner(read_release(store_for(tmp_path)), "en", baseline=None, relative={"csp_violations"})
    assert "csp_viol=0.052%" in line and "baseline" not in line


# ---------------------------------------------------------------- a rolled-back run


def write_rolled_back(tmp: Path) -> dict[str, float]:
    """Stages 1-2 pass; stage 3 breaches p95 and rolls back. Returns the times the test checks."""
    writer = JournalWriter(tmp / "evidence", VERSION)
    writer.run_started()
    times: dict[str, float] = {}
    base = {name: (series[1], "PASS") for name, series in SEED_VALUES.items()}
    for stage in (1, 2):
        writer.start_stage(stage)
        for _ in range(3):
            writer.advance(15)
            writer.sample(stage, base)
        writer.pass_stage(stage)
    writer.start_stage(3)
    writer.advance(15)
    writer.sample(3, base)
    writer.decision(3, "continue")
    for state, value in (("BREACHING", 0.300), ("BREACHING", 0.350), ("FAIL", 0.412)):
        writer.advance(15)
        if state == "BREACHING" and "first_bad" not in times:
            times["first_bad"] = writer.now
        writer.sample(3, {**base, "p95_latency": (value, state)},
                      triggers={"p95_latency_breach": {"firing": True, "active": False, "action": "rollback", "auto": False,
                                                        "value": value, "error": None, "dry_run": False, "since": writer.now}})
    times["decided"] = writer.now
    reasons = [signal_reason("p95_latency", 0.412, 0.2)]
    writer.decision(3, "rollback", reasons)
    writer.rollback(3, reasons, start_after=0.2, end_after=1.5)
    # Recovery samples after the rollback must not move the canary's figures.
    for _ in range(4):
        writer.advance(15)
        writer.sample(3, {**base, "p95_latency": (9.0, "FAIL")}, phase="recovery")
    writer.add("signals_recovered", stage=3, weight=25.0, at=writer.now, after_s=60.0)
    times["recovered"] = writer.now
    writer.done("rolled_back", 3, reasons=reasons)
    writer.close()
    return times


def test_a_rolled_back_run_says_where_and_why_in_both_languages(tmp_path: Path) -> None:
    write_rolled_back(tmp_path)
    facts = read_release(store_for(tmp_path))
    en = release_oneliner(facts, "en", baseline={"csp_violations": CSP_BASELINE}, relative={"csp_violations"})
    tr = release_oneliner(facts, "tr", baseline={"csp_violations": CSP_BASELINE}, relative={"csp_violations"})
    assert en.startswith("v1.4.0 canary: 1%→25% rolled back at stage 3: p95_latency 412ms > 200ms; rollback=1; ")
    assert tr.startswith("v1.4.0 canary: 1%→25% 3. aşamada geri alındı: p95_latency 412ms > 200ms; rollback=1; ")
    # The breach that caused the rollback leads the p95 figure, then the median of the canary samples:
    # 6 x 0.14 (stages 1-2), 1 x 0.14, then 0.300, 0.350, 0.412 in stage 3; not the 9 s of recovery.
    p95 = [0.14] * 7 + [0.300, 0.350, 0.412]
    median = format_value(statistics.median(p95), "s")
    assert statistics.median(p95) < 0.2 < 0.412, "the median alone would hide the breach"
    assert f"p95=412ms > 200ms (FAIL, median ~{median})" in en
    assert f"p95=412ms > 200ms (BAŞARISIZ, medyan ~{median})" in tr
    assert "all stages" not in en


def test_a_failed_signal_shows_its_rollback_value_not_its_median(tmp_path: Path) -> None:
    """The value and limit come from rollback_started's reason; without one, from the last FAIL sample."""
    writer = JournalWriter(tmp_path / "evidence", VERSION)
    writer.run_started()
    base = {name: (series[1], "PASS") for name, series in SEED_VALUES.items()}
    writer.start_stage(1)
    for _ in range(9):
        writer.advance(15)
        writer.sample(1, base)
    writer.advance(15)
    writer.sample(1, {**base, "p95_latency": (0.395, "FAIL"), "error_rate": (0.031, "FAIL")})
    # The decision named p95 at 395 ms; the error rate failed in the same sample but is not in the reasons.
    reasons = [signal_reason("p95_latency", 0.395, 0.2)]
    writer.rollback(1, reasons, start_after=0.1, end_after=0.5)
    writer.done("rolled_back", 1, reasons=reasons)
    writer.close()
    facts = read_release(store_for(tmp_path))
    en = release_oneliner(facts, "en")
    assert "p95=395ms > 200ms (FAIL, median ~140ms)" in en, en
    assert "5xx=3.1% > 1% (FAIL, median 0.3%)" in en, en
    assert "p95=~140ms" not in en


# ---------------------------------------------------------------- mini RCA


def test_rca_has_the_timeline_what_fired_and_the_timings(tmp_path: Path) -> None:
    times = write_rolled_back(tmp_path)
    store = store_for(tmp_path)
    facts = read_release(store)
    incident = facts.canary_incident
    assert incident is not None
    assert incident.first_bad_at == times["first_bad"]
    assert incident.detect_s == pytest.approx(times["decided"] - times["first_bad"])  # 30 s
    assert incident.command_start_s == pytest.approx(0.2)
    assert incident.command_end_s == pytest.approx(1.5)
    text = rca_markdown(facts, store.files())
    assert "**Time to detect** (first bad sample → decision): 30s" in text
    assert "decision → command start 200ms; decision → command end 1.5s" in text
    assert "p95_latency BREACHING" in text  # what was first seen bad
    assert "| signal | p95_latency | 412ms | 200ms | 1m |" in text
    assert "stage 3 (25%) started" in text and "ROLLBACK started from 25%" in text
    assert "p95_latency_breach" in text  # the trigger that fired alongside
    assert "[journal.jsonl](journal.jsonl)" in text
    assert "## Cause — ✍ TO FILL IN" in text and "## Actions — ✍ TO FILL IN" in text
    assert "**Recovered:** signals within limits 1m after the rollback" in text


def test_rca_command_writes_the_draft_and_never_overwrites_a_filled_one(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write_rolled_back(tmp_path)
    args = ["rca", VERSION, "--evidence-dir", str(tmp_path / "evidence")]
    assert main(args) == 0
    path = tmp_path / "evidence" / VERSION / "mini_rca_v1.4.0.md"
    assert "detected in 30s" in capsys.readouterr().out
    path.write_text(path.read_text() + "\nCause: a missing index.\n")
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err
    assert "a missing index" in path.read_text()
    assert main(args + ["--force"]) == 0
    assert "a missing index" not in path.read_text()
    assert "mini_rca_v1.4.0.md" in store_for(tmp_path).read_manifest()


# ---------------------------------------------------------------- commands


def test_oneliner_command_prints_and_writes_the_evidence_file(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # no cockpit.toml: the default playbook names the signals
    write_promoted(tmp_path, SEED_VALUES)
    store = store_for(tmp_path)
    write_baseline(store, "2027-01-15T13:50:00Z", {"csp_violations": CSP_BASELINE})
    assert main(["oneliner", VERSION, "--evidence-dir", str(tmp_path / "evidence"), "--lang", "tr"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("v1.4.0 canary: 1%→100% tüm aşamalar 8/8 metrik geçer; rollback=0;")
    assert "csp_viol=baseline+4%" in out
    assert store.path("release_oneliner_v1.4.0.txt").read_text().strip() == out
    assert "release_oneliner_v1.4.0.txt" in store.read_manifest()


def test_report_command_prints_with_rich_and_writes_markdown(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write_rolled_back(tmp_path)
    store = store_for(tmp_path)
    store.write_text("preflight.txt", "# Preflight v1.4.0\n\nPASS     identity   0.01s  sealed\n"
                     "UNKNOWN  clock_drift   5.00s  NTP did not answer\n\noverall: UNKNOWN (exit 3)\n")
    out = tmp_path / "release.md"
    assert main(["report", VERSION, "--evidence-dir", str(tmp_path / "evidence"), "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Release v1.4.0")
    assert "## Preflight" in text and "1 PASS, 1 UNKNOWN — overall **UNKNOWN (exit 3)**" in text
    assert "NTP did not answer" in text
    assert "| 3 | 25% |" in text and "rolled back" in text
    assert "**ROLLBACK**" in text and "p95_latency FAIL" in text
    assert "## Rollback (canary)" in text
    assert main(["report", VERSION, "--evidence-dir", str(tmp_path / "evidence")]) == 0
    shown = capsys.readouterr().out
    assert "Release v1.4.0" in shown and "Stages" in shown and "#" not in shown.splitlines()[0]


@pytest.mark.parametrize("command", ["oneliner", "rca", "report"])
def test_missing_journal_or_bad_version_is_one_line_and_exit_2(tmp_path: Path, monkeypatch, capsys, command: str) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([command, VERSION, "--evidence-dir", str(tmp_path / "evidence")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no journal" in err
    assert main([command, "1.4", "--evidence-dir", str(tmp_path / "evidence")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a release version" in err


def test_a_changed_journal_is_refused(tmp_path: Path) -> None:
    write_promoted(tmp_path, SEED_VALUES)
    path = tmp_path / "evidence" / VERSION / "journal.jsonl"
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace('"PASS"', '"FAIL"', 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReportError, match="journal line 6"):
        read_release(store_for(tmp_path))


def test_timeline_starts_at_t0(tmp_path: Path) -> None:
    write_rolled_back(tmp_path)
    facts = read_release(store_for(tmp_path))
    assert facts.t0 == T0
    assert facts.timeline[0][2].startswith("canary started: 1% 15m → 5% 15m")
