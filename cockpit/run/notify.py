"""Webhook notifications: canary events posted as JSON or Slack-compatible text, never in the way of a decision.

`Notifier.emit(record)` only puts the record on a bounded queue (one per
webhook) and returns: a slow or dead webhook can never delay an evaluation or a
rollback. A background task per webhook posts with httpx, retries with
backoff, and hands every notification it could not deliver to `on_failure`
(a run journals it as `notify_failed`). When a queue is full the oldest
notification is dropped and counted. `aclose(timeout)` delivers what it can
within the timeout and reports the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

from cockpit.config import PAGERDUTY_URL, CockpitConfig, NotifyConfig, secret_text
from cockpit.events import Event
from cockpit.format import MISSING, format_clock, format_duration, format_value, format_weight
from cockpit.redaction import Redactor

DEFAULT_QUEUE_SIZE = 100
MAX_TEXT = 600  # one line a phone shows without "show more"
_RETRY_STATUS = {408, 425, 429}
_RETRY_AFTER_STATUS = {429, 503}  # answers whose Retry-After says when to come back
_STOP = object()

Failure = Callable[[dict[str, Any]], None]

_log = logging.getLogger("cockpit.run.notify")


# ---------------------------------------------------------------- one line per event


def _where(record: Mapping[str, Any]) -> str:
    return f"stage {record.get('stage', MISSING)} ({format_weight(record.get('weight'))})"


def reason_text(reason: Mapping[str, Any], units: Mapping[str, str] | None = None) -> str:
    """A reason in a few words: `p95_latency 412ms > 200ms` for a signal over its limit, else its message."""
    name = str(reason.get("name", ""))
    value, limit = reason.get("value"), reason.get("limit")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (value, limit))
    if reason.get("source") == "signal" and numbers and value != limit:
        unit = (units or {}).get(name, "")
        return f"{name} {format_value(value, unit)} {'>' if value > limit else '<'} {format_value(limit, unit)}"
    return " ".join(str(reason.get("message") or name).split())


def _why(record: Mapping[str, Any], units: Mapping[str, str] | None, most: int = 2) -> str:
    reasons = [r for r in record.get("reasons") or [] if isinstance(r, Mapping)]
    acting = [r for r in reasons if r.get("source") != "stage" and not r.get("dry_run")] or reasons
    return "; ".join(reason_text(r, units) for r in acting[:most])


def event_text(record: Mapping[str, Any], version: str | None = None, units: Mapping[str, str] | None = None) -> str:
    """One line for a person's phone: what happened to which release, where, and why."""
    kind = str(record.get("event", MISSING))
    v = version or str(record.get("version") or "release")
    why = _why(record, units)
    tail = f": {why}" if why else ""
    if kind == Event.STAGE_STARTED:
        hold = record.get("hold")
        span = f" for {format_duration(float(hold))}" if isinstance(hold, (int, float)) else ""
        text = f":arrow_forward: {v} {_where(record)} started{span}, until {format_clock(record.get('ends_at'), zone=True)}"
    elif kind == Event.HOLD:
        text = f":pause_button: {v} HOLD {record.get('holds_used', MISSING)} at {_where(record)} until {format_clock(record.get('until'), zone=True)}{tail}"
    elif kind == Event.ROLLBACK_STARTED:
        word = "IMMEDIATE ROLLBACK" if record.get("action") == "immediate_rollback" else "ROLLBACK"
        text = f":rotating_light: {v} {word} at {_where(record)}{tail}"
    elif kind == Event.ROLLBACK_DONE:
        if record.get("ok"):
            lag = record.get("decision_to_command_ms")
            timing = f" ({format_duration(lag / 1000, 'measured')} from decision to rollback command)" if isinstance(lag, (int, float)) else ""
            text = f":leftwards_arrow_with_hook: {v} rolled back at {_where(record)}{timing}"
        else:
            text = f":x: {v} ROLLBACK FAILED at {_where(record)}: {record.get('error') or 'unknown error'}: roll back by hand"
    elif kind == Event.CANARY_DONE:
        result = record.get("result")
        if result == "promoted":
            text = f":white_check_mark: {v} PROMOTED at {format_weight(record.get('weight'))}: every stage passed"
        elif result == "rolled_back":
            text = f":leftwards_arrow_with_hook: {v} canary ended ROLLED BACK at {_where(record)}{tail}"
        else:
            text = f":x: {v} canary ABORTED at {_where(record)}: {record.get('error') or why or 'no reason recorded'}"
    elif kind == Event.HOURLY_SUMMARY:
        hour = record.get("hour")
        label = f"{hour:02d}" if isinstance(hour, int) else str(hour or MISSING)
        body = record.get("line") or record.get("text") or record.get("summary") or ""
        text = f":clock3: {v} first night, hour {label}: {body}".rstrip(": ")
    elif kind == Event.STAGE_PASSED:
        text = f":heavy_check_mark: {v} {_where(record)} passed"
    elif kind == Event.SIGNALS_RECOVERED:
        text = f":green_heart: {v} signals back within limits at {format_clock(record.get('at'), zone=True)}"
    elif kind == Event.LEASE_TAKEN:
        how = "released it" if record.get("released") else f"lease lapsed {format_duration(float(record.get('lapsed_s') or 0))} ago"
        text = (f":arrows_counterclockwise: {v} TAKEN OVER at {_where(record)} by host {record.get('host')} "
                f"pid {record.get('pid')} from host {record.get('previous_host')} ({how})")
    elif kind in (Event.NOTE, Event.OPERATOR):
        who = record.get("by") or "operator"
        said = record.get("text") or record.get("reason") or ""
        text = f":memo: {v} {record.get('command') or 'note'} by {who}" + (f": {said}" if said else "")
    else:
        text = f":information_source: {v} {kind}" + (f" at {_where(record)}" if "stage" in record else "") + tail
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def journal_mark(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The journal's seq and head hash as of this record, or None for a record that is not from a journal.

    Every notification carries it off the host: a journal rewritten later (and re-hashed) no longer has
    this head at this seq, whatever the folder's own hashes say.
    """
    seq, head = record.get("seq"), record.get("hash")
    if isinstance(seq, int) and not isinstance(seq, bool) and isinstance(head, str) and head:
        return {"seq": seq, "head": head}
    return None


def payload(record: Mapping[str, Any], kind: str, version: str | None, units: Mapping[str, str] | None) -> dict[str, Any]:
    """The body posted for `kind` ("json" | "slack"), with the journal's seq and head (see journal_mark)."""
    text = event_text(record, version, units)
    mark = journal_mark(record)
    if kind == "slack":
        return {"text": text + (f"\njournal seq {mark['seq']} head {mark['head']}" if mark else "")}
    body = {
        "source": "release-cockpit",
        "event": record.get("event"),
        "version": version or record.get("version"),
        "ts": record.get("ts"),
        "text": text,
        "record": dict(record),
    }
    if mark:
        body["journal"] = mark
    return body


# ---------------------------------------------------------------- the notifier


@dataclass
class NotifyStats:
    delivered: int = 0
    failed: int = 0  # gave up after every retry
    dropped: int = 0  # pushed out of a full queue
    undelivered_at_close: int = 0  # still queued or in flight when aclose's timeout ran out


@dataclass
class _Target:
    config: NotifyConfig
    label: str
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    in_flight: int = 0
    stop_queued: int = 0

    @property
    def pending(self) -> int:
        return self.queue.qsize() - self.stop_queued + self.in_flight


def target_label(config: NotifyConfig) -> str:
    """What reports call a webhook: its name, else scheme://host only (a webhook's path is often its secret)."""
    if config.name:
        return config.name
    parts = urlsplit(config.url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


class Notifier:
    """Posts events to the configured webhooks in the background; emit() never blocks."""

    def __init__(
        self,
        targets: Sequence[NotifyConfig],
        *,
        version: str | None = None,
        units: Mapping[str, str] | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        on_failure: Failure | None = None,
        redactor: Redactor | None = None,
        warn: Callable[[str], None] | None = None,
        max_backoff: float = 30.0,
        run_start: float | None = None,
    ) -> None:
        self.version = version
        self.run_start = run_start  # with the version, PagerDuty's dedup key: one incident per run
        self.units = dict(units or {})
        self.queue_size = max(1, queue_size)
        self.on_failure = on_failure
        self.redactor = redactor or Redactor()
        for target in targets:
            if target.url != PAGERDUTY_URL:
                self.redactor.add(target.url)
            for secret in (target.bearer_token, target.routing_key):
                if secret_text(secret) is not None:
                    self.redactor.add(secret_text(secret))
        self.warn = warn or _log.warning
        self.max_backoff = max_backoff
        self.stats = NotifyStats()
        self._targets = [_Target(t, target_label(t)) for t in targets]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    @classmethod
    def from_config(cls, config: CockpitConfig, version: str | None = None, **options: Any) -> Notifier | None:
        """A notifier for the config's [[notify]] webhooks; None when there are none."""
        if not config.notify:
            return None
        units = {name: s.unit for name, s in config.signals.items()}
        options.setdefault("redactor", config.redactor())
        return cls(config.notify, version=version, units=units, **options)

    # ------------------------------------------------------------ the producer side

    def emit(self, record: dict[str, Any]) -> None:
        """Queue the record for every webhook that wants its event; returns at once, never raises."""
        try:
            if self._closing or not isinstance(record, dict):
                return
            loop = self._loop
            if loop is not None and not loop.is_closed():
                try:
                    running = asyncio.get_running_loop()
                except RuntimeError:
                    running = None
                if running is not loop:  # another thread: hand it to the loop's thread
                    loop.call_soon_threadsafe(self._enqueue, record)
                    return
            self._enqueue(record)
        except Exception as exc:  # a notification must never break the caller
            self._warn(f"notify: could not queue {record.get('event') if isinstance(record, dict) else record!r}: {exc}")

    def _enqueue(self, record: dict[str, Any]) -> None:
        if self._closing:
            return
        kind = record.get("event")
        if self.version is None and kind == Event.RUN_STARTED and record.get("version"):
            self.version = str(record["version"])
        if self.run_start is None and isinstance(record.get("ts"), (int, float)):
            self.run_start = float(record["ts"])  # run_started comes first; a night's first event otherwise
        for target in self._targets:
            if kind not in target.config.events:
                continue
            waiting = target.queue.qsize()
            if waiting >= self.queue_size:
                target.queue.get_nowait()  # the oldest goes: the latest news matters most
                self.stats.dropped += 1
                dropped = self.stats.dropped
                if dropped == 1 or dropped % 50 == 0:
                    self._warn(
                        f"notify {target.label}: queue full ({self.queue_size}): dropped the oldest notification "
                        f"({dropped} dropped so far)"
                    )
            target.queue.put_nowait(record)

    def pending(self) -> int:
        """Notifications queued or being posted."""
        return sum(t.pending for t in self._targets)

    # ------------------------------------------------------------ the background side

    def start(self) -> None:
        """Start one delivery task per webhook on the running loop (call from async code)."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        for target in self._targets:
            if target.task is None:
                target.task = loop.create_task(self._work(target), name=f"notify {target.label}")

    async def aclose(self, timeout: float = 5.0) -> NotifyStats:
        """Deliver what can be delivered within `timeout` seconds, then stop; the rest is reported."""
        self._closing = True
        tasks = []
        for target in self._targets:
            target.queue.put_nowait(_STOP)
            target.stop_queued = 1
            if target.task is not None:
                tasks.append(target.task)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=max(0.0, timeout))
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        for target in self._targets:
            left = target.pending
            if left:
                self.stats.undelivered_at_close += left
                self._fail(
                    target,
                    {"event": None},
                    attempts=0,
                    error=f"{left} notification(s) not delivered within {format_duration(timeout)} of closing",
                )
        return self.stats

    async def _work(self, target: _Target) -> None:
        import httpx

        headers = {"Content-Type": "application/json", "User-Agent": "release-cockpit"}
        if target.config.bearer_token is not None:
            headers["Authorization"] = f"Bearer {target.config.bearer_token.get_secret_value()}"
        async with httpx.AsyncClient(timeout=float(target.config.timeout), headers=headers, follow_redirects=False) as client:
            while True:
                record = await target.queue.get()
                if record is _STOP:
                    target.stop_queued = 0
                    return
                target.in_flight = 1  # stays 1 if aclose cancels the post: it counts as undelivered
                try:
                    await self._deliver(client, target, record)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug in one notification must not stop the others
                    self._fail(target, record, attempts=0, error=f"{type(exc).__name__}: {exc}")
                target.in_flight = 0

    def _body(self, target: _Target, record: dict[str, Any]) -> dict[str, Any] | None:
        """What to post for `record` to this target; None when the target does not take it (PagerDuty: no page)."""
        if target.config.format != "pagerduty":
            return payload(record, target.config.format, self.version, self.units)
        from cockpit.run.pagerduty import dedup_key, pagerduty_event

        assert target.config.routing_key is not None  # the config requires it
        version = self.version or str(record.get("version") or "release")
        return pagerduty_event(
            record,
            routing_key=target.config.routing_key.get_secret_value(),
            key=dedup_key(version, self.run_start if self.run_start is not None else time.time()),
            summary=event_text(record, self.version, self.units),
            version=self.version,
        )

    async def _deliver(self, client: Any, target: _Target, record: dict[str, Any]) -> None:
        document = self._body(target, record)
        if document is None:
            return
        body = json.dumps(document, ensure_ascii=False, default=str)
        attempts = target.config.retries + 1
        error = "not sent"
        for attempt in range(1, attempts + 1):
            error, retry, wait = await self._post(client, target, body)
            if error is None:
                self.stats.delivered += 1
                return
            if not retry or attempt == attempts:
                break
            backoff = float(target.config.backoff) * 2 ** (attempt - 1)
            await asyncio.sleep(min(self.max_backoff, wait if wait is not None else backoff))
        self.stats.failed += 1
        self._fail(target, record, attempts=attempt, error=error)

    async def _post(self, client: Any, target: _Target, body: str) -> tuple[str | None, bool, float | None]:
        """(error or None, worth retrying, seconds the server asked to wait or None)."""
        import httpx

        try:
            response = await client.post(target.config.url, content=body.encode("utf-8"))
        except httpx.TimeoutException:
            return f"no answer within {format_duration(float(target.config.timeout))}", True, None
        except httpx.ConnectError as exc:
            return f"cannot connect ({exc or 'connection failed'})", True, None
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}", True, None
        if 200 <= response.status_code < 300:
            return None, False, None
        retry = response.status_code >= 500 or response.status_code in _RETRY_STATUS
        wait = retry_after(response.headers.get("Retry-After")) if response.status_code in _RETRY_AFTER_STATUS else None
        return f"HTTP {response.status_code}", retry, wait

    def _fail(self, target: _Target, record: Mapping[str, Any], *, attempts: int, error: str) -> None:
        fields = {
            "target": target.label,
            "for_event": record.get("event"),
            "for_seq": record.get("seq"),
            "attempts": attempts,
            "error": self.redactor.scrub(error)[:300],
        }
        self._warn(f"notify {target.label}: {fields['for_event'] or 'notifications'} not delivered: {fields['error']}")
        if self.on_failure is not None:
            try:
                self.on_failure(fields)
            except Exception as exc:
                self._warn(f"notify: the failure handler failed: {type(exc).__name__}: {exc}")

    def _warn(self, text: str) -> None:
        try:
            self.warn(self.redactor.scrub(text))
        except Exception:
            pass


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delay-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT

        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class ChainSink:
    """Passes each event to several sinks in turn (e.g. the --events stream and a Notifier); one failing skips only itself."""

    def __init__(self, *sinks: Any) -> None:
        self.sinks = [s for s in sinks if s is not None]

    def emit(self, record: dict[str, Any]) -> None:
        for sink in self.sinks:
            try:
                sink.emit(record)
            except Exception as exc:
                _log.warning("event sink %s failed: %s", type(sink).__name__, exc)

