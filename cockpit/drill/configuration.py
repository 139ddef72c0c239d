"""The drill's configuration: the default playbook's signals and triggers, with the run-of-show's time compressed.

A real canary spends 15 minutes a stage; a drill spends seconds. Every duration
the defaults state in release time is scaled by the same factor,
stage_seconds / 900: stage holds, hold extensions, the signals' and triggers'
`for`, and the fixed range windows inside trigger expressions (never below
`window`, five scrape intervals, so a rate still has samples). Queries,
expressions and limits stay exactly the default playbook's: the drill tests
the real defaults. Traffic moves through the real argv adapter, with
`python -m cockpit.drill.traffic` pointed at the simulator.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from cockpit.config import CockpitConfig, default_playbook, validate_config
from cockpit.durations import parse_duration
from cockpit.engine.promql_text import promql_duration

RELEASE_STAGE_SECONDS = 900.0  # the default stage the scale is taken against (15 min)
STAGE_WEIGHTS = (1, 5, 25, 50, 100)
DEFAULT_STAGE_SECONDS = 6.0
WINDOW_SECONDS = 5.0  # {window}, and the floor of compressed range windows: 5 scrapes at 1 s
_RANGE = re.compile(r"\[((?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+)\]")


def time_scale(stage_seconds: float) -> float:
    """Drill seconds per release second."""
    return stage_seconds / RELEASE_STAGE_SECONDS


def compress_ranges(expr: str, scale: float, floor: float = WINDOW_SECONDS) -> str:
    """Each literal range window [2m] in PromQL text, scaled (not below `floor`), as a PromQL duration."""

    def shrink(match: re.Match[str]) -> str:
        seconds = max(floor, round(parse_duration(match.group(1)) * scale))
        return f"[{promql_duration(seconds)}]"

    return _RANGE.sub(shrink, expr)


def _scaled(value: Any, scale: float) -> float:
    return round(parse_duration(value if value is not None else 0) * scale, 3)


def traffic_argv(simulator_url: str, action: str) -> list[str]:
    """The drill's traffic command as an argument list ({weight} is filled in by the adapter)."""
    base = [sys.executable, "-m", "cockpit.drill.traffic", "--url", simulator_url]
    return base + (["set-weight", "{weight}"] if action == "set_weight" else ["rollback"])


def drill_config_data(
    *,
    simulator_url: str,
    prometheus_url: str | None,
    evidence_dir: str,
    stage_seconds: float = DEFAULT_STAGE_SECONDS,
    evaluate_every: float = 1.0,
    recovery_window: float = 15.0,
) -> dict[str, Any]:
    """The drill's config as TOML-shaped data (what `drill_config` validates)."""
    scale = time_scale(stage_seconds)
    playbook = default_playbook()
    signals: dict[str, Any] = {}
    for name, signal in (playbook.get("signals") or {}).items():
        signals[name] = {**signal, "for": _scaled(signal.get("for"), scale)}
    triggers = [
        {**trigger, "for": _scaled(trigger.get("for"), scale), "expr": compress_ranges(trigger["expr"], scale)}
        for trigger in playbook.get("triggers") or []
    ]
    data: dict[str, Any] = {
        "evidence": {"dir": evidence_dir},
        "canary": {
            "evaluate_every": evaluate_every,
            "stages": [{"weight": w, "hold": stage_seconds} for w in STAGE_WEIGHTS],
            "hold_extension": stage_seconds,
            "max_holds": 2,
            "window": WINDOW_SECONDS,
            "min_requests": 10,
            "trend_window": max(WINDOW_SECONDS, 300 * scale),
            "min_trend_samples": 4,
            "blind_limit": 4,
            "blind_action": "rollback",
            "selector": 'track="canary"',
            "stable_selector": 'track="stable"',
            "recovery_window": recovery_window,
        },
        "traffic": {
            "set_weight": traffic_argv(simulator_url, "set_weight"),
            "rollback": traffic_argv(simulator_url, "rollback"),
            "retries": 1,
            "backoff": 0.2,
            "timeout": 10.0,
        },
        "signals": signals,
        "triggers": triggers,
    }
    if prometheus_url is not None:
        data["prometheus"] = {"url": prometheus_url, "timeout": 2.0, "retries": 0}
    return data


def drill_config(**options: Any) -> CockpitConfig:
    """The drill's CockpitConfig (see drill_config_data for the options)."""
    return validate_config(drill_config_data(**options), "(drill configuration)")
