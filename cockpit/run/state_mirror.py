"""A viewer's copy of a run's journal, followed from the state database with LISTEN/NOTIFY.

A viewer on another host (`cockpit attach VERSION --from-state`) has no local
journal to tail. The mirror copies the run's records from PostgreSQL into a
local journal file of its own (the same lines, the chain checked on every
write), and then waits on `LISTEN cockpit_journal`: every record a controller
commits sends a notification in the same transaction, so the mirror asks for
the new records only when there are some; no tight polling. The screen tails
the mirror's file like any journal. A lost connection is opened again (with a
back-off) and the mirror catches up from the last record it has, so a viewer
never misses one, whichever controller writes them (a standby's records
follow the holder's in the same chain).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from cockpit.config import StateConfig
from cockpit.redaction import Redactor
from cockpit.run.journal import Journal
from cockpit.run.state_store import NOTIFY_CHANNEL, StateStore, StateUnavailable

WAIT_AT_MOST = 5.0  # the longest back-off between attempts to reach the database again


class JournalMirror(threading.Thread):
    """Follows one run's journal from the state database into `path`; `stop()` ends it."""

    def __init__(self, config: StateConfig, redactor: Redactor, version: str, path: Path) -> None:
        super().__init__(name=f"journal-mirror-{version}", daemon=True)
        self.config = config
        self.redactor = redactor
        self.version = version
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(self.path)
        self.store = StateStore(config, redactor)
        self._stop_event = threading.Event()
        self.notifications = 0
        self.error: str | None = None  # the last reason the mirror could not follow (None while it follows)

    def sync(self) -> int:
        """Copy the records after the last one here; how many were copied."""
        fresh = self.store.records_after(self.version, self.journal.last_seq)
        for record in fresh:
            self.journal.write(record)
        return len(fresh)

    def run(self) -> None:
        delay = 0.5
        try:
            while not self._stop_event.is_set():
                try:
                    self._follow()
                    delay = 0.5
                except StateUnavailable as exc:
                    self.error = str(exc)
                    self._stop_event.wait(delay)
                    delay = min(WAIT_AT_MOST, delay * 2)
                except Exception as exc:  # a bad record (the chain does not hold): say it, keep what is here
                    self.error = f"{type(exc).__name__}: {exc}"
                    return
        finally:
            self.store.close()
            self.journal.close()

    def _follow(self) -> None:
        import psycopg

        listener = self._listen()
        try:
            self.sync()  # what was committed before the LISTEN started
            self.error = None
            prefix = f"{self.store.service}/{self.version}/"
            while not self._stop_event.is_set():
                try:
                    # Returns after a second without notifications, so a stop is seen; each one of this run's is
                    # answered at once (one query fetches every record after the last one here).
                    for notify in listener.notifies(timeout=1.0):
                        if notify.payload.startswith(prefix) and _seq_of(notify.payload) > self.journal.last_seq:
                            self.notifications += 1
                            self.sync()
                        if self._stop_event.is_set():
                            break
                except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                    # A new connection starts with a sync from the last record here: nothing sent meanwhile is missed.
                    raise StateUnavailable(f"the state database stopped answering: {exc}") from None
        finally:
            listener.close()

    def _listen(self) -> Any:
        try:
            listener = self.store.listener("cockpit-viewer")
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception as exc:
            raise StateUnavailable(f"the state database is unreachable: {self.redactor.scrub(str(exc))}") from None
        return listener

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=3)


def _seq_of(payload: str) -> int:
    """The record number in a notification's "service/version/seq" (0 when it is not one)."""
    try:
        return int(payload.rsplit("/", 1)[1])
    except (IndexError, ValueError):
        return 0
