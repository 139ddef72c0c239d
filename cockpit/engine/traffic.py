"""Moving traffic: a command template run as an argument list, or an HTTP webhook, retried with backoff.

A template is an argument list whose arguments may hold {weight}, {version},
{stage} and {action}; each argument is filled in on its own and the list goes
straight to exec (never a shell), so a value can never become a second command.
A shift or rollback is `ok` only when an attempt succeeded (exit 0, HTTP 2xx)
and, when a read-back is configured, the traffic system then says the weight is
the one asked for (cockpit/engine/read_back.py); a failure after every retry, or
a weight that does not read back, is reported as such, never as done.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from cockpit.clock import Clock, SystemClock
from cockpit.config import ConfigError, TrafficConfig
from cockpit.engine.attempt import OUTPUT_LIMIT, AttemptRecord
from cockpit.format import format_weight
from cockpit.redaction import Redactor

if TYPE_CHECKING:
    from cockpit.engine.read_back import ReadBack, WeightReader

# {stable_weight} is 100 - {weight}: what the stable side gets where both weights are set (Gateway API).
PLACEHOLDERS = ("weight", "stable_weight", "version", "stage", "action")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_BACKOFF = 60.0


def check_template(argv: list[str], key: str) -> None:
    """Raise ConfigError for a placeholder the cockpit does not fill (it would reach the command as text)."""
    for index, arg in enumerate(argv):
        for name in _PLACEHOLDER.findall(arg):
            if name not in PLACEHOLDERS:
                known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                raise ConfigError(f"{key}[{index}]: unknown placeholder {{{name}}} (the cockpit fills {known})")


def render_template(argv: list[str], values: dict[str, str]) -> list[str]:
    """Fill placeholders argument by argument; the result is still one argument per item."""
    return [_PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), arg) for arg in argv]


@dataclass
class TrafficResult:
    """A shift or a rollback: done only if `ok`."""

    ok: bool
    action: str  # "shift" | "rollback"
    weight: float
    target: str  # the command as run (secrets scrubbed) or the webhook URL
    started_at: float  # clock time the first attempt started
    ended_at: float
    duration_s: float
    attempts: list[AttemptRecord] = field(default_factory=list)
    error: str | None = None
    read_back: ReadBack | None = None  # what the traffic system said afterwards
    not_read_back: str = ""  # why there is no read-back (none configured, the command failed)

    @property
    def attempt_count(self) -> int:
        return len(self.attempts)

    @property
    def read_back_text(self) -> str:
        """"read back 5% after 0.3s (1 read(s))", "read back 0% after 30s, expected 5%" or why not read back."""
        if self.read_back is not None:
            return self.read_back.as_text()
        from cockpit.engine.read_back import NOT_CONFIGURED

        return self.not_read_back or NOT_CONFIGURED

    def as_text(self) -> str:
        """The result as evidence: what ran, every attempt, its output."""
        from cockpit.clock import iso_utc

        lines = [
            f"action:    {self.action} to {format_weight(self.weight)}",
            f"target:    {self.target}",
            f"result:    {'OK' if self.ok else 'FAILED'}" + (f" ({self.error})" if self.error else ""),
            f"started:   {iso_utc(self.started_at)}",
            f"ended:     {iso_utc(self.ended_at)}",
            f"attempts:  {self.attempt_count}",
            f"read back: {self.read_back_text}" + (f" from {self.read_back.source}" if self.read_back else ""),
        ]
        for record in self.attempts:
            lines.append(f"- attempt {record.attempt} at {iso_utc(record.started_at)}: {record.detail} in {record.duration_s:.3f}s")
            for label, text in (("stdout", record.stdout), ("stderr", record.stderr)):
                if text.strip():
                    lines.append(f"  {label}:")
                    lines.extend(f"    {line}" for line in text.rstrip("\n").splitlines())
        return "\n".join(lines) + "\n"


def rollback_fields(result: TrafficResult, decided_at: float | None, decided_perf: float | None) -> dict[str, Any]:
    """A rollback_done record's fields: what ran, when, and decision→command (by the clock, and measured here)."""
    first = result.attempts[0] if result.attempts else None
    lag_ms = round((result.started_at - decided_at) * 1000, 3) if decided_at is not None else None
    wall_ms = round((first.started_perf - decided_perf) * 1000, 3) if first and decided_perf and first.started_perf else None
    return {"ok": result.ok, "attempts": result.attempt_count, "decided_at": decided_at,
            "command_started_at": result.started_at, "command_ended_at": result.ended_at,
            "decision_to_command_ms": lag_ms, "decision_to_command_wall_ms": wall_ms, "error": result.error,
            "target": result.target, "read_back": result.read_back_text,
            "read_back_weight": result.read_back.value if result.read_back else None}


def rollback_evidence(title: str, why: str, result: TrafficResult, done: dict[str, Any], first_seen: str | None = None) -> str:
    """The rollback's evidence file: why, when (decided, command started and ended, first seen bad), then the result."""
    from cockpit.clock import iso_utc

    decided_at = done.get("decided_at")
    lines = [f"# {title}", f"why:              {why}"]
    if first_seen is not None:
        lines.append(f"first seen bad:   {first_seen}")
    lines += [
        f"decided:          {iso_utc(decided_at) if decided_at is not None else '?'}",
        f"command started:  {iso_utc(result.started_at)}",
        f"command ended:    {iso_utc(result.ended_at)}",
        f"decision→command: {done.get('decision_to_command_ms')} ms (clock), "
        f"{done.get('decision_to_command_wall_ms')} ms (measured in this process)",
        f"read back:        {result.read_back_text}",
        "",
    ]
    return "\n".join(lines) + result.as_text()


class TrafficAdapter(Protocol):
    """What the canary runner needs from whatever moves traffic."""

    def describe(self) -> str: ...

    async def shift(self, weight: float, version: str, stage: int) -> TrafficResult: ...

    async def rollback(self, version: str, stage: int, weight: float) -> TrafficResult: ...


class Mover(Protocol):
    target: str

    async def attempt(self, action: str, weight: float, version: str, stage: int, number: int, clock: Clock) -> AttemptRecord: ...


async def _read_bounded(stream: asyncio.StreamReader | None, limit: int) -> str:
    """Read a pipe to its end, keeping the first `limit` bytes (a chatty command cannot fill memory)."""
    if stream is None:
        return ""
    kept, dropped = bytearray(), 0
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            break
        room = limit - len(kept)
        kept += chunk[:room]
        dropped += max(0, len(chunk) - room)
    text = kept.decode("utf-8", errors="replace")
    return text + (f"\n… ({dropped} more bytes not kept)" if dropped else "")


def _kill_group(process: asyncio.subprocess.Process) -> None:
    # The command runs in its own session: kill its whole group, so no grandchild keeps running.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            process.kill()
        except ProcessLookupError:
            pass


class CommandTemplate:
    """An argument-list command with placeholders."""

    def __init__(self, argv: list[str], key: str, timeout: float, redactor: Redactor | None = None) -> None:
        check_template(argv, key)
        self.argv = list(argv)
        self.timeout = timeout
        self.redactor = redactor or Redactor()
        self.target = self.redactor.scrub(" ".join(argv))

    def render(self, action: str, weight: float, version: str, stage: int) -> list[str]:
        values = {"weight": format_weight(weight, percent=False), "stable_weight": format_weight(100 - weight, percent=False),
                  "version": version, "stage": str(stage), "action": action}
        return render_template(self.argv, values)

    async def attempt(self, action: str, weight: float, version: str, stage: int, number: int, clock: Clock) -> AttemptRecord:
        argv = self.render(action, weight, version, stage)
        started_at, t0 = clock.now(), time.perf_counter()

        def done(ok: bool, detail: str, out: str = "", err: str = "") -> AttemptRecord:
            scrub = self.redactor.scrub
            return AttemptRecord(number, started_at, time.perf_counter() - t0, ok, scrub(detail), scrub(out), scrub(err), t0)

        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except FileNotFoundError:
            return done(False, f"command not found: {argv[0]}")
        except PermissionError:
            return done(False, f"permission denied running {argv[0]}")
        except OSError as exc:
            return done(False, f"could not start {argv[0]}: {exc.strerror or exc}")
        readers = asyncio.gather(_read_bounded(process.stdout, OUTPUT_LIMIT), _read_bounded(process.stderr, OUTPUT_LIMIT))
        try:
            try:
                code = await asyncio.wait_for(process.wait(), timeout=self.timeout)
            except TimeoutError:
                _kill_group(process)
                await process.wait()
                out, err = await self._collect(readers)
                return done(False, f"timed out after {self.timeout:g}s (killed)", out, err)
        except asyncio.CancelledError:
            # A rollback interrupted this shift: do not leave the command running.
            _kill_group(process)
            readers.cancel()
            raise
        out, err = await self._collect(readers)
        return done(code == 0, f"exit {code}", out, err)

    async def _collect(self, readers: asyncio.Future[tuple[str, str]]) -> tuple[str, str]:
        # A grandchild may hold the pipes open after the command exited; do not wait on it for long.
        try:
            out, err = await asyncio.wait_for(readers, timeout=2.0)
            return out, err
        except TimeoutError:
            return "", "(output not collected: the pipes stayed open after the command ended)"


class Webhook:
    """An HTTP endpoint that moves traffic: POST {version, weight, action, stage} as JSON."""

    def __init__(self, url: str, timeout: float, redactor: Redactor | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"traffic.webhook: {url!r} is not an http:// or https:// URL")
        self.url = url
        self.timeout = timeout
        self.redactor = redactor or Redactor()
        self.target = f"POST {self.redactor.scrub(url)}"

    async def attempt(self, action: str, weight: float, version: str, stage: int, number: int, clock: Clock) -> AttemptRecord:
        import httpx  # lazily: start-up time

        payload = {"version": version, "weight": weight, "action": action, "stage": stage}
        started_at, t0 = clock.now(), time.perf_counter()

        def done(ok: bool, detail: str, body: str = "") -> AttemptRecord:
            scrub = self.redactor.scrub
            return AttemptRecord(number, started_at, time.perf_counter() - t0, ok, scrub(detail), scrub(body), "", t0)

        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(self.url, json=payload)
        except httpx.TimeoutException:
            return done(False, f"timed out after {self.timeout:g}s")
        except httpx.HTTPError as exc:
            return done(False, f"cannot reach the webhook: {type(exc).__name__}: {exc}")
        body = response.text[:OUTPUT_LIMIT]
        return done(200 <= response.status_code < 300, f"HTTP {response.status_code}", body)


class ConfiguredTraffic:
    """Shift and rollback movers with the retry policy of [traffic]."""

    def __init__(
        self,
        shift: Mover,
        rollback: Mover,
        *,
        retries: int = 3,
        backoff: float = 1.0,
        clock: Clock | None = None,
        rollback_weight: float = 0.0,
        on_attempt: Callable[[str, AttemptRecord, int], None] | None = None,
        reader: WeightReader | None = None,
        read_timeout: float = 30.0,
        read_interval: float = 1.0,
        read_tolerance: float = 0.0,
    ) -> None:
        self.shift_mover = shift
        self.rollback_mover = rollback
        self.retries = retries
        self.backoff = backoff
        self.clock = clock or SystemClock()
        self.rollback_weight = rollback_weight
        self.on_attempt = on_attempt  # (action, record, attempts allowed): the runner shows failures at once
        self.reader = reader
        self.read_timeout = read_timeout
        self.read_interval = read_interval
        self.read_tolerance = read_tolerance

    def describe(self) -> str:
        read = f"read back: {self.reader.target}" if self.reader is not None else "not read back"
        return f"shift: {self.shift_mover.target}; rollback: {self.rollback_mover.target}; {read}"

    async def shift(self, weight: float, version: str, stage: int) -> TrafficResult:
        return await self._run(self.shift_mover, "shift", weight, version, stage)

    async def rollback(self, version: str, stage: int, weight: float) -> TrafficResult:
        # The rollback puts the canary's weight to 0; `weight` is the stage it is rolled back from.
        return await self._run(self.rollback_mover, "rollback", self.rollback_weight, version, stage)

    async def _run(self, mover: Mover, action: str, weight: float, version: str, stage: int) -> TrafficResult:
        started_at, t0 = self.clock.now(), time.perf_counter()
        allowed = self.retries + 1
        records: list[AttemptRecord] = []
        for number in range(1, allowed + 1):
            record = await mover.attempt(action, weight, version, stage, number, self.clock)
            records.append(record)
            if self.on_attempt is not None:
                self.on_attempt(action, record, allowed)
            if record.ok:
                break
            if number < allowed:
                await self.clock.sleep(min(self.backoff * 2 ** (number - 1), MAX_BACKOFF))
        ok = bool(records) and records[-1].ok
        error = None if ok else f"{action} failed after {len(records)} attempt(s): {records[-1].detail}"
        checked, unread = None, ""
        if self.reader is not None and ok:
            from cockpit.engine.read_back import read_back

            # The command said it worked; the traffic system has to agree before the move counts as done.
            checked = await read_back(self.reader, weight, version, stage, timeout=self.read_timeout,
                                      interval=self.read_interval, tolerance=self.read_tolerance)
            if not checked.matched:
                ok, error = False, checked.as_text()
        elif self.reader is not None:
            unread = "not read back (the command failed)"
        return TrafficResult(
            ok=ok,
            action=action,
            weight=weight,
            target=mover.target,
            started_at=records[0].started_at if records else started_at,
            ended_at=self.clock.now(),
            duration_s=time.perf_counter() - t0,
            attempts=records,
            error=error,
            read_back=checked,
            not_read_back=unread,
        )


def traffic_from_config(
    config: TrafficConfig,
    *,
    clock: Clock | None = None,
    redactor: Redactor | None = None,
    on_attempt: Callable[[str, AttemptRecord, int], None] | None = None,
) -> ConfiguredTraffic | None:
    """The adapter [traffic] describes, or None when nothing is configured.

    preset "haproxy" sets and reads weights on HAProxy's admin socket; otherwise
    set_weight (a command) or webhook shifts; rollback (a command) rolls back,
    else the webhook with action "rollback", else set_weight with {weight} = 0.
    read_weight (a command) or weight_query (PromQL) reads the weight back.
    """
    read = {"read_timeout": config.read_timeout, "read_interval": config.read_interval,
            "read_tolerance": config.read_tolerance}
    if config.preset == "haproxy" and config.haproxy is not None:
        from cockpit.engine.haproxy import HAProxyRuntime, ServersState

        runtime = HAProxyRuntime(config.haproxy, config.timeout)
        return ConfiguredTraffic(runtime, runtime, retries=config.retries, backoff=config.backoff, clock=clock,
                                 on_attempt=on_attempt, reader=ServersState(runtime), **read)
    if config.set_weight is None and config.webhook is None:
        if config.rollback is not None:
            raise ConfigError("traffic.rollback: nothing shifts traffic: add traffic.set_weight or traffic.webhook")
        if config.read_weight is not None or config.weight_query is not None:
            key = "read_weight" if config.read_weight is not None else "weight_query"
            raise ConfigError(f"traffic.{key}: nothing shifts traffic: add traffic.set_weight or traffic.webhook")
        return None
    webhook = Webhook(config.webhook, config.timeout, redactor) if config.webhook else None
    shift: Any = (
        CommandTemplate(config.set_weight, "traffic.set_weight", config.timeout, redactor)
        if config.set_weight is not None
        else webhook
    )
    if config.rollback is not None:
        rollback: Any = CommandTemplate(config.rollback, "traffic.rollback", config.timeout, redactor)
    else:
        rollback = webhook or shift
    return ConfiguredTraffic(
        shift, rollback, retries=config.retries, backoff=config.backoff, clock=clock, on_attempt=on_attempt,
        reader=weight_reader(config, redactor), **read,
    )


def weight_reader(config: TrafficConfig, redactor: Redactor | None = None) -> WeightReader | None:
    """The read-back [traffic] names (read_weight or weight_query), or None."""
    from cockpit.engine.read_back import CommandReader, QueryReader

    if config.read_weight is not None:
        # A read may take no longer than the whole read-back may.
        timeout = min(config.timeout, config.read_timeout) or config.timeout
        return CommandReader(CommandTemplate(config.read_weight, "traffic.read_weight", timeout, redactor))
    if config.weight_query is not None and config.prometheus is not None:
        return QueryReader(config.prometheus, config.weight_query, redactor)
    return None
