"""Following a canary journal file: the complete lines appended since the last read, parsed.

The canary process appends one JSON object per line (fsync'd). A reader may
see a half-written last line; it keeps that part until the newline arrives.
A file that shrinks or is replaced starts over from the top (`reset` says so,
so the screen can rebuild its state from scratch). Records carrying the
journal's hash chain are checked as they arrive: `chain_error` names the first
line that does not chain, so the screen can say it cannot vouch for what it shows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cockpit.run.journal import GENESIS, record_hash

CHUNK = 1 << 20  # bytes per read: a 24 h journal replays in bounded steps


class JournalTail:
    """Incremental reader of an append-only JSON-lines file."""

    def __init__(self, path: Path, chunk: int = CHUNK) -> None:
        self.path = Path(path)
        self.chunk = chunk
        self.offset = 0
        self.bad_lines = 0
        self.reset = False  # set by read_new() when the file was truncated or replaced
        self.chain_error: str | None = None
        self._inode: int | None = None
        self._partial = b""
        self._line = 0
        self._prev = GENESIS
        self._chained: bool | None = None  # decided by the first record: does it carry a hash?

    @property
    def exists(self) -> bool:
        return self._inode is not None

    def read_new(self) -> list[dict[str, Any]]:
        """Events appended since the last call (at most one chunk); [] when nothing new or no file."""
        self.reset = False
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            if self._inode is not None:
                self._start_over()
            return []
        except OSError:
            return []
        if self._inode is not None and (info.st_ino != self._inode or info.st_size < self.offset):
            self._start_over()
        self._inode = info.st_ino
        if info.st_size <= self.offset:
            return []
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(self.chunk)
        except OSError:
            return []
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # b"" when the data ended with a newline
        events = []
        for raw in lines:
            if not raw.strip():
                continue
            self._line += 1
            try:
                event = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                event = None
            if not isinstance(event, dict):
                self.bad_lines += 1
                self._chain_broken("not a JSON object")
                continue
            self._verify(event)
            events.append(event)
        return events

    def _verify(self, record: dict[str, Any]) -> None:
        if self._chained is None:
            self._chained = "hash" in record
        if not self._chained:
            return
        if record.get("seq") != self._line:
            self._chain_broken(f"seq is {record.get('seq')!r}, expected {self._line}")
        elif record.get("prev") != self._prev:
            self._chain_broken("prev does not match the record before")
        elif record.get("hash") != record_hash(record):
            self._chain_broken("hash does not match the record's content")
        self._prev = str(record.get("hash"))

    def _chain_broken(self, problem: str) -> None:
        if self.chain_error is None and self._chained is not False:
            self.chain_error = f"journal line {self._line}: {problem}"

    @property
    def behind(self) -> bool:
        """More is on disk than has been read (the last read was a full chunk)."""
        try:
            return os.stat(self.path).st_size > self.offset
        except OSError:
            return False

    def _start_over(self) -> None:
        self.offset = 0
        self._partial = b""
        self._inode = None
        self._line = 0
        self._prev = GENESIS
        self._chained = None
        self.chain_error = None
        self.reset = True
