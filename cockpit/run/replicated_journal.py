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

A hand-over in one process (the canary going on into its first night, `start
= "auto"`) opens the journal again under the same lease: the new journal takes
the old one's buffer and its view of the database (`carried`) instead of
reading the database's copy, so a database away at that moment is the same
buffering as mid-run, not a stop. Under the same fencing token nobody else can
have written a record, so the local file and the carried buffer say all there
is.
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
                 say: Callable[[str, bool], None] | None = None, carried: ReplicatedJournal | None = None) -> None:
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
        if carried is not None:
            self._carry(carried)
        else:
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
            self._send_now()

    def _carry(self, before: ReplicatedJournal) -> None:
        """Go on from the journal this lease wrote until now (a hand-over): its buffer, its retry state."""
        local = self.records
        tail = local[len(local) - len(before.pending):] if before.pending else []
        if [r["hash"] for r in tail] != [r["hash"] for r in before.pending]:
            raise JournalError(f"{self.path}: the records waiting for the state database are not the journal's last "
                               "ones: the file was changed during the hand-over; refusing to continue it")
        self.pending = list(before.pending)
        self.buffered_total = before.buffered_total
        self._away_since, self._retry_at, self._retry_after = before._away_since, before._retry_at, before._retry_after
        if self.pending:
            self._send_now()

    def _send_now(self) -> None:
        """Try the buffer at once; a database still away keeps it buffered (the next record tries again)."""
        try:
            self._flush(force=True)
        except StateUnavailable as exc:
            self._went_away(exc)

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
            self._went_away(exc)
            self.pending.append(record)
            self.buffered_total += 1
        self.write(record)
        return record

    def _went_away(self, exc: StateUnavailable) -> None:
        """Said once per absence: from now on records wait in the buffer."""
        if self._away_since is None:
            self._away_since = time.monotonic()
            self.say(f"STATE DATABASE AWAY ({exc}): records are kept in the local journal and sent when it answers", True)

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
