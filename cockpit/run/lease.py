"""The lease that says which controller may drive a run, and the standby that waits for it.

A controller takes the run's lease row (host, pid, a fencing token) before it
writes a record, and a keeper thread renews it every `renew_every` (default
lease_ttl / 3) on its own connection, so a busy event loop does not lose it.
The token grows with every new holder; every journal insert checks it in its
own transaction (cockpit.run.state_store), so a holder that comes back after a
pause past its TTL finds another token there and steps down before it moves
any traffic.

While the database does not answer, the holder knows its lease stays its own
until the last renewal it sent plus the TTL (no standby can take a lease
before it lapses in the database, and the database cannot lapse it sooner):
`valid_locally` is that bound, with a margin for clock rates.

`cockpit canary VERSION --standby` waits (`wait_for_lease`) until the lease
lapses or is released, then takes it and resumes the run from the database's
journal.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.config import StateConfig
from cockpit.events import Event
from cockpit.redaction import Redactor
from cockpit.run.state_store import LeaseRow, StateError, StateStore, StateUnavailable

# How much of the TTL the holder gives up for itself when the database does not answer (clock rates, latency).
LOCAL_MARGIN = 0.2


@dataclass
class Lease:
    """This controller's hold on a run: its token, and whom it took the run from."""

    service: str
    version: str
    holder: str
    host: str
    pid: int
    token: int
    previous: LeaseRow | None  # the holder before (None: the first), as the database had it when taken
    waited_s: float = 0.0  # how long a standby waited for it

    @property
    def taken_over(self) -> bool:
        return self.previous is not None


def holder_identity() -> tuple[str, str, int]:
    """(holder id, host, pid): the id tells two controllers on one host apart."""
    host = socket.gethostname()
    pid = os.getpid()
    return f"{host}:{pid}:{uuid.uuid4().hex[:8]}", host, pid


def acquire(store: StateStore, version: str) -> tuple[Lease | None, LeaseRow | None]:
    """Take the run's lease now if it is free: (lease, None), or (None, the live holder's row)."""
    holder, host, pid = holder_identity()
    token, previous = store.try_acquire(version, holder, host, pid)
    if token is None:
        return None, previous
    return Lease(store.service, version, holder, host, pid, token, previous), None


def wait_for_lease(store: StateStore, version: str, *, say: Callable[[str], None],
                   poll: float | None = None) -> Lease:
    """Wait until the run's lease is free, then take it (the standby). Says who holds it while it waits."""
    holder, host, pid = holder_identity()
    ttl = float(store.config.lease_ttl)
    poll = poll if poll is not None else min(1.0, ttl / 10)
    started = time.monotonic()
    told: tuple[str, int] | None = None
    unreachable = False
    while True:
        try:
            token, current = store.try_acquire(version, holder, host, pid)
        except StateUnavailable as exc:
            if not unreachable:
                say(f"standby: {exc}; still waiting")
            unreachable = True
            time.sleep(max(poll, 1.0))
            continue
        if unreachable:
            say("standby: the state database answers again")
            unreachable = False
        if token is not None:
            return Lease(store.service, version, holder, host, pid, token, current, time.monotonic() - started)
        if current is not None and told != (current.holder, current.token):
            told = (current.holder, current.token)
            say(f"standby for {store.service}/{version}: the run is held by {current.who()} (token {current.token}), "
                f"renewed {current.renewed_ago:.1f}s ago; taking over if its lease lapses ({ttl:g}s)")
        # Ask again when the lease would lapse, if that is sooner than the next poll: the takeover loses no poll.
        lapses_in = current.expires_in if current is not None else poll
        time.sleep(min(poll, max(0.02, lapses_in + 0.01)))


class LeaseKeeper(threading.Thread):
    """Renews a lease every `renew_every` on its own connection until stopped, or until it is lost."""

    def __init__(self, config: StateConfig, redactor: Redactor, lease: Lease, evidence: Any = None) -> None:
        super().__init__(name=f"lease-keeper-{lease.version}", daemon=True)
        self.evidence = evidence  # a cockpit.run.state_evidence.EvidenceSync: changed files sent after each renewal
        self.config = config
        self.redactor = redactor
        self.lease = lease
        self.ttl = float(config.lease_ttl)
        self.every = config.renew_interval
        self._stop_event = threading.Event()
        self.lost: str | None = None  # why the lease is no longer this controller's
        self._valid_until = time.monotonic() + self.ttl * (1 - LOCAL_MARGIN)  # taken just now
        self.renewals = 0
        self.failures = 0

    def valid_locally(self) -> bool:
        """Whether the lease is certainly still this controller's, without asking the database."""
        return self.lost is None and time.monotonic() < self._valid_until

    def run(self) -> None:
        store = StateStore(self.config, self.redactor)
        try:
            while not self._stop_event.wait(self.every):
                sent = time.monotonic()
                try:
                    if store.renew(self.lease.version, self.lease.token):
                        self._valid_until = sent + self.ttl * (1 - LOCAL_MARGIN)
                        self.renewals += 1
                        self._send_evidence(store)
                    else:
                        self.lost = f"the lease of {self.lease.service}/{self.lease.version} was taken by another controller"
                        return
                except (StateUnavailable, StateError):
                    self.failures += 1  # the database is away: the lease holds until valid_until, then fencing decides
                except Exception:
                    self.failures += 1
        finally:
            store.close()

    def _send_evidence(self, store: StateStore) -> None:
        """The evidence written since the last renewal, to the database; a failure is retried next time."""
        if self.evidence is None:
            return
        try:
            self.evidence.push(store)
        except Exception:
            self.failures += 1

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout=self.every + float(self.config.timeout) + 1)


class RunHolding:
    """What a run holding a lease carries: the store, the lease, its keeper; handed to the canary run."""

    def __init__(self, store: StateStore, lease: Lease, keeper: LeaseKeeper) -> None:
        self.store = store
        self.lease = lease
        self.keeper = keeper
        self.journal: Any = None
        self.inbox: Any = None

    @property
    def token(self) -> int:
        return self.lease.token

    def open_journal(self, path: Any, say: Callable[[str, bool], None] | None = None) -> Any:
        """The replicated journal: every record committed (fenced) to the database, then to the local file.

        Opened again on the same file (the canary's hand-over to its night), the new journal carries on the old
        one's buffer: the database need not answer at that moment.
        """
        from cockpit.run.replicated_journal import ReplicatedJournal

        before = self.journal
        carried = before if before is not None and Path(before.path) == Path(path) else None
        self.journal = ReplicatedJournal(path, self.store, self.lease, self.keeper, say=say, carried=carried)
        return self.journal

    def announce(self, run: Any, stage: int, weight: float, **context: Any) -> str | None:
        """A standby that took the run over says so: journaled (with `context`: the night's phase and hour), on screen.

        Returns the sentence for the run's own log (the war room, the night's hour), None when nothing was taken over.
        """
        previous = self.lease.previous
        if previous is None:
            return None
        how = "released it" if previous.released else f"lease lapsed {max(0.0, -previous.expires_in):.1f}s ago"
        run.emit(Event.LEASE_TAKEN, stage=stage, weight=weight, token=self.lease.token, host=self.lease.host,
                 pid=self.lease.pid, previous_host=previous.host, previous_pid=previous.pid,
                 previous_token=previous.token, released=previous.released,
                 lapsed_s=round(max(0.0, -previous.expires_in), 3), waited_s=round(self.lease.waited_s, 3), **context)
        text = (f"TAKEN OVER by host {self.lease.host} pid {self.lease.pid} (token {self.lease.token}) from "
                f"{previous.who()}: {how}")
        run.say(text, loud=True)
        return text

    def open_inbox(self, run: Any) -> None:
        """Take `cockpit ctl --from-state` commands for this run, answered by the run's operator desk."""
        from cockpit.run.state_commands import CommandInbox

        self.inbox = CommandInbox(self.store.config, self.store.redactor, self.lease.version, self.lease.token,
                                  run.operator.on_command)
        self.inbox.start()

    async def close_inbox(self) -> None:
        if self.inbox is not None:
            await self.inbox.stop()
            self.inbox = None

    def close(self, *, release: bool) -> str | None:
        """Stop renewing; flush what the journal still buffers; release the lease when asked. Says what is left."""
        left: str | None = None
        if self.journal is not None:
            left = self.journal.flush_at_close()
        self.keeper.stop()
        if release and self.keeper.lost is None:
            try:
                self.store.release(self.lease.version, self.lease.token)
            except Exception:
                pass  # the lease lapses by itself after its TTL
        self.store.close()
        return left


def hold(config: StateConfig, redactor: Redactor, store: StateStore, lease: Lease, evidence: Any = None) -> RunHolding:
    """Start renewing `lease` (and sending `evidence`, an EvidenceSync, as it changes); what the run carries."""
    keeper = LeaseKeeper(config, redactor, lease, evidence)
    keeper.start()
    return RunHolding(store, lease, keeper)
