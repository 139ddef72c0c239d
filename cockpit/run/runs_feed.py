"""The runs in the state database, read again whenever a journal record is committed: the TUI's runs pane.

`cockpit runs` reads once. A pane that stays open reads on `LISTEN
cockpit_journal` (every record's commit notifies in its transaction): a burst
of records (one evaluation writes several) is one read, taken `settle` after
the first notification; with nothing written it reads every `every` seconds
anyway, since a lease lapses without a record. Never a tight poll.

Every read is published as a RunsSnapshot. A database that cannot be reached
(at the start or later) is a snapshot with the reason and the last rows read
(None when none ever were), never an empty list that would read as "no runs";
the feed tries again with a back-off. No secret reaches a reason: each passes
the config's redactor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cockpit.config import StateConfig
from cockpit.redaction import Redactor
from cockpit.run.state_store import NOTIFY_CHANNEL, RunRow, StateStore, list_runs

EVERY = 5.0  # seconds between reads with no record written (lease ages move on; a lease lapses silently)
SETTLE = 0.5  # after a notification, wait this long for the rest of the burst: one read for them all
RETRY_AT_MOST = 10.0  # the longest back-off while the database does not answer
SLICE = 1.0  # the longest wait between looks at `stopped()` (a closing screen waits at most this)


@dataclass(frozen=True)
class RunsSnapshot:
    """What the feed knows now: the rows of its last good read, and why the latest read failed (None: it did not)."""

    rows: tuple[RunRow, ...] | None  # None: never read (see error)
    read_at: float | None  # wall time of the read the rows come from
    error: str | None = None


class RunsFeed:
    """Reads `list_runs` on notifications (or every `every`) and publishes each read until `stopped()` says so."""

    def __init__(self, config: StateConfig, redactor: Redactor | None = None, *, every: float = EVERY,
                 settle: float = SETTLE, limit: int = 100) -> None:
        self.store = StateStore(config, redactor)
        self.redactor = self.store.redactor
        self.every = every
        self.settle = settle
        self.limit = limit
        self.reads = 0
        self.notifications = 0
        self._rows: tuple[RunRow, ...] | None = None
        self._read_at: float | None = None

    def follow(self, publish: Callable[[RunsSnapshot], None], stopped: Callable[[], bool]) -> None:
        """Blocking (a thread's loop): read, publish, wait for a record or `every`; until `stopped()`."""
        delay = 1.0
        try:
            while not stopped():
                try:
                    self._follow(publish, stopped)
                    return
                except Exception as exc:  # unreachable, restarted, no schema, refused: a reason on the pane
                    publish(RunsSnapshot(self._rows, self._read_at, self._reason(exc)))
                    self.store.close()
                    self._wait(delay, stopped)
                    delay = min(RETRY_AT_MOST, delay * 2)
        finally:
            self.store.close()

    def read(self) -> RunsSnapshot:
        """One read now (the schema checked), as the pane would show it."""
        self.store.check_schema()
        self._rows = tuple(list_runs(self.store, self.limit))
        self._read_at = time.time()
        self.reads += 1
        return RunsSnapshot(self._rows, self._read_at)

    def _follow(self, publish: Callable[[RunsSnapshot], None], stopped: Callable[[], bool]) -> None:
        listener = self.store.listener("cockpit-runs")
        try:
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            while not stopped():
                publish(self.read())  # after the LISTEN: nothing committed from here on goes unseen
                if self._notified(listener, stopped):
                    self._wait(self.settle, stopped)
                    self._drain(listener)
        finally:
            listener.close()

    def _notified(self, listener: Any, stopped: Callable[[], bool]) -> bool:
        """Wait up to `every` for a notification; True when one came."""
        deadline = time.monotonic() + self.every
        while not stopped():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            for _notify in listener.notifies(timeout=min(SLICE, left), stop_after=1):
                self.notifications += 1
                return True
        return False

    def _drain(self, listener: Any) -> None:
        """Take the notifications that came meanwhile: the next read covers them."""
        for _notify in listener.notifies(timeout=0.01):
            self.notifications += 1

    @staticmethod
    def _wait(seconds: float, stopped: Callable[[], bool]) -> None:
        deadline = time.monotonic() + seconds
        while not stopped():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.1, left))

    def _reason(self, exc: BaseException) -> str:
        text = " ".join(str(exc).split()) or type(exc).__name__
        if text.startswith("state.dsn: "):
            text = text[len("state.dsn: "):]
        return self.redactor.scrub(text)[:300]
