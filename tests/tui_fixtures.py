"""Fixed canary events and an app builder for the TUI's Pilot and snapshot tests (no wall clock, no timers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.clock import ManualClock
from cockpit.config import CockpitConfig, load_config
from cockpit.run.journal import Journal

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
NOW = T0 + 1200  # T+20:00, stage 2 (5%)
VERSION = "v1.4.0"
PLAN = [{"weight": w, "hold": h} for w, h in ((1, 900), (5, 900), (25, 900), (50, 900), (100, 1800))]

# name: (unit, limit, base value, step per sample)
SIGNALS = {
    "p95_latency": ("s", 0.2, 0.120, 0.0006),
    "error_rate": ("ratio", 0.01, 0.002, 0.0),
    "ws_staleness": ("s", 30.0, 6.0, 0.0),
    "risk_block_rate": ("per_min", 0.5, 0.1, 0.0),
    "idempotency_conflicts": ("ratio", 0.01, 0.001, 0.0),
    "csp_violations": ("ratio", 0.001, 0.0002, 0.0),
    "eventloop_lag": ("s", 0.05, 0.012, 0.0),
    "gc_pause": ("s", 0.02, 0.008, 0.0),
}


def _signal(name: str, index: int, ts: float, t0: float = T0) -> dict[str, Any]:
    unit, limit, base, step = SIGNALS[name]
    wobble = ((index * 7 + len(name)) % 5) * base * 0.04  # deterministic texture for the sparklines
    value = base + step * index + wobble
    state = "PASS"
    if name == "p95_latency" and value > 0.16:
        state = "WARN"  # the trend crosses 200 ms before the stage ends
    if name == "gc_pause" and ts > t0 + 1160:
        return {"value": None, "state": "BLIND", "limit": limit, "unit": unit, "window": 60,
                "reason": "no data: the query returned no series", "dry_run": False}
    return {"value": round(value, 6), "state": state, "limit": limit, "unit": unit, "window": 60, "reason": "",
            "dry_run": False}


def _triggers(ts: float, t0: float = T0) -> dict[str, Any]:
    firing = ts > t0 + 1160
    return {
        "p95_latency_breach": {"firing": False, "active": False, "action": "rollback", "auto": False, "value": None,
                               "error": None, "dry_run": False},
        "gc_pause_hold": {"firing": firing, "active": firing, "action": "hold", "auto": False,
                          "value": 0.031 if firing else None, "error": None, "dry_run": False},
    }


def canary_events(t0: float = T0, until: float | None = None) -> list[dict[str, Any]]:
    """A run at stage 2 (5%): p95 trending up (WARN), gc_pause blind for 45 s (STALE), a hold."""
    until = t0 + 1185 if until is None else until
    events: list[dict[str, Any]] = [
        {"ts": t0, "event": "run_started", "version": VERSION, "plan": PLAN, "pid": 4242, "drill": False},
        {"ts": t0, "event": "stage_started", "stage": 1, "weight": 1, "hold": 900, "ends_at": t0 + 900},
        {"ts": t0 + 1, "event": "traffic_shifted", "stage": 1, "weight": 1, "ok": True, "attempts": 1,
         "duration_s": 0.4, "error": None},
    ]
    index, ts = 0, t0 + 15
    while ts <= until:
        stage, weight = (1, 1) if ts < t0 + 900 else (2, 5)
        if ts == t0 + 900:
            events += [
                {"ts": ts, "event": "stage_passed", "stage": 1, "weight": 1},
                {"ts": ts, "event": "stage_started", "stage": 2, "weight": 5, "hold": 900, "ends_at": t0 + 1800},
                {"ts": ts + 1, "event": "traffic_shifted", "stage": 2, "weight": 5, "ok": True, "attempts": 1,
                 "duration_s": 0.5, "error": None},
            ]
        events.append({"ts": ts, "event": "sample", "stage": stage, "weight": weight,
                       "signals": {name: _signal(name, index, ts, t0) for name in SIGNALS}, "triggers": _triggers(ts, t0)})
        action, reasons = "continue", []
        if ts > t0 + 1160:
            action = "hold"
            reasons = [{"source": "trigger", "name": "gc_pause_hold", "message": "GC pause avg 31ms > 20ms", "query": "",
                        "window": 60, "value": 0.031, "limit": 0.02, "dry_run": False},
                       {"source": "blind", "name": "gc_pause", "message": "no data for 2 evaluations", "query": "",
                        "window": 60, "value": None, "limit": 0.02, "dry_run": False}]
        events.append({"ts": ts, "event": "decision", "stage": stage, "weight": weight, "action": action,
                       "reasons": reasons})
        if action == "hold" and not any(e["event"] == "hold" for e in events):
            events.append({"ts": ts, "event": "hold", "stage": stage, "weight": weight, "until": t0 + 2700,
                           "holds_used": 1, "reasons": reasons})
        if int(ts - t0) % 60 == 0:
            minute = int(ts - t0) // 60
            events.append({"ts": ts, "event": "warroom",
                           "line": f":{minute:02d} | Stage {stage} ({weight}%) | p95={int(_signal('p95_latency', index, ts, t0)['value'] * 1000)}ms "
                                   f"5xx=0.2% ws=6s idemp=0.1% csp=2 eloop=12ms gc=8ms | 8/8 PASS | engine: Proceed | IC (AB): GO"})
        if ts == t0 + 600:
            events.append({"ts": ts, "event": "note", "text": "payments team watching the 5xx panel", "by": "root (AB)"})
        index += 1
        ts += 15
    return events


def cockpit_config(**overrides: Any) -> CockpitConfig:
    """The default playbook (its 8 signals and checklists), with overrides merged on top."""
    config = load_config(None)
    return config.model_copy(update=overrides) if overrides else config


def make_app(evidence: Path, *, events: list[dict[str, Any]] | None = None, mode: str = "live", now: float = NOW,
             theme: str = "cockpit-dark", config: CockpitConfig | None = None, version: str | None = VERSION,
             low_color: bool = False) -> Any:
    """A CockpitApp on a ManualClock with no timers and no journal follower; `events` fed to its CanaryView."""
    from cockpit.app.cockpit_app import CockpitApp, TuiOptions
    from cockpit.views.canary import CanaryView

    options = TuiOptions(config=config or cockpit_config(), mode=mode, version=version, evidence_root=evidence,
                         theme=theme, low_color=low_color, operator="AB", follow_journal=False, tick_every=None,
                         blink=False)
    view = CanaryView()
    view.apply_all(events or [])
    app_class = CockpitApp
    if mode == "watch":
        from cockpit.app.cockpit_app import WatchApp

        app_class = WatchApp
    return app_class(options, clock=ManualClock(now), view=view)


# ---------------------------------------------------------------- a first night (cockpit watch)

NIGHT_T0 = T0 + 5400  # T+90: the first night starts when the canary has promoted
NIGHT_EVERY = 60.0
NIGHT_HOUR = 3600.0
NIGHT_NOW = NIGHT_T0 + 5 * NIGHT_HOUR + 1250  # hour 05, 20m50s in: hour 05's summary is due in 39m10s


def promoted_canary_events(t0: float = T0) -> list[dict[str, Any]]:
    """A canary that went 1→100 % and was promoted (one sample and one decision per stage)."""
    events: list[dict[str, Any]] = [
        {"ts": t0, "event": "run_started", "version": VERSION, "plan": PLAN, "pid": 4242, "drill": False}]
    ts = t0
    for stage, step in enumerate(PLAN, 1):
        events += [
            {"ts": ts, "event": "stage_started", "stage": stage, "weight": step["weight"], "hold": step["hold"],
             "ends_at": ts + step["hold"]},
            {"ts": ts + step["hold"] - 1, "event": "sample", "stage": stage, "weight": step["weight"],
             "signals": {name: _signal(name, 0, ts, t0) for name in SIGNALS}, "triggers": _triggers(ts, ts + 9999)},
            {"ts": ts + step["hold"], "event": "decision", "stage": stage, "weight": step["weight"], "action": "proceed",
             "reasons": []},
            {"ts": ts + step["hold"], "event": "stage_passed", "stage": stage, "weight": step["weight"]},
        ]
        ts += step["hold"]
    events.append({"ts": ts, "event": "canary_done", "result": "promoted", "stage": len(PLAN), "weight": 100})
    return events


def _night_signals(hour: int, minute: float, fault: bool) -> dict[str, Any]:
    out = {}
    for name, (unit, limit, base, _) in SIGNALS.items():
        value = base * (1 + 0.03 * hour + 0.01 * (int(minute) % 4))
        state = "PASS"
        if name == "p95_latency" and fault:
            value, state = 0.41, "BREACHING"
        out[name] = {"value": round(value, 6), "state": state, "limit": limit, "unit": unit, "window": 60,
                     "reason": "", "dry_run": False}
    return out


def _hour_summary(hour: int, start: float, *, worst: str = "PASS", backfilled: bool = False, live: int = 60,
                  triggers: dict[str, Any] | None = None, rollbacks: list[dict[str, Any]] | None = None,
                  errors: list[str] | None = None) -> dict[str, Any]:
    """An hour_closed record's fields, as cockpit.run.night_hours.HourAggregate.summary writes them."""
    signals = {name: {"unit": unit, "limit": limit, "baseline": None, "min": base, "p50": base, "max": base * 1.1,
                      "p50_exact": True, "samples": 60, "judged": 60, "over": 0, "states": {"PASS": 60}, "worst": "PASS"}
               for name, (unit, limit, base, _) in SIGNALS.items()}
    return {"hour": hour, "from": start, "to": start + NIGHT_HOUR, "backfilled": backfilled, "live_samples": live,
            "backfilled_points": (60 - live) * len(SIGNALS) if backfilled else 0,
            "backfilled_spans": [[start, start + (60 - live) * NIGHT_EVERY]] if backfilled else [],
            "backfill_errors": errors or [], "signals": signals, "triggers": triggers or {}, "events": [],
            "dropped_events": 0, "rollbacks": rollbacks or [], "worst": worst, "file": f"hourly_log_{hour:02d}.txt"}


def night_events(*, rollback: bool = False, until: float = NIGHT_NOW) -> list[dict[str, Any]]:
    """A promoted canary, then its first night up to `until` (hour 05).

    Hour 02 was back-filled (the night process stopped for 40 minutes and was started again), hour 03 saw
    gc_pause_hold fire (never for its `for`). With `rollback`, p95_latency_breach goes ACTIVE at 04:20 and the
    night rolls back (a rollback the journal marks phase "first_night", at stage 5, weight 100).
    """
    events = promoted_canary_events()
    n0 = NIGHT_T0
    started = {"event": "first_night_started", "version": VERSION, "hours": 24, "hour_length": NIGHT_HOUR,
               "evaluate_every": NIGHT_EVERY, "selector": 'track="canary"', "stage": 5, "weight": 100,
               "traffic": "argv: kubectl …"}
    events.append({"ts": n0, **started, "resumed": False, "closed_hours": []})
    fault_from, rolled_at = n0 + 4 * NIGHT_HOUR + 1200, n0 + 4 * NIGHT_HOUR + 1260  # active after its `for`
    ts = n0
    while ts <= until:
        hour = int((ts - n0) // NIGHT_HOUR)
        minute = (ts - n0) % NIGHT_HOUR / 60
        stopped = hour == 2 and minute < 40  # the night process was down: no samples, back-filled on restart
        if ts > n0 and (ts - n0) % NIGHT_HOUR == 0:  # an hour ended: its summary
            closed = hour - 1
            summary = _hour_summary(closed, ts - NIGHT_HOUR)
            if closed == 2:
                summary = _hour_summary(2, ts - NIGHT_HOUR, worst="WITHIN", backfilled=True, live=20)
            elif closed == 3:
                summary = _hour_summary(3, ts - NIGHT_HOUR, worst="WARN", triggers={
                    "gc_pause_hold": {"action": "hold", "auto": False, "first_at": ts - 1800, "last_at": ts - 1700,
                                      "firing": 2, "active": False, "backfilled": False, "dry_run": False}})
            elif closed == 4 and rollback:
                summary = _hour_summary(4, ts - NIGHT_HOUR, worst="FAIL", triggers={
                    "p95_latency_breach": {"action": "rollback", "auto": False, "first_at": fault_from,
                                           "last_at": ts - 60, "firing": 39, "active": True, "backfilled": False,
                                           "dry_run": False}},
                    rollbacks=[{"hour": 4, "decided_at": rolled_at, "why": "p95_latency_breach: active (rollback)",
                                "ok": True, "error": None, "attempts": 1, "to_start": "0.1s", "to_end": "2.3s"}])
            events.append({"ts": ts, "event": "hour_closed", **summary})
        if hour == 2 and minute == 40:
            events.append({"ts": ts, **started, "resumed": True, "closed_hours": [0, 1]})
        if not stopped:
            fault = rollback and ts >= fault_from and hour == 4
            triggers = {}
            if fault:
                active = ts >= rolled_at
                triggers["p95_latency_breach"] = {"firing": True, "active": active, "action": "rollback", "auto": False,
                                                  "value": 1.0, "error": None, "dry_run": False, "since": fault_from}
            if hour == 3 and 30 <= minute < 32:
                triggers["gc_pause_hold"] = {"firing": True, "active": False, "action": "hold", "auto": False,
                                             "value": 0.024, "error": None, "dry_run": False, "since": ts}
            events.append({"ts": ts, "event": "sample", "stage": 5, "weight": 100, "phase": "first_night", "hour": hour,
                           "signals": _night_signals(hour, minute, fault), "triggers": triggers})
            if rollback and ts == rolled_at:
                reasons = [{"source": "trigger", "name": "p95_latency_breach",
                            "message": "p95_latency_breach: active (rollback) (value 1)", "query": "", "window": None,
                            "value": 1.0, "limit": None, "dry_run": False}]
                events += [
                    {"ts": ts, "event": "rollback_started", "stage": 5, "weight": 100, "phase": "first_night",
                     "hour": 4, "reasons": reasons, "decided_at": ts, "fired_at": fault_from, "action": "rollback"},
                    {"ts": ts + 2.3, "event": "rollback_done", "stage": 5, "weight": 100, "phase": "first_night",
                     "hour": 4, "decided_at": ts, "ok": True, "attempts": 1, "command_started_at": ts + 0.1,
                     "command_ended_at": ts + 2.3, "decision_to_command_ms": 100.0, "error": None},
                ]
        ts += NIGHT_EVERY
    return events


_TIME_KEYS = {"ts", "ends_at", "until", "decided_at", "fired_at", "command_started_at", "command_ended_at", "from", "to",
              "first_at", "last_at", "since"}


def shifted(events: list[dict[str, Any]], delta: float) -> list[dict[str, Any]]:
    """The same events `delta` seconds later: every time field moves, nested ones too (for a journal that is live now)."""

    def move(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: move(v, k) for k, v in value.items()}
        if isinstance(value, list):
            if key == "backfilled_spans":
                return [[a + delta, b + delta] for a, b in value]
            return [move(v) for v in value]
        if key in _TIME_KEYS and isinstance(value, (int, float)) and not isinstance(value, bool):
            return value + delta
        return value

    return [move(event) for event in events]


def journal_of(path: Path, events: list[dict[str, Any]]) -> Journal:
    """A real (hash-chained) journal at `path` with `events` appended, left open for more."""
    journal = Journal(path)
    for event in events:
        journal.append(event["event"], event["ts"], **{k: v for k, v in event.items() if k not in ("event", "ts")})
    return journal


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Let a Pilot-driven app run until the condition holds (never a blind sleep)."""
    waited = 0.0
    while not condition():
        if waited > timeout:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)
        waited += 0.02
