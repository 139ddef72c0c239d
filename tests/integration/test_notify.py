"""Webhook notifications against a real loopback HTTP receiver: delivered, never blocking, retried, reported, bounded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from cockpit.config import CockpitConfig, ConfigError, NotifyConfig, validate_config
from cockpit.run.notify import Notifier, event_text
from tests.webhook_receiver import WebhookReceiver

VERSION = "v1.4.0"
ROLLBACK = {
    "seq": 41,
    "ts": 1_800_000_000.0,
    "event": "rollback_started",
    "stage": 3,
    "weight": 25.0,
    "action": "rollback",
    "reasons": [
        {"source": "signal", "name": "p95_latency", "message": "p95_latency FAIL", "value": 0.412, "limit": 0.2},
        {"source": "stage", "name": "stage", "message": "rolling back"},
    ],
}
STAGE = {"seq": 7, "ts": 1_800_000_000.0, "event": "stage_started", "stage": 2, "weight": 5.0, "hold": 900.0, "ends_at": 1_800_000_900.0}
DECISION = {"seq": 8, "ts": 1_800_000_015.0, "event": "decision", "stage": 2, "weight": 5.0, "action": "continue", "reasons": []}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    try:
        yield hook
    finally:
        hook.stop()


def hook(url: str, **fields) -> NotifyConfig:
    return NotifyConfig(url=url, **fields)


def test_event_lines_say_what_happened_where_and_why() -> None:
    units = {"p95_latency": "s"}
    assert event_text(ROLLBACK, VERSION, units) == ":rotating_light: v1.4.0 ROLLBACK at stage 3 (25%): p95_latency 412ms > 200ms"
    assert event_text(STAGE, VERSION) == ":arrow_forward: v1.4.0 stage 2 (5%) started for 15m, until 08:15:00Z"
    done = {"event": "rollback_done", "stage": 3, "weight": 25.0, "ok": False, "error": "exit 3: ingress not found"}
    assert event_text(done, VERSION) == ":x: v1.4.0 ROLLBACK FAILED at stage 3 (25%): exit 3: ingress not found: roll back by hand"
    hold = {"event": "hold", "stage": 1, "weight": 1.0, "until": 1_800_000_900.0, "holds_used": 1,
            "reasons": [{"source": "signal", "name": "gc_pause", "message": "gc_pause WARN: bad trend", "value": 0.015, "limit": 0.02}]}
    # a value within its limit is not written as if it were over it: the reason's own words are used
    assert event_text(hold, VERSION, {"gc_pause": "s"}) == ":pause_button: v1.4.0 HOLD 1 at stage 1 (1%) until 08:15:00Z: gc_pause 15ms < 20ms"
    assert "\n" not in event_text({"event": "note", "text": "two\nlines", "by": "ab"}, VERSION)


def test_notify_config_rejects_unknown_events_and_non_http_urls() -> None:
    with pytest.raises(ConfigError, match=r"notify\[0\]\.events: .*unknown event 'rollback'"):
        validate_config({"notify": [{"url": "http://127.0.0.1:1/x", "events": ["rollback"]}]}, "cockpit.toml")
    with pytest.raises(ConfigError, match=r"notify\[0\]\.url: .*http"):
        validate_config({"notify": [{"url": "ftp://x"}]}, "cockpit.toml")
    config = CockpitConfig.model_validate({"notify": [{"url": "https://hooks.example/T0/B1/secretpath", "bearer_token": "tok-123456"}]})
    scrubbed = config.redactor().scrub("posting to https://hooks.example/T0/B1/secretpath with tok-123456")
    assert "secretpath" not in scrubbed and "tok-123456" not in scrubbed
    assert config.notify[0].events == ["stage_started", "hold", "rollback_started", "rollback_done", "canary_done",
                                       "lease_taken", "hourly_summary"]  # lease_taken: a standby took the run over


async def test_json_and_slack_payloads_are_delivered_for_the_events_asked_for(receiver: WebhookReceiver) -> None:
    notifier = Notifier(
        [hook(receiver.url, format="json", bearer_token="tok-abcdef"), hook(receiver.url + "/slack", format="slack")],
        version=VERSION,
        units={"p95_latency": "s"},
    )
    notifier.start()
    for record in (STAGE, DECISION, ROLLBACK):  # `decision` is not among the default events
        notifier.emit(record)
    stats = await notifier.aclose(5)
    assert (stats.delivered, stats.failed, stats.dropped, stats.undelivered_at_close) == (4, 0, 0, 0)
    got = receiver.received
    json_bodies = [r.body for r in got if r.path == "/hook"]
    slack_bodies = [r.body for r in got if r.path == "/hook/slack"]
    assert [b["event"] for b in json_bodies] == ["stage_started", "rollback_started"]
    rollback = json_bodies[1]
    assert rollback["version"] == VERSION and rollback["record"]["reasons"][0]["value"] == 0.412
    assert rollback["text"] == ":rotating_light: v1.4.0 ROLLBACK at stage 3 (25%): p95_latency 412ms > 200ms"
    assert slack_bodies == [{"text": event_text(STAGE, VERSION)}, {"text": rollback["text"]}]
    auth = {r.path: r.headers.get("Authorization") for r in got}
    assert auth == {"/hook": "Bearer tok-abcdef", "/hook/slack": None}


async def test_a_slow_receiver_never_blocks_emit(receiver: WebhookReceiver) -> None:
    receiver.delay = 1.0
    notifier = Notifier([hook(receiver.url, timeout=5, events=["decision"])], version=VERSION)
    notifier.start()
    notifier.emit(DECISION)
    await asyncio.sleep(0.05)  # the first post is now waiting on the slow receiver
    times = []
    for i in range(50):
        started = time.perf_counter()
        notifier.emit({**DECISION, "seq": 100 + i})
        times.append(time.perf_counter() - started)
    worst = max(times)
    print(f"\nemit() with a 1 s receiver: worst {worst * 1e6:.0f} µs, total {sum(times) * 1e3:.2f} ms for 50")
    assert worst < 0.005 and sum(times) < 0.05
    closing = time.perf_counter()
    stats = await notifier.aclose(0.3)
    assert time.perf_counter() - closing < 1.0  # bounded by the timeout, not by the receiver
    assert stats.undelivered_at_close == 51 - stats.delivered
    assert stats.undelivered_at_close >= 49


async def test_a_down_receiver_is_retried_then_reported_without_secrets(receiver: WebhookReceiver) -> None:
    url = receiver.url
    receiver.stop()  # connection refused from now on
    failures: list[dict] = []
    warnings: list[str] = []
    notifier = Notifier(
        [hook(url, retries=2, backoff=0.05, bearer_token="tok-secret-1", name="")],
        version=VERSION,
        on_failure=failures.append,
        warn=warnings.append,
    )
    notifier.start()
    started = time.perf_counter()
    notifier.emit(ROLLBACK)
    # Queued, not sent: sending to this refused port with its two retries would take 0.15 s of backoff alone.
    assert time.perf_counter() - started < 0.05
    stats = await notifier.aclose(5)
    assert stats.failed == 1 and stats.delivered == 0
    assert len(failures) == 1
    failure = failures[0]
    assert failure["for_event"] == "rollback_started" and failure["for_seq"] == 41
    assert failure["attempts"] == 3  # the first try and 2 retries
    assert failure["error"].startswith("cannot connect")
    assert failure["target"].startswith("http://127.0.0.1:")
    everything = repr(failures) + repr(warnings)
    assert "/hook" not in everything and "tok-secret-1" not in everything


async def test_an_http_error_is_retried_and_a_client_error_is_not(receiver: WebhookReceiver) -> None:
    failures: list[dict] = []
    receiver.status = 503
    notifier = Notifier([hook(receiver.url, retries=2, backoff=0.01)], version=VERSION, on_failure=failures.append, warn=lambda _: None)
    notifier.start()
    notifier.emit(ROLLBACK)
    await notifier.aclose(5)
    assert receiver.hits == 3 and failures[0]["error"] == "HTTP 503" and failures[0]["attempts"] == 3

    receiver.status, receiver.hits = 400, 0
    notifier = Notifier([hook(receiver.url, retries=2, backoff=0.01)], version=VERSION, on_failure=failures.append, warn=lambda _: None)
    notifier.start()
    notifier.emit(ROLLBACK)
    await notifier.aclose(5)
    assert receiver.hits == 1 and failures[1]["error"] == "HTTP 400" and failures[1]["attempts"] == 1


async def test_the_queue_bound_drops_the_oldest_and_counts_it(receiver: WebhookReceiver) -> None:
    warnings: list[str] = []
    notifier = Notifier([hook(receiver.url, events=["decision"])], version=VERSION, queue_size=3, warn=warnings.append)
    for i in range(10):  # not started yet: nothing drains the queue
        notifier.emit({**DECISION, "seq": i})
    assert notifier.pending() == 3
    assert notifier.stats.dropped == 7
    assert warnings and "dropped the oldest notification (1 dropped so far)" in warnings[0]
    notifier.start()
    stats = await notifier.aclose(5)
    assert stats.delivered == 3
    assert [b["record"]["seq"] for b in receiver.bodies()] == [7, 8, 9]  # the newest survive


async def test_emit_from_another_thread_reaches_the_loop(receiver: WebhookReceiver) -> None:
    import threading

    notifier = Notifier([hook(receiver.url, events=["hourly_summary"])], version=VERSION)
    notifier.start()
    record = {"event": "hourly_summary", "hour": 3, "line": "p95 max 190ms"}
    thread = threading.Thread(target=notifier.emit, args=(record,))
    thread.start()
    thread.join()
    await asyncio.to_thread(receiver.wait_for, 1)
    await notifier.aclose(2)
    assert receiver.bodies()[0]["text"] == ":clock3: v1.4.0 first night, hour 03: p95 max 190ms"


async def test_every_notification_carries_the_journals_head_and_seq(receiver: WebhookReceiver, tmp_path) -> None:
    """A real canary run: what left the host (JSON, Slack, PagerDuty) names the journal head at each event."""
    import json

    from cockpit.clock import ManualClock
    from cockpit.evidence import EvidenceStore
    from cockpit.run.canary import run_canary
    from cockpit.run.journal import read_journal, record_hash
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
        stages=[(1, 60), (5, 60), (100, 60)],
        signals={"p95": {"short": "p95", "query": "q", "unit": "s", "max": 0.2}},
        traffic={"set_weight": recording_command(log), "rollback": recording_command(log)[:3] + ["rollback", "0", "{version}", "{stage}"]},
    )
    hooks = [hook(receiver.url + "/json", format="json"), hook(receiver.url + "/slack", format="slack"),
             NotifyConfig(format="pagerduty", routing_key="R0UT1NGKEY0123456789abcdefABCDEF", url=receiver.url + "/pd")]
    config = config.model_copy(update={"notify": hooks})
    clock = ManualClock()
    store = EvidenceStore(tmp_path / "evidence", VERSION, config.redactor())
    outcome = await run_canary(
        config, VERSION, source=None, clock=clock, store=store, events=None, control=False,
        notifier=Notifier.from_config(config, VERSION, warn=lambda _: None),
        signal_board=ScriptedSignalBoard(config, clock, lambda: {"p95": 0.35 if current_weight(log) >= 5 else 0.12}),
        trigger_board=ScriptedTriggerBoard(clock),
    )  # fmt: skip
    assert outcome.result == "rolled_back"
    records = {r["seq"]: r for r in read_journal(store.dir / "journal.jsonl").records}
    bodies = {path: [r.body for r in receiver.received if r.path == f"/hook/{path}"] for path in ("json", "slack", "pd")}
    assert [b["event"] for b in bodies["json"]][:2] == ["stage_started", "stage_started"] and len(bodies["slack"]) == len(bodies["json"])
    for body in bodies["json"]:
        mark = body["journal"]
        assert records[mark["seq"]]["hash"] == mark["head"] and records[mark["seq"]]["event"] == body["event"]
    for body, sent in zip(bodies["slack"], bodies["json"]):
        assert body["text"].endswith(f"\njournal seq {sent['journal']['seq']} head {sent['journal']['head']}")
    [page] = [b for b in bodies["pd"] if b["event_action"] == "trigger"]
    details = page["payload"]["custom_details"]
    assert records[details["journal_seq"]]["hash"] == details["journal_head"]
    assert records[details["journal_seq"]]["event"] == "rollback_started"

    # A rewrite re-hashed after the fact: the folder's chain holds, but no longer has the head that was sent.
    first = bodies["json"][0]["journal"]
    rewritten = dict(records[1], version="v0.0.1")
    rewritten["hash"] = record_hash(rewritten)
    chain = [rewritten]
    for seq in range(2, first["seq"] + 1):
        record = dict(records[seq], prev=chain[-1]["hash"])
        record["hash"] = record_hash(record)
        chain.append(record)
    (store.dir / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chain))
    read = read_journal(store.dir / "journal.jsonl")
    assert read.ok and read.records[first["seq"] - 1]["hash"] != first["head"]
