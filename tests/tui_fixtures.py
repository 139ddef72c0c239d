"""Fixed canary events and an app builder for the TUI's Pilot and snapshot tests (no wall clock, no timers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cockpit.clock import ManualClock
from cockpit.config import CockpitConfig, load_config

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
                                   f"5xx=0.2% ws=6s idemp=0.1% csp=2 eloop=12ms gc=8ms | 8/8 PASS | IC: Proceed"})
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
    from cockpit.app import CockpitApp, TuiOptions
    from cockpit.engine.view import CanaryView

    options = TuiOptions(config=config or cockpit_config(), mode=mode, version=version, evidence_root=evidence,
                         theme=theme, low_color=low_color, operator="AB", follow_journal=False, tick_every=None,
                         blink=False)
    view = CanaryView()
    view.apply_all(events or [])
    return CockpitApp(options, clock=ManualClock(now), view=view)
