"""`cockpit ctl --from-state`: operator commands for a run's holder, through the state database.

A command is a row in `cockpit.commands` (the request, the sender's login and
host, the database role that inserted it, an expiry) and a notification on
`cockpit_ctl`. The holder's inbox (an asyncio task beside the control socket)
listens, takes each waiting command of its run, hands it to the same operator
desk the socket uses (so it is journaled and audited the same way, the sender
named `login@host`), and writes the answer, notifying `cockpit_ctl_answer`.
A command nobody answered before its expiry is never run later: a stale
"promote" must not fire when a standby takes over a minute after.

Who may command a run through the database is who may INSERT into
`cockpit.commands`: grant that to the release team's role only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cockpit.config import StateConfig
from cockpit.redaction import Redactor
from cockpit.run.state_store import ANSWER_CHANNEL, COMMAND_CHANNEL, LeaseLost, StateStore

Handler = Callable[[dict[str, Any], Any], Awaitable[dict[str, Any]]]
RECONNECT_AT_MOST = 5.0


@dataclass(frozen=True)
class RemotePeer:
    """The sender of a command through the database: its login and host as it said, the role PostgreSQL saw."""

    login: str
    host: str
    role: str

    @property
    def user(self) -> str:
        return f"{self.login}@{self.host}"


class CommandInbox:
    """The holder's side: takes its run's commands from the database and answers them."""

    def __init__(self, config: StateConfig, redactor: Redactor, version: str, token: int, handler: Handler) -> None:
        self.config = config
        self.redactor = redactor
        self.version = version
        self.token = token
        self.handler = handler
        self._store = StateStore(config, redactor)  # only to open the inbox's own connections
        self._task: asyncio.Task[None] | None = None
        self._taken: set[int] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self.answered = 0
        self.error: str | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._serve())

    async def stop(self) -> None:
        for task in [self._task, *self._handlers]:
            if task is not None:
                task.cancel()
        for task in [self._task, *self._handlers]:
            if task is not None:
                with contextlib.suppress(BaseException):
                    await task

    async def _connect(self) -> Any:
        return await self._store.async_connection()

    async def _serve(self) -> None:
        delay = 0.5
        prefix = f"{self.config.service}/{self.version}/"
        while True:
            listener = worker = None
            try:
                listener = await self._connect()
                worker = await self._connect()
                await listener.execute(f"LISTEN {COMMAND_CHANNEL}")
                await self._take(worker)  # what waited before the LISTEN
                self.error = None
                delay = 0.5
                async for notify in listener.notifies():
                    if notify.payload.startswith(prefix):
                        await self._take(worker)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: listen again, and take what waited meanwhile
                self.error = self.redactor.scrub(f"{type(exc).__name__}: {exc}")
            finally:
                for conn in (listener, worker):
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            await conn.close()
            await asyncio.sleep(delay)
            delay = min(RECONNECT_AT_MOST, delay * 2)

    async def _take(self, worker: Any) -> None:
        cursor = await worker.execute(
            "SELECT id, request, login, host, role FROM cockpit.commands WHERE service = %s AND version = %s "
            "AND answered_at IS NULL AND expires_at > clock_timestamp() ORDER BY id",
            (self.config.service, self.version))
        for ident, request, login, host, role in await cursor.fetchall():
            if ident in self._taken:
                continue
            self._taken.add(ident)
            task = asyncio.create_task(self._answer(worker, int(ident), request, RemotePeer(login, host, role)))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)

    async def _answer(self, worker: Any, ident: int, text: str, peer: RemotePeer) -> None:
        try:
            request = json.loads(text)
            reply = await self.handler(request, peer) if isinstance(request, dict) else {"ok": False, "error": "not a JSON object"}
        except LeaseLost as lost:
            reply = {"ok": False, "error": f"the controller that took it lost the run's lease: {lost.message}"}
        except Exception as exc:  # a handler bug must not take the run down: the sender hears of it
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        with contextlib.suppress(Exception):
            await worker.execute(
                "UPDATE cockpit.commands SET answered_at = clock_timestamp(), answer = %s, token = %s "
                "WHERE id = %s AND answered_at IS NULL",
                (json.dumps(reply, ensure_ascii=False, default=str), self.token, ident))
            await worker.execute("SELECT pg_notify(%s, %s)", (ANSWER_CHANNEL, str(ident)))
            self.answered += 1


def send_and_wait(config: StateConfig, redactor: Redactor, version: str, request: dict[str, Any],
                  timeout: float) -> dict[str, Any]:
    """The sender's side: queue the command, wait (LISTEN) for the holder's answer. UnavailableError-kind errors."""
    import getpass
    import socket
    import time

    from cockpit.run.control import ControlError
    from cockpit.run.state_store import StateError

    try:
        store = StateStore(config, redactor).connect()
    except StateError as exc:
        raise ControlError(str(exc)) from None
    listener = None
    try:
        lease = store.lease(version)
        if lease is None or lease.lapsed:
            why = "no controller ever held it" if lease is None else (
                "its last holder released it" if lease.released else f"its lease lapsed {-lease.expires_in:.0f}s ago")
            raise ControlError(f"no controller holds {config.service}/{version}: {why}")
        try:
            listener = store.listener("cockpit-ctl")
            listener.execute(f"LISTEN {ANSWER_CHANNEL}")
        except Exception as exc:
            raise ControlError(f"the state database is unreachable: {redactor.scrub(str(exc))}") from None
        ident = store.send_command(version, request, getpass.getuser(), socket.gethostname(), timeout)
        deadline = time.monotonic() + timeout
        while True:
            answer = store.answer_of(ident)
            if answer is not None:
                return answer
            left = deadline - time.monotonic()
            if left <= 0:
                raise ControlError(f"no answer from the holder of {config.service}/{version} ({lease.who()}) "
                                   f"within {timeout:g}s; the command expires unanswered")
            for notify in listener.notifies(timeout=min(left, 1.0)):
                if notify.payload == str(ident):
                    break
    finally:
        if listener is not None:
            listener.close()
        store.close()
