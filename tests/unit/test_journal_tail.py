"""Following a journal file: whole lines only, partial lines wait, truncation starts over."""

from __future__ import annotations

import json
import os

from cockpit.run.journal_tail import JournalTail


def line(seq: int) -> bytes:
    return (json.dumps({"seq": seq, "ts": 1.0 + seq, "event": "warroom", "line": f"l{seq}"}) + "\n").encode()


def test_missing_file_then_appends_and_a_partial_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    tail = JournalTail(path)
    assert tail.read_new() == [] and not tail.exists
    path.write_bytes(line(1) + line(2))
    assert [e["seq"] for e in tail.read_new()] == [1, 2]
    whole = line(3)
    with path.open("ab") as handle:
        handle.write(whole[:10])
    assert tail.read_new() == []  # half a line is not an event yet
    with path.open("ab") as handle:
        handle.write(whole[10:] + b"not json\n" + b"[1, 2]\n")
    assert [e["seq"] for e in tail.read_new()] == [3]
    assert tail.bad_lines == 2 and tail.read_new() == []


def test_truncated_or_replaced_file_starts_over(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_bytes(line(1) + line(2))
    tail = JournalTail(path)
    assert len(tail.read_new()) == 2
    path.write_bytes(line(9))  # shorter: truncated
    events = tail.read_new()
    assert tail.reset and [e["seq"] for e in events] == [9]
    replacement = tmp_path / "new.jsonl"
    replacement.write_bytes(line(7) + line(8) + line(10))
    os.replace(replacement, path)  # a new inode
    events = tail.read_new()
    assert tail.reset and [e["seq"] for e in events] == [7, 8, 10]
    assert tail.read_new() == [] and not tail.reset


def test_big_journals_are_read_in_bounded_chunks(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_bytes(b"".join(line(i) for i in range(100)))
    tail = JournalTail(path, chunk=500)
    seen = []
    while True:
        batch = tail.read_new()
        seen += [e["seq"] for e in batch]
        if not tail.behind:
            break
    assert seen == list(range(100))


def test_the_hash_chain_is_checked_as_lines_arrive(tmp_path):
    from cockpit.run.journal import Journal

    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal.append("run_started", 1.0, version="v1.4.0", plan=[], pid=1, drill=False)
    journal.append("warroom", 2.0, line="ok")
    tail = JournalTail(path)
    assert len(tail.read_new()) == 2 and tail.chain_error is None
    journal.append("warroom", 3.0, line="still ok")
    assert len(tail.read_new()) == 1 and tail.chain_error is None
    journal.close()
    text = path.read_text().replace('"still ok"', '"edited"')
    path.write_text(text)  # same size, same inode? rewrite: the tail starts over and rechecks
    fresh = JournalTail(path)
    assert len(fresh.read_new()) == 3
    assert fresh.chain_error == "journal line 3: hash does not match the record's content"
