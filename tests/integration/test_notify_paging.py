"""Paging through PagerDuty's Events API v2, and Retry-After on 429, against a real loopback HTTP receiver."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest

from cockpit.clock import iso_utc
from cockpit.config import ConfigError, NotifyConfig, load_config, validate_config
from cockpit.run.notify import Notifier, retry_after
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration

VERSION = "v1.4.0"
KEY = "R0UT1NGKEY0123456789abcdefABCDEF"  # a test routing key: it must reach PagerDuty and nothing else
T0 = 1_800_000_000.0
STARTED = {"seq": 1, "ts": T0, "event": "run_started", "version": VERSION}
STAGE = {"seq": 2, "ts": T0 + 1, "event": "stage_started", "stage": 1, "weight": 1.0, "hold": 900.0, "ends_at": T0 + 901}
ROLLBACK = {
    "seq": 9, "ts": T0 + 300, "event": "rollback_started", "stage": 2, "weight": 5.0, "action": "rollback",
    "reasons": [{"source": "signal", "name": "error_rate", "message": "error_rate FAIL", "value": 0.04, "limit": 0.01}],
}  # fmt: skip
DONE_OK = {"seq": 10, "ts": T0 + 301, "event": "rollback_done", "stage": 2, "weight": 5.0, "ok": True}
DONE_FAILED = {"seq": 10, "ts": T0 + 301, "event": "rollback_done", "stage": 2, "weight": 5.0, "ok": False, "error": "exit 3"}
RECOVERED = {"seq": 11, "ts": T0 + 420, "event": "signals_recovered", "stage": 2, "weight": 5.0, "at": T0 + 420}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    try:
        yield hook
    finally:
        hook.stop()


def pagerduty(url: str, **fields) -> dict:
    return {"format": "pagerduty", "routing_key": KEY, "url": url, **fields}


async def deliver(notifier: Notifier, *records: dict) -> None:
    notifier.start()
    for record in records:
        notifier.emit(record)
    await notifier.aclose(10)


async def test_a_rollback_pages_a_failed_rollback_pages_again_and_recovery_resolves(receiver, tmp_path, monkeypatch):
    monkeypatch.setenv("PD_ROUTING_KEY", KEY)
    (tmp_path / "cockpit.toml").write_text(
        f'[[notify]]\nformat = "pagerduty"\nrouting_key = "${{PD_ROUTING_KEY}}"\nurl = "{receiver.url}"\n'
    )
    config = load_config(tmp_path / "cockpit.toml")
    said: list[str] = []
    notifier = Notifier.from_config(config, VERSION, warn=said.append)
    assert notifier is not None
    await deliver(notifier, STARTED, STAGE, ROLLBACK, DONE_FAILED, RECOVERED)
    bodies = receiver.bodies()
    assert [b["event_action"] for b in bodies] == ["trigger", "trigger", "resolve"]
    key = f"release-cockpit/{VERSION}/{iso_utc(T0)}"
    assert {b["dedup_key"] for b in bodies} == {key} and {b["routing_key"] for b in bodies} == {KEY}
    first, failed = bodies[0]["payload"], bodies[1]["payload"]
    assert first["summary"] == ":rotating_light: v1.4.0 ROLLBACK at stage 2 (5%): error_rate 4% > 1%"  # the playbook says error_rate is a ratio
    assert (first["severity"], first["source"], first["component"]) == ("error", "release-cockpit", VERSION)
    assert first["timestamp"] == iso_utc(T0 + 300) and first["custom_details"]["stage"] == 2
    assert failed["severity"] == "critical" and "ROLLBACK FAILED" in failed["summary"]
    assert bodies[2] == {"routing_key": KEY, "event_action": "resolve", "dedup_key": key}
    assert all(r.headers["Content-Type"] == "application/json" for r in receiver.received)
    assert said == [] and notifier.stats.delivered == 3


async def test_a_good_rollback_does_not_page_twice_and_each_run_has_its_own_incident(receiver):
    config = validate_config({"notify": [pagerduty(receiver.url)]}, "t")
    await deliver(Notifier.from_config(config, VERSION), STARTED, ROLLBACK, DONE_OK)
    later = {**STARTED, "ts": T0 + 86_400}
    # a resumed process knows its run's start from the journal: the same incident
    await deliver(Notifier.from_config(config, VERSION, run_start=T0), {**later, "resumed": True}, RECOVERED)
    await deliver(Notifier.from_config(config, VERSION), later, ROLLBACK)  # the next run: a new incident
    bodies = receiver.bodies()
    assert [b["event_action"] for b in bodies] == ["trigger", "resolve", "trigger"]
    assert bodies[0]["dedup_key"] == bodies[1]["dedup_key"] != bodies[2]["dedup_key"]
    assert bodies[2]["dedup_key"].endswith(iso_utc(T0 + 86_400))


async def test_the_routing_key_never_reaches_logs_or_failure_records(receiver):
    receiver.status = 400  # PagerDuty's answer to a bad event: not retried
    failures: list[dict] = []
    said: list[str] = []
    config = validate_config({"notify": [pagerduty(receiver.url, retries=2, backoff=0.01)]}, "t")
    notifier = Notifier.from_config(config, VERSION, warn=said.append, on_failure=failures.append)
    said.append(notifier.redactor.scrub(f"would post {KEY}"))  # the redactor knows the key
    await deliver(notifier, STARTED, ROLLBACK)
    assert receiver.hits == 1 and len(failures) == 1 and failures[0]["error"] == "HTTP 400"
    text = json.dumps(failures) + "\n".join(said)
    assert KEY not in text and "***" in text
    assert config.redactor().scrub(KEY) == "***"


def test_pagerduty_settings_are_checked_and_defaulted():
    config = validate_config({"notify": [{"format": "pagerduty", "routing_key": KEY}]}, "t")
    assert config.notify[0].url == "https://events.pagerduty.com/v2/enqueue"
    assert config.notify[0].events == ["rollback_started", "rollback_done", "signals_recovered"]
    with pytest.raises(ConfigError, match=r'notify\[0\]: format = "pagerduty" needs routing_key'):
        validate_config({"notify": [{"format": "pagerduty"}]}, "cockpit.toml")
    with pytest.raises(ConfigError, match=r"notify\[0\]: routing_key is for format = \"pagerduty\" only"):
        validate_config({"notify": [{"url": "http://127.0.0.1:1/", "routing_key": KEY}]}, "cockpit.toml")


@pytest.mark.parametrize("kind", ["json", "slack", "pagerduty"])
async def test_a_429_is_retried_after_the_seconds_it_asks_for(receiver, kind):
    receiver.answers = [(429, "1")]
    table = pagerduty(receiver.url) if kind == "pagerduty" else {"url": receiver.url, "format": kind}
    config = validate_config({"notify": [{**table, "backoff": 0.01, "retries": 2}]}, "t")
    notifier = Notifier.from_config(config, VERSION)
    await deliver(notifier, STARTED, ROLLBACK)
    assert notifier.stats.delivered == 1 and len(receiver.arrivals) == 2
    gap = receiver.arrivals[1] - receiver.arrivals[0]
    assert 0.95 <= gap < 2.0, f"retried after {gap:.2f}s; Retry-After said 1 s (backoff alone: 0.01 s)"


async def test_a_retry_after_date_is_honoured_and_a_long_one_is_capped(receiver):
    import time

    receiver.answers = [(429, formatdate(time.time() + 2, usegmt=True)), (429, "3600")]
    config = validate_config({"notify": [{"url": receiver.url, "backoff": 0.01, "retries": 3}]}, "t")
    notifier = Notifier.from_config(config, VERSION, max_backoff=1.5)
    await deliver(notifier, ROLLBACK)
    assert notifier.stats.delivered == 1 and len(receiver.arrivals) == 3
    by_date = receiver.arrivals[1] - receiver.arrivals[0]
    capped = receiver.arrivals[2] - receiver.arrivals[1]
    assert 0.9 <= by_date <= 1.6, f"an HTTP date ~2 s ahead (whole seconds), capped at 1.5 s: waited {by_date:.2f}s"
    assert 1.4 <= capped < 2.0, f"Retry-After 3600 must be capped at 1.5 s: waited {capped:.2f}s"


def test_retry_after_reads_seconds_and_dates():
    assert retry_after("120") == 120.0 and retry_after(" 0 ") == 0.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0  # already past
    assert retry_after(None) is None and retry_after("soon") is None and retry_after("-5") is None


async def test_pagerduty_events_wait_their_turn_without_blocking_emit(receiver):
    receiver.delay = 0.3
    config = validate_config({"notify": [pagerduty(receiver.url)]}, "t")
    notifier = Notifier.from_config(config, VERSION)
    notifier.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    notifier.emit(STARTED)
    notifier.emit(ROLLBACK)
    assert loop.time() - started < 0.05
    await notifier.aclose(5)
    assert [b["event_action"] for b in receiver.bodies()] == ["trigger"]


def test_the_readme_shows_the_pagerduty_table():
    text = (Path(__file__).parents[2] / "README.md").read_text()
    assert 'format = "pagerduty"' in text and "${PD_ROUTING_KEY}" in text


async def test_a_canary_that_rolls_back_pages_once_and_resolves_on_recovery(receiver, tmp_path):
    """run_canary with real traffic commands: its own events page PagerDuty, its run start names the incident."""
    from cockpit.clock import ManualClock
    from cockpit.evidence import EvidenceStore
    from cockpit.run.canary import run_canary
    from cockpit.run.journal import read_journal
    from tests.canary_boards import (
        ScriptedSignalBoard,
        ScriptedTriggerBoard,
        current_weight,
        make_config,
        recording_command,
    )

    log = tmp_path / "traffic.log"
    config = make_config(
        tmp_path,
        stages=[(1, 60), (5, 60), (25, 60), (100, 60)],
        signals={"p95": {"short": "p95", "query": "q", "unit": "s", "max": 0.2}},
        traffic={"set_weight": recording_command(log), "rollback": recording_command(log)[:3] + ["rollback", "0", "{version}", "{stage}"]},
    )
    config = config.model_copy(update={"notify": [NotifyConfig(**pagerduty(receiver.url, backoff=0.01))]})
    clock = ManualClock()
    store = EvidenceStore(tmp_path / "evidence", VERSION, config.redactor())
    notifier = Notifier.from_config(config, VERSION, warn=lambda _: None)
    outcome = await run_canary(
        config, VERSION, source=None, clock=clock, store=store, events=None, control=False, notifier=notifier,
        signal_board=ScriptedSignalBoard(config, clock, lambda: {"p95": 0.35 if current_weight(log) >= 5 else 0.12}),
        trigger_board=ScriptedTriggerBoard(clock),
    )  # fmt: skip
    assert outcome.result == "rolled_back"
    records = read_journal(store.dir / "journal.jsonl").records
    started = next(r["ts"] for r in records if r["event"] == "run_started")
    assert any(r["event"] == "signals_recovered" for r in records)
    bodies = receiver.wait_for(2)
    assert [b.body["event_action"] for b in bodies] == ["trigger", "resolve"]
    assert {b.body["dedup_key"] for b in bodies} == {f"release-cockpit/{VERSION}/{iso_utc(started)}"}
    assert "ROLLBACK at stage 2 (5%)" in bodies[0].body["payload"]["summary"]
    assert KEY not in (store.dir / "journal.jsonl").read_text()
