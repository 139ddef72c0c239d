"""TriggerBoard: PromQL triggers with `for` timers, and Prometheus alerts carrying the action label."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from cockpit.clock import ManualClock
from cockpit.config import CockpitConfig
from cockpit.engine.triggers import ALERTS_API, TriggerBoard, alert_reading
from tests.unit.scripted_source import NO_DATA, ScriptedSource


def make_config(*triggers: dict[str, Any], **canary: Any) -> CockpitConfig:
    return CockpitConfig.model_validate({"triggers": list(triggers), "canary": canary})


def by_name(readings: list[Any]) -> dict[str, Any]:
    return {r.name: r for r in readings}


LAG = {"name": "lag", "expr": "max(lag{{selector}}) > 0.05", "for": "1m", "action": "rollback"}


async def test_trigger_fires_then_becomes_active_after_its_for() -> None:
    clock, source = ManualClock(), ScriptedSource().on("lag{", 0.08)
    board = TriggerBoard(make_config(LAG), source, clock)
    start = clock.now()
    first = by_name(await board.evaluate())["lag"]
    assert first.firing and not first.active and first.since == start
    assert first.expr == 'max(lag{track="canary"}) > 0.05' and first.value == 0.08
    clock.advance(45)
    assert not by_name(await board.evaluate())["lag"].active
    clock.advance(15)
    active = by_name(await board.evaluate())["lag"]
    assert active.active and active.action == "rollback" and not active.auto
    source.on("lag{", NO_DATA)
    clock.advance(15)
    quiet = by_name(await board.evaluate())["lag"]
    assert not quiet.firing and not quiet.active and quiet.since is None and quiet.error is None


async def test_a_trigger_that_cannot_be_evaluated_has_an_error_and_keeps_its_timer() -> None:
    clock, source = ManualClock(), ScriptedSource().on("lag{", 0.08)
    board = TriggerBoard(make_config(LAG), source, clock)
    start = clock.now()
    await board.evaluate()
    clock.advance(30)
    await board.evaluate()  # seen firing for 30 s
    source.on("lag{", "error: Prometheus refused the query")
    clock.advance(30)
    broken = by_name(await board.evaluate())["lag"]
    assert broken.error == "Prometheus refused the query"
    assert not broken.firing and not broken.active and broken.since == start
    source.on("lag{", 0.08)
    clock.advance(30)
    back = by_name(await board.evaluate())["lag"]
    assert back.firing and not back.active  # 30 s seen; the unknown minute does not count
    clock.advance(30)
    assert by_name(await board.evaluate())["lag"].active


async def test_for_zero_is_active_at_once_and_disabled_or_dry_run_triggers() -> None:
    config = make_config(
        {"name": "now", "expr": "x > 0", "action": "hold"},
        {"name": "off", "expr": "x > 0", "enabled": False},
        {"name": "dry", "expr": "x > 0", "dry_run": True, "auto": True},
    )
    readings = by_name(await TriggerBoard(config, ScriptedSource().on("x > 0", 1), ManualClock()).evaluate())
    assert set(readings) == {"now", "dry"}
    assert readings["now"].active and readings["now"].action == "hold"
    assert readings["dry"].dry_run and readings["dry"].auto and readings["dry"].active


async def test_stable_selector_and_configured_selector_are_rendered() -> None:
    config = make_config(
        {"name": "cmp", "expr": "sum(rate(e{{selector}}[5m])) > 2 * sum(rate(e{{stable_selector}}[5m]))"},
        selector='app="api",track="canary"',
        stable_selector='app="api",track="stable"',
    )
    source = ScriptedSource().on("rate(e", NO_DATA)
    await TriggerBoard(config, source, ManualClock()).evaluate()
    assert source.queries == ['sum(rate(e{app="api",track="canary"}[5m])) > 2 * sum(rate(e{app="api",track="stable"}[5m]))']


async def test_snapshot_and_restore_keep_the_for_timer() -> None:
    clock, source = ManualClock(), ScriptedSource().on("lag{", 0.08)
    board = TriggerBoard(make_config(LAG), source, clock)
    await board.evaluate()
    clock.advance(60)
    resumed = TriggerBoard(make_config(LAG), source, clock)
    resumed.restore(board.snapshot())
    assert by_name(await resumed.evaluate())["lag"].active


# ---------------------------------------------------------------- alerts API


def alert(name: str, action: str | None, state: str = "firing", **labels: str) -> dict[str, Any]:
    all_labels = {"alertname": name, **labels}
    if action is not None:
        all_labels["cockpit_action"] = action
    return {"labels": all_labels, "state": state, "activeAt": "2027-01-15T08:00:00.123456789Z", "value": "7.5e+00"}


async def test_alerts_with_the_action_label_become_triggers() -> None:
    source = ScriptedSource()
    source.alert_answer = (
        [
            alert("HighLatency", "rollback"),
            alert("SlowGC", "hold", state="pending"),
            alert("PagerOnly", None),
            alert("Meltdown", "immediate"),
            alert("Typo", "rolback"),
            alert("HighLatency", "warn", pod="b"),
        ],
        None,
    )
    readings = by_name(await TriggerBoard(make_config(), source, ManualClock()).evaluate())
    assert set(readings) == {"alert:HighLatency", "alert:SlowGC", "alert:Meltdown", "alert:Typo"}
    high = readings["alert:HighLatency"]
    assert high.firing and high.active and high.action == "rollback" and high.value == 7.5
    assert high.expr == 'ALERTS{alertname="HighLatency",cockpit_action="rollback"}'
    assert high.since == pytest.approx(datetime(2027, 1, 15, 8, 0, 0, 123456, tzinfo=UTC).timestamp())
    pending = readings["alert:SlowGC"]
    assert pending.firing and not pending.active and pending.action == "hold"
    assert readings["alert:Meltdown"].auto and readings["alert:Meltdown"].action == "rollback"
    typo = readings["alert:Typo"]
    assert typo.action == "warn" and typo.error and "not one of" in typo.error


async def test_alerts_api_failure_is_a_blind_reading_and_no_alerts_method_means_none() -> None:
    source = ScriptedSource()
    source.alert_answer = ([], "cannot connect to Prometheus")
    readings = await TriggerBoard(make_config(), source, ManualClock()).evaluate()
    assert [(r.name, r.action, r.error) for r in readings] == [
        (ALERTS_API, "rollback", "cannot read Prometheus alerts: cannot connect to Prometheus")
    ]

    class QueryOnly:
        async def query(self, expr: str) -> Any:
            raise AssertionError("no query expected")

    assert await TriggerBoard(make_config(), QueryOnly(), ManualClock()).evaluate() == []


def test_alert_reading_parses_prometheus_timestamps_and_escapes_labels() -> None:
    reading = alert_reading(
        {"labels": {"alertname": "A", "cockpit_action": "HOLD", "msg": 'say "hi"'}, "state": "firing", "activeAt": "2027-01-15T08:00:00.5Z"},
        "cockpit_action",
        0.0,
    )
    assert reading is not None
    assert reading.action == "hold"
    assert reading.since == datetime(2027, 1, 15, 8, 0, 0, 500000, tzinfo=UTC).timestamp()
    assert reading.expr == 'ALERTS{alertname="A",cockpit_action="HOLD",msg="say \\"hi\\""}'
    assert alert_reading({"labels": {"alertname": "B"}}, "cockpit_action", 0.0) is None
    assert alert_reading("junk", "cockpit_action", 0.0) is None


async def test_the_alerts_api_is_asked_with_the_triggers_not_after_them() -> None:
    # The trigger's answer waits until the alerts API has been asked: asked in turn, neither would come.
    asked_alerts = asyncio.Event()

    class Together(ScriptedSource):
        async def query(self, expr: str) -> Any:
            await asyncio.wait_for(asked_alerts.wait(), 1.0)
            return await super().query(expr)

        async def alerts(self) -> tuple[list[dict[str, Any]], str | None]:
            asked_alerts.set()
            return [], None

    source = Together().on("lag{", 0.01)
    readings = by_name(await TriggerBoard(make_config(LAG), source, ManualClock()).evaluate())
    assert readings["lag"].error is None and readings["lag"].firing
