"""The baseline JSON round-trips, and a missing or broken one reads as no baseline."""

import math

from cockpit.checks.baseline import baseline_file, baseline_taken_at, load_baseline, write_baseline
from cockpit.evidence import EvidenceStore


def test_round_trip_keeps_missing_values_apart(tmp_path) -> None:
    store = EvidenceStore(tmp_path, "v1.4.0")
    write_baseline(store, "2027-01-01T00:00:00.000Z", {"p95": 0.142, "csp": None, "gc": math.nan})
    assert load_baseline(store) == {"p95": 0.142, "csp": None, "gc": None}
    assert baseline_taken_at(store) == "2027-01-01T00:00:00.000Z"
    assert baseline_file("v1.4.0") in store.read_manifest()


def test_no_file_or_broken_file_is_none(tmp_path) -> None:
    store = EvidenceStore(tmp_path, "v1.4.0")
    assert load_baseline(store) is None
    store.dir.mkdir(parents=True)
    store.path(baseline_file("v1.4.0")).write_text("{not json")
    assert load_baseline(store) is None
    store.path(baseline_file("v1.4.0")).write_text('{"values": {"p95": "fast", "ok": 2}}')
    assert load_baseline(store) == {"p95": None, "ok": 2.0}
    assert baseline_taken_at(store) is None
