"""One canary run of bench/judgement.py: its cockpit.toml, the real `cockpit canary` process, and what its journal says.

Every run is its own app on the traffic service (label `app`), its own folder (config, evidence,
stdout/stderr) and its own `cockpit` process. The config is the default playbook with the bench's
short stages: every duration of the playbook's signals and triggers (`for`) and of [canary]
(window, trend_window, hold_extension) scaled by stage hold / 900 s (the default stage), so a
run keeps the default's proportions; alpha, min_requests, limits and max_vs_stable stay default.
The threshold rule is the same signals with `judge = "threshold"`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = REPO / "cockpit" / "playbooks" / "default.toml"
WEIGHT_COMMAND = REPO / "tests" / "traffic_weight.py"
COCKPIT = [sys.executable, "-m", "cockpit"]
DEFAULT_STAGE = 900.0  # seconds: the default playbook's stage hold, what its durations are sized for
COUNTED = ("p95_latency", "error_rate", "idempotency_conflicts", "csp_violations")  # signals with a count form

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def seconds(text: str) -> float:
    """A playbook duration ("2m", "30s", "500ms") in seconds."""
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * _UNITS[unit]
    raise ValueError(f"not a duration: {text!r}")


def scaled(text: str, scale: float, floor: float = 0.0) -> str:
    value = seconds(text) * scale
    return f"{max(floor, value) if value > 0 else 0:g}s"


@dataclass
class Timing:
    """The bench's clock: stage holds, evaluation period, and the factor on the playbook's durations."""

    hold: float = 30.0
    evaluate_every: float = 2.0
    weights: tuple[float, ...] = (1, 5, 25, 50, 100)

    @property
    def scale(self) -> float:
        return self.hold / DEFAULT_STAGE

    def window(self) -> float:
        # The default 1m window is 1/15 of a stage; scaled that is 2 s, fewer points than a rate needs
        # when a scrape is late on a busy machine: at least 10 scrapes (1 s).
        return max(10.0, 60.0 * self.scale)


@dataclass
class RunSpec:
    name: str  # the app label, also the run's folder
    rule: str  # "sequential" (the playbook's count forms) or "threshold"
    canary_error_rate: float
    kind: str  # what the bench calls it: "healthy", "2x", ...
    timing: Timing = field(default_factory=Timing)
    blind: dict[str, Any] = field(default_factory=dict)  # extra [canary] keys for the slow part


def toml_value(value: Any) -> str:
    return json.dumps(value)  # TOML's basic strings, lists and numbers read as JSON writes them


def selector(app: str, track: str) -> str:
    """The label matchers of one app's track: what {selector} / {stable_selector} become."""
    return f'app="{app}",track="{track}"'


def write_config(root: Path, spec: RunSpec, prometheus_url: str, service_url: str) -> Path:
    """The run's cockpit.toml (over the default playbook) in its own folder."""
    playbook = tomllib.loads(PLAYBOOK.read_text(encoding="utf-8"))
    t = spec.timing
    weight = [str(WEIGHT_COMMAND), service_url, spec.name]
    stages = ", ".join(f'{{weight = {w:g}, hold = "{t.hold:g}s"}}' for w in t.weights)
    lines = [
        "# written by bench/judgement.py: the default playbook on a bench clock",
        "[prometheus]", f"url = {toml_value(prometheus_url)}", 'timeout = "5s"', "",
        "[evidence]", 'dir = "evidence"', "",
        "[canary]",
        f'evaluate_every = "{t.evaluate_every:g}s"',
        f'window = "{t.window():g}s"',
        'min_window = "3s"',  # two scrapes at 1 s, as the README asks
        f'trend_window = "{max(4.0, 300 * t.scale):g}s"',
        f'hold_extension = "{t.hold:g}s"',
        'recovery_window = "0s"',
        f"selector = {toml_value(selector(spec.name, 'canary'))}",
        f"stable_selector = {toml_value(selector(spec.name, 'stable'))}",
        f"stages = [{stages}]",
        *(f"{key} = {toml_value(value)}" for key, value in spec.blind.items()),
        "",
        "[traffic]",
        f"set_weight = {toml_value([sys.executable, *weight, '{weight}'])}",
        f"rollback = {toml_value([sys.executable, *weight, '0'])}",
        "retries = 0",
        "",
    ]
    for name, signal in playbook.get("signals", {}).items():
        lines.append(f"[signals.{name}]")
        if "for" in signal:
            lines.append(f'for = "{scaled(signal["for"], t.scale, floor=t.evaluate_every)}"')
        if spec.rule == "threshold" and name in COUNTED:
            lines.append('judge = "threshold"')
        lines.append("")
    for trigger in playbook.get("triggers", []):
        if "for" in trigger:
            lines += ["[[triggers]]", f"name = {toml_value(trigger['name'])}",
                      f'for = "{scaled(trigger["for"], t.scale, floor=t.evaluate_every)}"', ""]
    folder = root / spec.name
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "cockpit.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def take_baseline(config: Path, version: str) -> subprocess.CompletedProcess:
    """`cockpit check preflight.baseline`: the CSP signal's limit is relative to the baseline."""
    return subprocess.run([*COCKPIT, "check", "preflight.baseline", "--version", version, "--config", str(config)],
                          cwd=config.parent, capture_output=True, text=True, timeout=120)


def start_canary(config: Path, version: str) -> subprocess.Popen:
    """The real headless canary, its output in the run's folder."""
    folder = config.parent
    return subprocess.Popen(
        [*COCKPIT, "canary", version, "--config", str(config), "--headless", "--without-go",
         "--reason", "bench/judgement.py: a benchmark canary", "--by", "BN"],
        cwd=folder, stdout=open(folder / "stdout.txt", "wb"), stderr=open(folder / "stderr.txt", "wb"),
    )


def journal(config: Path, version: str) -> list[dict[str, Any]]:
    from cockpit.run.journal import read_journal

    path = config.parent / "evidence" / version / "journal.jsonl"
    return read_journal(path).records if path.exists() else []


def when(record: dict[str, Any]) -> float:
    """A record's `ts` in seconds since the epoch."""
    ts = record["ts"]
    return float(ts) if isinstance(ts, (int, float)) else datetime.fromisoformat(str(ts)).timestamp()


@dataclass
class Outcome:
    spec: RunSpec
    result: str  # promoted, rolled_back, aborted, or "exit N" when the run never finished
    weight: float  # the last weight traffic was shifted to before the end
    seconds: float | None  # first shift to the rollback decision
    reasons: list[str]
    holds: int


def read_outcome(spec: RunSpec, config: Path, version: str, returncode: int | None) -> Outcome:
    records = journal(config, version)
    shifts = [r for r in records if r["event"] == "traffic_shifted" and r.get("ok")]
    done = next((r for r in records if r["event"] == "canary_done"), None)
    rollback = next((r for r in records if r["event"] == "rollback_started"), None)
    result = str(done["result"]) if done else f"exit {returncode}"
    weight = float(shifts[-1]["weight"]) if shifts else 0.0
    took = when(rollback) - when(shifts[0]) if rollback and shifts else None
    reasons = [f"{r.get('name')}: {r.get('message')}" for r in (rollback or {}).get("reasons", [])]
    holds = sum(1 for r in records if r["event"] == "hold")
    if done is None:  # never finished: its own last words say why (a probe that stopped the start, ...)
        stderr = (config.parent / "stderr.txt").read_text(errors="replace").strip().splitlines()
        reasons = [line for line in stderr if "CANNOT START" in line][:2] or stderr[-1:]
    return Outcome(spec, result, weight, took, reasons, holds)
