"""A webhook that is slow, then down, while the canary rolls back: the rollback is on time, the failures are reported.

The canary runner (run_canary) with its real traffic commands, the notifier
chained into its event sink, and a real loopback receiver that answers the first
notification after 2 s and is taken down when stage 3 starts.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from cockpit.clock import ManualClock
from cockpit.config import NotifyConfig
from cockpit.evidence import EvidenceStore
from cockpit.run.canary import run_canary
from cockpit.run.notify import ChainSink, Notifier
from tests.canary_boards import (
    ScriptedSignalBoard,
    ScriptedTriggerBoard,
    current_weight,
    make_config,
    recording_command,
)
from tests.webhook_receiver import WebhookReceiver

VERSION = "v1.4.0"
PLAN = [(1, 60), (5, 60), (25, 60), (50, 60), (100, 120)]


class TimedSink:
    """Records every event and how long the notifier's emit() took for it."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.events: list[dict] = []
        self.emit_seconds: list[float] = []

    def emit(self, record: dict) -> None:
        self.events.append(record)
        started = time.perf_counter()
        self.notifier.emit(record)
        self.emit_seconds.append(time.perf_counter() - started)


async def test_a_slow_then_down_webhook_never_delays_the_rollback(tmp_path: Path) -> None:
    receiver = WebhookReceiver(delay=2.0).start()
    log = tmp_path / "traffic.log"
    signals = {"p95": {"short": "p95", "query": "q", "unit": "s", "max": 0.2, "for": "30s"},
               "errors": {"short": "5xx", "query": "q", "unit": "ratio", "max": 0.01}}
    config = make_config(tmp_path, stages=PLAN, signals=signals, traffic={
        "set_weight": recording_command(log), "rollback": recording_command(log)[:3] + ["rollback", "0", "{version}", "{stage}"],
    })
    clock = ManualClock()
    store = EvidenceStore(tmp_path / "evidence", VERSION, config.redactor())
    failures: list[dict] = []
    notifier = Notifier(
        [NotifyConfig(url=receiver.url, timeout=1.0, retries=2, backoff=0.05)],
        version=VERSION,
        units={"p95": "s"},
        on_failure=failures.append,
        warn=lambda _: None,
    )
    timed = TimedSink(notifier)

    class TakeDownAtStage3:
        def emit(self, record: dict) -> None:
            if record["event"] == "stage_started" and record["stage"] == 3:
                threading.Thread(target=receiver.stop).start()  # shutdown() waits for the serve loop: not on the event loop

    def values() -> dict[str, float | None]:
        return {"p95": 0.350 if current_weight(log) >= 25 else 0.142, "errors": 0.002}

    notifier.start()
    started = time.perf_counter()
    try:
        outcome = await run_canary(
            config, VERSION, source=None, clock=clock, store=store, events=ChainSink(timed, TakeDownAtStage3()),
            signal_board=ScriptedSignalBoard(config, clock, values), trigger_board=ScriptedTriggerBoard(clock),
            control=False,
        )
        run_seconds = time.perf_counter() - started
    finally:
        stats = await notifier.aclose(10)
        receiver.stop()

    assert outcome.result == "rolled_back" and (outcome.stage, outcome.weight) == (3, 25.0)
    done = next(r for r in timed.events if r["event"] == "rollback_done")
    assert done["ok"] and log.read_text().splitlines()[-1] == f"rollback 0 {VERSION} 3"
    print(
        f"\nrun {run_seconds * 1000:.0f} ms with a 2 s webhook; decision→rollback command {done['decision_to_command_wall_ms']:.1f} ms; "
        f"emit() worst {max(timed.emit_seconds) * 1e6:.0f} µs"
    )
    # the run did not wait for the webhook: the first notification alone takes 2 s to answer
    assert run_seconds < receiver.delay
    assert done["decision_to_command_wall_ms"] < 500
    assert max(timed.emit_seconds) < 0.005
    # every notification the run asked for was tried and, with the receiver slow then down, reported
    wanted = [r for r in timed.events if r["event"] in ("stage_started", "hold", "rollback_started", "rollback_done", "canary_done")]
    assert receiver.hits >= 1
    assert stats.delivered == 0 and stats.failed + stats.undelivered_at_close == len(wanted)
    reported = {f["for_seq"] for f in failures if f["for_seq"] is not None}
    assert {r["seq"] for r in wanted if r["event"] in ("rollback_started", "rollback_done", "canary_done")} <= reported
    assert all(f["error"].startswith(("cannot connect", "no answer within")) for f in failures if f["for_seq"] is not None)


async def test_run_canary_owns_its_notifier_and_journals_failed_webhooks(tmp_path: Path) -> None:
    from cockpit.run.journal import read_journal
    from tests.services import free_port

    log = tmp_path / "traffic.log"
    signals = {"p95": {"short": "p95", "query": "q", "unit": "s", "max": 0.2}}
    config = make_config(tmp_path, stages=[(1, 30), (100, 30)], signals=signals, traffic={
        "set_weight": recording_command(log), "rollback": recording_command(log)[:3] + ["rollback", "0", "{version}", "{stage}"],
    })
    clock = ManualClock()
    store = EvidenceStore(tmp_path / "evidence", VERSION, config.redactor())
    # Nothing listens on this port: every notification fails and must be journaled as such.
    down = NotifyConfig(url=f"http://127.0.0.1:{free_port()}/hook", timeout=0.5, retries=1, backoff=0.01,
                        events=["stage_started"])
    notifier = Notifier([down], version=VERSION, warn=lambda _: None)
    outcome = await run_canary(
        config, VERSION, source=None, clock=clock, store=store, events=None,
        signal_board=ScriptedSignalBoard(config, clock, lambda: {"p95": 0.1}), trigger_board=ScriptedTriggerBoard(clock),
        control=False, notifier=notifier,
    )
    assert outcome.result == "promoted"
    failed = [r for r in read_journal(store.dir / "journal.jsonl").records if r["event"] == "notify_failed"]
    assert failed and all("cannot connect" in r["error"] for r in failed)
    assert "/hook" not in str(failed)  # a webhook is named by scheme://host:port, never its path
