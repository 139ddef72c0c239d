"""What every run that writes a release's journal shares: the canary run and the first night are built on it.

One process at a time writes a release's journal (the run lock). Every record
goes through `emit`: each field passes the evidence store's redactor (DSN
passwords, bearer tokens never reach the journal), the record is appended
(fsync'd; with `[state] dsn` committed to PostgreSQL first, fenced by the run's
lease: cockpit.run.replicated_journal), folded into the run's state, handed to the event sink and offered to
the notifier. A webhook that gave up is journaled as `notify_failed` while the
run still writes records, and said loudly after. Background tasks (evidence
collected off the run's path) are awaited, within bounds, before the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from cockpit.clock import Clock
from cockpit.events import Event
from cockpit.evidence import EvidenceStore
from cockpit.run.journal import JOURNAL_NAME, Journal, JournalError
from cockpit.run.lock import RunLock, RunLockHeld
from cockpit.run.sinks import EventSink

Say = Callable[[str, bool], None]  # (text, loud): progress for the person running it

BACKGROUND_TIMEOUT = 60.0  # how long a finished run waits for its background tasks before cancelling them


class JournaledRun:
    """The run lock, the journal, `emit`, `say`, the notifier's failures and background tasks of one release's run."""

    def __init__(
        self,
        version: str,
        *,
        clock: Clock,
        store: EvidenceStore,
        sink: EventSink | None = None,
        notifier: Any = None,
        say: Say | None = None,
        holding: Any = None,
    ) -> None:
        self.version = version
        self.holding = holding  # a cockpit.run.lease.RunHolding with [state] dsn: the journal goes to PostgreSQL too
        self.clock = clock
        self.store = store
        self.sink = sink
        self.notifier = notifier
        self._say = say or (lambda text, loud=False: None)
        self.journal_path = store.dir / JOURNAL_NAME
        self.journal: Journal | None = None
        self._lock = RunLock(store.dir)
        self._background: set[asyncio.Task[None]] = set()
        self._writing = False  # the journal is open and the run has not written its last record

    # ------------------------------------------------------------------ what each run says its own way

    def refuse(self, message: str) -> Exception:
        """The run's one-line error for `message` (the run cannot start or go on)."""
        raise NotImplementedError

    def lock_held(self, holder: str) -> str:
        """What a second process is told while `holder` (a pid) writes this release's journal."""
        raise NotImplementedError

    def open_journal(self) -> Journal:
        """The release's journal, opened for appending (a run may keep fewer of its records in memory)."""
        if self.holding is not None:  # [state] dsn: every record is committed to PostgreSQL (fenced) first
            return self.holding.open_journal(self.journal_path, say=self.say)  # type: ignore[no-any-return]
        return Journal(self.journal_path)

    def fold(self, record: dict[str, Any]) -> None:
        """Fold a record just written into the run's state (nothing to fold by default)."""

    def offer(self, record: dict[str, Any]) -> None:
        """Offer a record just written to the notifier: every one by default (the notifier filters)."""
        self.page(record)

    def record_context(self) -> dict[str, Any]:
        """Fields the run's own records carry besides what the event says (the first night's phase)."""
        return {}

    # ------------------------------------------------------------------ lifecycle

    @contextlib.contextmanager
    def journal_open(self) -> Iterator[Journal]:
        """Hold the run lock and the journal open; on the way out close the journal, record it, release the lock."""
        self.store.dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except RunLockHeld as held:
            raise self.refuse(self.lock_held(held.holder)) from None
        try:
            try:
                self.journal = self.open_journal()
            except JournalError as exc:
                raise self.refuse(str(exc)) from None
            self._writing = True
            yield self.journal
        finally:
            self._writing = False
            if self.journal is not None:
                self.journal.close()
                with contextlib.suppress(Exception):
                    self.store.record(JOURNAL_NAME)
            self._lock.release()

    def stop_writing(self) -> None:
        """The run wrote its last record: what arrives after (a webhook's failure) is said, not journaled."""
        self._writing = False

    def take_notifier_failures(self) -> None:
        """Have the notifier report the webhooks it gave up on to this run."""
        if self.notifier is not None:
            self.notifier.on_failure = self.notify_failed

    # ------------------------------------------------------------------ records

    def emit(self, event: Event, **fields: Any) -> dict[str, Any]:
        """Journal a record (redacted, fsync'd), fold it into the state, hand it to the sink and the notifier."""
        assert self.journal is not None
        record = self.journal.append(Event(event).value, self.clock.now(), **self.scrubbed(fields))
        self.fold(record)
        if self.sink is not None:
            try:
                self.sink.emit(record)
            except Exception as exc:  # a broken viewer never stops the run
                self.say(f"event sink failed: {exc}", loud=True)
        self.offer(record)
        return record

    async def fence_traffic(self, action: str, stage: int, weight: float) -> None:
        """With [state] dsn, right before traffic moves: journal the fencing token in the same transaction as its check.

        A controller that lost the lease gets LeaseLost here and moves nothing. While the database is away
        and the lease may have lapsed, the move waits for it (said once).
        """
        if self.holding is None:
            return
        from cockpit.run.state_store import StateUnavailable

        told = False
        while True:
            try:
                self.emit(Event.TRAFFIC_FENCED, action=action, stage=stage, weight=weight, token=self.holding.token)
                return
            except StateUnavailable as exc:
                if not told:
                    self.say(f"traffic {action} at stage {stage} waits for the state database: {exc}", loud=True)
                    told = True
                await asyncio.sleep(1.0)

    def scrubbed(self, value: Any) -> Any:
        """No secret reaches the journal: every text passes the store's redactor (DSN passwords, tokens)."""
        if isinstance(value, str):
            return self.store.redactor.scrub(value)
        if isinstance(value, dict):
            return {k: self.scrubbed(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scrubbed(v) for v in value]
        return value

    def page(self, record: dict[str, Any]) -> None:
        """Hand a record to the notifier; it never blocks, and a failing one never stops the run."""
        if self.notifier is None:
            return
        try:
            self.notifier.emit(record)
        except Exception as exc:
            self.say(f"notifier failed: {type(exc).__name__}: {exc}", loud=True)

    def notify_failed(self, fields: dict[str, Any]) -> None:
        """A webhook gave up: journal it while the run writes records, else say it loudly."""
        try:
            if self.journal is not None and self._writing:
                self.emit(Event.NOTIFY_FAILED, **self.record_context(), **fields)
                return
        except Exception:
            pass
        self.say(f"notification to {fields.get('target')} failed: {fields.get('error')}", loud=True)

    def say(self, text: str, loud: bool = False) -> None:
        """A progress line for the person running it; a failing printer never stops the run."""
        with contextlib.suppress(Exception):
            self._say(text, loud)

    # ------------------------------------------------------------------ background tasks

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` beside the run; it is awaited (or cancelled) before the run ends."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def finish_background(self) -> None:
        """Wait for the background tasks, up to BACKGROUND_TIMEOUT; cancel what is left."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=BACKGROUND_TIMEOUT)
            for task in list(self._background):
                task.cancel()
