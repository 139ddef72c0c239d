"""The canary journal: append-only, hash-chained, a torn last line ignored, any change detected."""

from __future__ import annotations

import json

import pytest

from cockpit.run.journal import GENESIS, TORN_NAME, Journal, JournalError, read_journal, record_hash, verify_journal


def _write(path, n=5):
    journal = Journal(path)
    for i in range(n):
        journal.append("sample", 1000.0 + i, stage=1, weight=1.0, signals={"p95": {"value": 0.1 * i, "state": "PASS"}})
    journal.close()
    return path


def test_records_chain_and_verify(tmp_path):
    path = _write(tmp_path / "journal.jsonl")
    read = read_journal(path)
    assert read.ok and [r["seq"] for r in read.records] == [1, 2, 3, 4, 5]
    assert read.records[0]["prev"] == GENESIS
    for before, after in zip(read.records, read.records[1:]):
        assert after["prev"] == before["hash"]
    assert all(r["hash"] == record_hash(r) for r in read.records)
    report = verify_journal(path)
    assert report.ok and report.count == 5 and report.torn_bytes == 0


def test_reopening_continues_the_chain(tmp_path):
    path = _write(tmp_path / "journal.jsonl", 3)
    journal = Journal(path)
    record = journal.append("note", 2000.0, text="after a restart", by="alice")
    journal.close()
    assert record["seq"] == 4
    assert verify_journal(path).ok and verify_journal(path).count == 4


def test_nan_and_inf_are_written_as_null(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl")
    record = journal.append("sample", 1.0, signals={"p95": {"value": float("nan")}, "gc": {"value": float("inf")}})
    journal.close()
    assert record["signals"]["p95"]["value"] is None and record["signals"]["gc"]["value"] is None
    assert verify_journal(tmp_path / "journal.jsonl").ok


def test_a_changed_value_breaks_the_chain(tmp_path):
    path = _write(tmp_path / "journal.jsonl")
    lines = path.read_text().splitlines()
    record = json.loads(lines[2])
    record["signals"]["p95"]["value"] = 0.001  # someone makes stage 1 look better
    lines[2] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    report = verify_journal(path)
    assert not report.ok and "line 3" in report.error and "hash" in report.error
    with pytest.raises(JournalError, match="refusing to continue"):
        Journal(path)


def test_a_removed_line_breaks_the_chain(tmp_path):
    path = _write(tmp_path / "journal.jsonl")
    lines = path.read_text().splitlines()
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    report = verify_journal(path)
    assert not report.ok and "line 2" in report.error


def test_a_rehashed_change_still_breaks_the_next_link(tmp_path):
    path = _write(tmp_path / "journal.jsonl")
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record["weight"] = 50.0
    record["hash"] = record_hash(record)  # recomputed: the next record's prev no longer matches
    lines[1] = json.dumps(record)
    path.write_text("\n".join(lines) + "\n")
    report = verify_journal(path)
    assert not report.ok and "line 3" in report.error and "prev" in report.error


def test_a_torn_last_line_is_ignored_then_cut_off(tmp_path):
    path = _write(tmp_path / "journal.jsonl")
    whole = path.read_bytes()
    with path.open("ab") as handle:
        handle.write(b'{"seq": 6, "ts": 1005.0, "event": "sam')  # the crash came mid-write
    read = read_journal(path)
    assert read.ok and len(read.records) == 5 and read.torn.startswith(b'{"seq": 6')
    report = verify_journal(path)
    assert report.ok and report.torn_bytes > 0

    journal = Journal(path)
    assert journal.torn_bytes > 0 and journal.last_seq == 5
    record = journal.append("decision", 1006.0, action="continue")
    journal.close()
    assert record["seq"] == 6
    assert path.read_bytes().startswith(whole)
    assert verify_journal(path).ok and verify_journal(path).count == 6
    assert b'"event": "sam' in (tmp_path / TORN_NAME).read_bytes()  # kept for a human, out of the chain


def test_a_whole_last_record_without_its_newline_is_kept(tmp_path):
    path = _write(tmp_path / "journal.jsonl")
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    read = read_journal(path)
    assert read.ok and len(read.records) == 5 and read.needs_newline and not read.torn
    journal = Journal(path)
    journal.append("note", 2.0, text="x", by="b")
    journal.close()
    assert verify_journal(path).ok and verify_journal(path).count == 6


def test_a_bad_complete_last_line_is_tampering_not_a_tear(tmp_path):
    path = _write(tmp_path / "journal.jsonl")
    with path.open("ab") as handle:
        handle.write(b'{"seq": 6, "event": "canary_done"}\n')
    report = verify_journal(path)
    assert not report.ok and "line 6" in report.error


def test_missing_journal_reads_empty(tmp_path):
    read = read_journal(tmp_path / "nothing.jsonl")
    assert read.ok and read.records == [] and read.head == GENESIS
