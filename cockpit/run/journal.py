"""The canary run's journal: append-only JSON lines, fsync'd, each line chained to the one before.

Every record is `{"seq", "ts", "event", ..., "prev", "hash"}`; `hash` is the
SHA-256 of the record's canonical JSON (sorted keys, no spaces) without
`hash`, and `prev` is the hash of the record before (GENESIS for the first).
Changing, removing or reordering a line breaks the chain. A crash while
writing can leave a torn last line: it was never acted on, so reading ignores
it and opening the journal for writing cuts it off (keeping the bytes in
`.journal.torn`) before appending again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.errors import CockpitError

GENESIS = "0" * 64
JOURNAL_NAME = "journal.jsonl"
TORN_NAME = ".journal.torn"


class JournalError(CockpitError):
    """The journal cannot be trusted (broken chain, bad line in the middle): one line, says where."""


def _finite(value: Any) -> Any:
    """JSON has no NaN/Inf: they become None (the decision already treated them as no value)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes a record's hash covers: sorted keys, no whitespace, UTF-8, without "hash"."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def line_of(record: dict[str, Any]) -> bytes:
    """A record as its journal line (newline included): the bytes the file and a replica both keep."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False).encode() + b"\n"


def check_chain(records: list[dict[str, Any]]) -> str | None:
    """Where a list of records (from seq 1) stops chaining, or None when every hash and link holds."""
    prev = GENESIS
    for number, record in enumerate(records, start=1):
        problem = _check(record, prev, number)
        if problem is not None:
            return f"record {number}: {problem}"
        prev = record["hash"]
    return None


@dataclass
class JournalRead:
    """What a journal file holds: the records that chain, and what could not be trusted."""

    records: list[dict[str, Any]] = field(default_factory=list)
    torn: bytes = b""  # an unfinished last line from a crash, ignored
    good_size: int = 0  # bytes up to the end of the last good record (its newline included)
    needs_newline: bool = False  # the last record is whole but its newline was not written
    error: str | None = None  # the chain is broken: where and how

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def head(self) -> str:
        return self.records[-1]["hash"] if self.records else GENESIS

    @property
    def last_seq(self) -> int:
        return int(self.records[-1]["seq"]) if self.records else 0


def _check(record: Any, prev: str, seq: int) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("seq") != seq:
        return f"seq is {record.get('seq')!r}, expected {seq}"
    if record.get("prev") != prev:
        return "prev does not match the hash of the record before"
    if record.get("hash") != record_hash(record):
        return "hash does not match the record's content"
    return None


def read_journal(path: str | Path) -> JournalRead:
    """Parse and verify a journal; never raises for bad content (see `error` and `torn`)."""
    result = JournalRead()
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return result
    lines = data.split(b"\n")
    # The piece after the last newline is either empty or an unterminated last line.
    tail = lines.pop()
    prev, offset = GENESIS, 0
    for number, raw in enumerate(lines, start=1):
        try:
            record = json.loads(raw)
        except ValueError:
            record = None
        problem = "not valid JSON" if record is None else _check(record, prev, number)
        if problem is not None:
            # A line that ends with its newline was written whole (the newline goes out in the
            # same write), so bad content there is a change, not a crash: report it.
            result.error = f"journal line {number}: {problem}"
            return result
        result.records.append(record)
        prev = record["hash"]
        offset += len(raw) + 1
    result.good_size = offset
    if tail:
        try:
            record = json.loads(tail)
        except ValueError:
            record = None
        if record is not None and _check(record, prev, len(lines) + 1) is None:
            result.records.append(record)  # whole and chained: only its newline was lost
            result.good_size = offset + len(tail)
            result.needs_newline = True
        else:
            result.torn = tail
    return result


@dataclass
class ChainReport:
    ok: bool
    count: int
    head: str
    torn_bytes: int
    error: str | None = None


def verify_journal(path: str | Path) -> ChainReport:
    """Does the hash chain hold? A torn last line is reported but does not break it."""
    read = read_journal(path)
    return ChainReport(read.ok, len(read.records), read.head, len(read.torn), read.error)


class Journal:
    """An open journal for appending. One writer at a time (the canary process holds the run lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        read = read_journal(self.path)
        if read.error is not None:
            raise JournalError(f"{self.path}: {read.error}: the journal was changed; refusing to continue it")
        self.records: list[dict[str, Any]] = read.records
        self.torn_bytes = len(read.torn)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if read.torn:
            self._cut_torn(read)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        if read.needs_newline:
            os.write(self._fd, b"\n")
            os.fsync(self._fd)
        self._head = read.head
        self._seq = read.last_seq

    def _cut_torn(self, read: JournalRead) -> None:
        # Keep the torn bytes for a human to look at, then cut them off so appends start clean.
        torn_path = self.path.with_name(TORN_NAME)
        with torn_path.open("ab") as handle:
            handle.write(read.torn + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        with self.path.open("r+b") as handle:
            handle.truncate(read.good_size)
            handle.flush()
            os.fsync(handle.fileno())

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def head(self) -> str:
        return self._head

    def append(self, event: str, ts: float, **fields: Any) -> dict[str, Any]:
        """Write one record (fsync'd before returning) and return it as written."""
        record = self.prepare(event, ts, **fields)
        self.write(record)
        return record

    def prepare(self, event: str, ts: float, **fields: Any) -> dict[str, Any]:
        """The next record, chained and hashed, not yet written (a replica may commit it first)."""
        record: dict[str, Any] = {"seq": self._seq + 1, "ts": ts, "event": event}
        record.update(_finite(fields))
        record["prev"] = self._head
        record["hash"] = record_hash(record)
        return record

    def write(self, record: dict[str, Any]) -> None:
        """Append a record that chains onto the head (from `prepare`, or a replica's copy), fsync'd."""
        if record.get("seq") != self._seq + 1 or record.get("prev") != self._head or record.get("hash") != record_hash(record):
            raise JournalError(f"{self.path}: record {record.get('seq')!r} does not chain onto record {self._seq}")
        view = memoryview(line_of(record))
        while view:  # one write in practice: a crash leaves a prefix of the line, never a mix
            view = view[os.write(self._fd, view):]
        os.fsync(self._fd)
        self._seq += 1
        self._head = record["hash"]
        self.records.append(record)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)
