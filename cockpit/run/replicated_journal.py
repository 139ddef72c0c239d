"""The journal of a run with `[state] dsn`: each record committed to PostgreSQL (fenced), then to the local file.

Opening it reconciles the two copies: the database's is the run's (a standby
on another host starts with an empty folder), so records the local file lacks
are appended to it as they are (same bytes, same chain); records only the
local file has (written while the database was away, by a controller that
stopped before it could send them) are sent now, fenced like any other. Two
copies that disagree on a record stop the run: one line, nothing shifted.

While the database does not answer (a restart mid-stage), records go to the
local file (fsync'd, so the run only ever acts on journaled records) and wait
in order in a buffer, sent as soon as it answers again: none is lost. A
`traffic_fenced` record, the one that lets traffic move, is never only local
once the lease may have lapsed: it then waits for the database (the caller
retries), because only the database can say this controller still holds the
run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.events import Event
from cockpit.run.journal import Journal, JournalError, check_chain, line_of
from cockpit.run.state_store import LeaseLost, StateStore, StateUnavailable

if TYPE_CHECKING:  # the lease opens this journal (RunHolding.open_journal): no import back at run time
    from cockpit.run.lease import Lease, LeaseKeeper

RETRY_EVERY = 1.0  # seconds before the first new attempt while the database is away; doubled up to RETRY_AT_MOST
RETRY_AT_MOST = 5.0  # each attempt may block the run's loop up to [state] timeout when packets are dropped
CLOSE_FLUSH_FOR = 10.0  # how long a finished run keeps trying to send what it buffered


class ReplicatedJournal(Journal):
    """A Journal whose records reach PostgreSQL first; see the module docstring."""

    def __init__(self, path: str | Path, store: StateStore, lease: Lease, keeper: LeaseKeeper,
                 say: Callable[[str, bool], None] | None = None) -> None:
        super().__init__(path)
        self.store = store
        self.lease = lease
        self.keeper = keeper
        self.say: Callable[[str, bool], None] = say or (lambda text, loud=False: None)
        self.pending: list[dict[str, Any]] = []
        self.buffered_total = 0
        self._retry_at = 0.0
        self._retry_after = RETRY_EVERY
        self._away_since: float | None = None
        self._reconcile(store.records(lease.version))

    # ------------------------------------------------------------------ opening

    def _reconcile(self, remote: list[dict[str, Any]]) -> None:
        problem = check_chain(remote)
        if problem is not None:
            raise JournalError(f"the state database's journal of {self.store.service}/{self.lease.version}: {problem}: "
                               "refusing to continue it")
        local = self.records
        for index in range(min(len(local), len(remote))):
            if local[index]["hash"] != remote[index]["hash"]:
                raise JournalError(f"{self.path}: record {index + 1} differs from the state database's copy: "
                                   "the two journals of this run disagree; refusing to continue it")
        for record in remote[len(local):]:
            self.write(record)
        self.pending = list(local[len(remote):])
        if self.pending:
            self.say(f"sending {len(self.pending)} record(s) the state database lacks (written while it was away)", False)
            self._flush(force=True)

    # ------------------------------------------------------------------ writing

    def append(self, event: str, ts: float, **fields: Any) -> dict[str, Any]:
        """Commit the record to the database (fenced), then to the file; buffered while the database is away."""
        if self.keeper.lost is not None:
            raise LeaseLost(self.keeper.lost)
        record = self.prepare(event, ts, **fields)
        try:
            self._flush()
            self._commit(record)
        except StateUnavailable as exc:
            if event == Event.TRAFFIC_FENCED and not self.keeper.valid_locally():
                raise StateUnavailable(f"{exc}: traffic waits for it (the lease may have lapsed)") from None
            if self._away_since is None:
                self._away_since = time.monotonic()
                self.say(f"STATE DATABASE AWAY ({exc}): records are kept in the local journal and sent when it answers",
                         True)
            self.pending.append(record)
            self.buffered_total += 1
        self.write(record)
        return record

    def _commit(self, record: dict[str, Any]) -> None:
        now = time.monotonic()
        if self._away_since is not None and now < self._retry_at:
            raise StateUnavailable("the state database is still away")
        try:
            self.store.commit(self.lease.version, record, line_of(record).decode().rstrip("\n"), self.lease.token)
        except StateUnavailable:
            self._retry_at = time.monotonic() + self._retry_after
            self._retry_after = min(RETRY_AT_MOST, self._retry_after * 2)
            raise
        self._retry_after = RETRY_EVERY

    def _flush(self, force: bool = False) -> None:
        """Send the buffered records in order; StateUnavailable when the database still does not answer."""
        if not self.pending:
            return
        if force:
            self._retry_at = 0.0
        while self.pending:
            self._commit(self.pending[0])
            self.pending.pop(0)
        if self._away_since is not None:
            away = time.monotonic() - self._away_since
            self.say(f"state database back after {away:.1f}s: every buffered record sent", True)
            self._away_since = None

    def flush_at_close(self) -> str | None:
        """Try to send what is left for a while; a sentence about what stays local, or None."""
        deadline = time.monotonic() + CLOSE_FLUSH_FOR
        while self.pending:
            try:
                self._flush(force=True)
            except StateUnavailable:
                if time.monotonic() >= deadline:
                    return (f"{len(self.pending)} record(s) are only in the local journal {self.path}: the state database "
                            "did not answer; the next start of this run on this host sends them")
                time.sleep(0.5)
            except LeaseLost as lost:
                return f"{len(self.pending)} record(s) were not sent: {lost.message}"
        return None
