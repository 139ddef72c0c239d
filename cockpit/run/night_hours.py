"""The first night's hours: per-hour aggregates of signals and triggers, the hourly log and the stability report.

An hour keeps only what its log needs: per signal the count of each state, the
min and max, and the judged values for the p50 (exact up to RESERVOIR values,
then a fixed-size reservoir sample, flagged as approximate); per trigger when it
first fired and how often; a bounded list of notable events. When the hour
closes its summary (a small JSON-ready dict) goes into the journal's
`hour_closed` record, and the hourly log and the stability report are written
from those summaries alone, so a resumed night writes the same files.

Back-filled points (from Prometheus' history after a stop) are judged against
the limit without a `for` duration: WITHIN or OVER, and a missing point is
BLIND; live samples keep the signal board's states.
"""

from __future__ import annotations

import random
import statistics
import zlib
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from cockpit.clock import iso_utc
from cockpit.format import format_clock, format_duration, format_value

RESERVOIR = 4096  # judged values kept per signal per hour for the p50
MAX_EVENTS = 60  # notable events kept per hour (the rest are counted)
# Worst first: what an hour's one-word state is.
SEVERITY = ("FAIL", "OVER", "BREACHING", "BLIND", "WARN", "INSUFFICIENT", "PASS", "WITHIN")
JUDGED = ("PASS", "WARN", "BREACHING", "FAIL", "WITHIN", "OVER")
GOOD = ("PASS", "WARN", "WITHIN")
BAD = ("FAIL", "OVER", "BREACHING")


def worst_of(states: Iterable[str]) -> str | None:
    present = set(states)
    return next((s for s in SEVERITY if s in present), None)


def hour_label(hour: int) -> str:
    return f"{hour:02d}"


def hourly_log_file(hour: int) -> str:
    return f"hourly_log_{hour_label(hour)}.txt"


def stability_report_file(hours: int) -> str:
    return f"stability_report_{hours}h.md"


class SignalHour:
    """One signal over one hour."""

    __slots__ = ("name", "unit", "limit", "values", "seen", "low", "high", "states", "over", "_rng")

    def __init__(self, name: str, unit: str = "") -> None:
        self.name = name
        self.unit = unit
        self.limit: float | None = None
        self.values: list[float] = []
        self.seen = 0  # judged values offered (values keeps at most RESERVOIR of them)
        self.low: float | None = None
        self.high: float | None = None
        self.states: dict[str, int] = {}
        self.over = 0
        # Deterministic per signal, so the same samples give the same file.
        self._rng = random.Random(zlib.crc32(name.encode()))

    def add(self, value: float | None, state: str, limit: float | None, unit: str = "") -> None:
        self.states[state] = self.states.get(state, 0) + 1
        if unit:
            self.unit = unit
        if limit is not None:
            self.limit = limit
        if state in BAD:
            self.over += 1
        if value is None or state not in JUDGED:
            return
        self.seen += 1
        self.low = value if self.low is None else min(self.low, value)
        self.high = value if self.high is None else max(self.high, value)
        if len(self.values) < RESERVOIR:
            self.values.append(value)
        else:  # reservoir sampling (Algorithm R): memory stays RESERVOIR floats however long the hour
            slot = self._rng.randrange(self.seen)
            if slot < RESERVOIR:
                self.values[slot] = value

    def summary(self, baseline: float | None) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "limit": self.limit,
            "baseline": baseline,
            "min": self.low,
            "p50": statistics.median(self.values) if self.values else None,
            "max": self.high,
            "p50_exact": self.seen <= RESERVOIR,
            "samples": sum(self.states.values()),
            "judged": self.seen,
            "over": self.over,
            "states": dict(self.states),
            "worst": worst_of(self.states),
        }


class HourAggregate:
    """Everything one hour of the night needs for its log; nothing more."""

    def __init__(self, hour: int, started_at: float, ends_at: float, carry: Mapping[str, Any] | None = None) -> None:
        self.hour = hour
        self.started_at = started_at
        self.ends_at = ends_at
        self.signals: dict[str, SignalHour] = {}
        self.triggers: dict[str, dict[str, Any]] = {}
        self.events: deque[tuple[float, str]] = deque(maxlen=MAX_EVENTS)
        self.dropped_events = 0
        self.live_samples = 0
        self.backfilled_points = 0
        self.backfilled_spans: list[tuple[float, float]] = []
        self.backfill_errors: list[str] = []
        self.rollbacks: list[dict[str, Any]] = []
        self.last_sample_at: float | None = None
        carry = carry or {}
        # What the hour before ended with, so a change across the hour boundary is still noticed.
        self.signal_states: dict[str, str] = dict(carry.get("signals") or {})
        self.trigger_states: dict[str, str] = dict(carry.get("triggers") or {})

    def carry(self) -> dict[str, Any]:
        return {"signals": dict(self.signal_states), "triggers": dict(self.trigger_states)}

    def note(self, at: float, text: str) -> None:
        if len(self.events) == self.events.maxlen:
            self.dropped_events += 1
        self.events.append((at, " ".join(text.split())))

    def signal(self, name: str) -> SignalHour:
        found = self.signals.get(name)
        if found is None:
            found = self.signals[name] = SignalHour(name)
        return found

    def add_sample(self, at: float, signals: Mapping[str, Mapping[str, Any]], triggers: Mapping[str, Mapping[str, Any]]) -> None:
        """A live evaluation, in the journal's `sample` form ({name: {value, state, limit, unit, ...}})."""
        self.live_samples += 1
        self.last_sample_at = at if self.last_sample_at is None else max(self.last_sample_at, at)
        for name, data in signals.items():
            state = str(data.get("state") or "BLIND")
            value = data.get("value") if isinstance(data.get("value"), (int, float)) else None
            limit = data.get("limit") if isinstance(data.get("limit"), (int, float)) else None
            unit = str(data.get("unit") or "")
            self.signal(name).add(value, state, limit, unit)
            before = self.signal_states.get(name)
            if before is not None and before != state and not (before in GOOD and state in GOOD):
                why = f"{format_value(value, unit)}, limit {format_value(limit, unit)}" if state in BAD else str(data.get("reason") or "")[:160]
                self.note(at, f"{name} {before} → {state}" + (f" ({why})" if why else ""))
            elif before is None and state not in GOOD:
                self.note(at, f"{name} {state}: {str(data.get('reason') or '')[:160]}")
            self.signal_states[name] = state
        seen: set[str] = set()
        for name, data in triggers.items():
            if data.get("error"):
                state = "ERROR"
            elif data.get("active"):
                state = "ACTIVE"
            elif data.get("firing"):
                state = "FIRING"
            else:
                continue
            seen.add(name)
            if state != "ERROR":
                entry = self.triggers.setdefault(
                    name, {"action": data.get("action"), "auto": bool(data.get("auto")), "first_at": at, "last_at": at,
                           "firing": 0, "active": False, "backfilled": False, "dry_run": bool(data.get("dry_run"))}
                )
                entry["firing"] += 1
                entry["last_at"] = at
                entry["active"] = entry["active"] or state == "ACTIVE"
            before = self.trigger_states.get(name)
            if before != state:
                if state == "ERROR":
                    self.note(at, f"trigger {name} cannot be evaluated: {str(data.get('error'))[:160]}")
                else:
                    action = f"{'auto ' if data.get('auto') else ''}{data.get('action')}"
                    self.note(at, f"trigger {name} {state} ({action})" + (" [dry-run]" if data.get("dry_run") else ""))
            self.trigger_states[name] = state
        for name in [n for n in self.trigger_states if n not in seen]:
            self.note(at, f"trigger {name} quiet again")
            del self.trigger_states[name]

    def add_history(self, name: str, unit: str, limit: float | None, points: Iterable[tuple[float, float | None, str]]) -> None:
        """Back-filled points of a signal: (ts, value or None, state WITHIN/OVER/INSUFFICIENT/BLIND)."""
        signal = self.signal(name)
        signal.unit = unit or signal.unit
        for _, value, state in points:
            signal.add(value, state, limit)
            self.backfilled_points += 1

    def add_history_trigger(self, name: str, action: str, auto: bool, times: list[float]) -> None:
        if not times:
            return
        entry = self.triggers.setdefault(
            name, {"action": action, "auto": auto, "first_at": times[0], "last_at": times[-1], "firing": 0,
                   "active": False, "backfilled": True, "dry_run": False}
        )
        entry["firing"] += len(times)
        entry["first_at"] = min(entry["first_at"], times[0])
        entry["last_at"] = max(entry["last_at"], times[-1])
        entry["backfilled"] = True
        self.note(times[0], f"trigger {name} fired in Prometheus' history ({len(times)} points; back-filled, no rollback run for the past)")

    def summary(self, baseline: Mapping[str, float | None] | None = None) -> dict[str, Any]:
        """The hour as the `hour_closed` record carries it."""
        signals = {name: s.summary((baseline or {}).get(name)) for name, s in self.signals.items()}
        worst = worst_of(s["worst"] for s in signals.values() if s["worst"])
        return {
            "hour": self.hour,
            "from": self.started_at,
            "to": self.ends_at,
            "backfilled": bool(self.backfilled_points or self.backfilled_spans),
            "live_samples": self.live_samples,
            "backfilled_points": self.backfilled_points,
            "backfilled_spans": [[a, b] for a, b in self.backfilled_spans],
            "backfill_errors": list(self.backfill_errors[:10]),
            "signals": signals,
            "triggers": dict(self.triggers),
            "events": [[at, text] for at, text in self.events],
            "dropped_events": self.dropped_events,
            "rollbacks": list(self.rollbacks),
            "worst": worst or "BLIND",
        }


# ---------------------------------------------------------------- texts


def _since_start(ts: float, night_start: float) -> str:
    whole = int(round(max(0.0, ts - night_start)))
    hours, rest = divmod(whole, 3600)
    return f"{hours:02d}:{rest // 60:02d}"


def hourly_log_text(version: str, hour: Mapping[str, Any], *, night_start: float, hours: int, every: float,
                    baseline_file: str | None) -> str:
    """hourly_log_<HH>.txt: each signal's min / p50 / max against its limit and baseline, triggers, events."""
    number = int(hour["hour"])
    start, end = float(hour["from"]), float(hour["to"])
    lines = [
        f"# First night — {version} — hour {hour_label(number)} of {hours}",
        f"window:    {iso_utc(start)} → {iso_utc(end)} ({_since_start(start, night_start)}–{_since_start(end, night_start)} since the night's start)",
    ]
    live = int(hour.get("live_samples") or 0)
    source = [f"live: {live} sample(s), every {format_duration(every)}"] if live else []
    for span in hour.get("backfilled_spans") or []:
        source.append(f"BACK-FILLED from Prometheus history (query_range, step {format_duration(every)}): "
                      f"{format_clock(span[0])}–{format_clock(span[1])} UTC")
    if hour.get("backfilled"):
        source.append(f"back-filled points: {hour.get('backfilled_points')} (judged against the limit without `for`)")
    lines.append("source:    " + ("\n           ".join(source) if source else "nothing: no sample and no history"))
    for error in hour.get("backfill_errors") or []:
        lines.append(f"           back-fill problem: {error}")
    lines.append(f"baseline:  {baseline_file or 'none: signals with limits relative to the baseline are BLIND'}")
    lines.append(f"worst:     {hour.get('worst')}")
    lines.append("")
    header = f"{'signal':<24} {'min':>10} {'p50':>10} {'max':>10} {'limit':>10} {'baseline':>10}  {'judged':>9}  states"
    lines += [header, "-" * len(header)]
    for name, s in (hour.get("signals") or {}).items():
        unit = str(s.get("unit") or "")
        p50 = format_value(s.get("p50"), unit, "audit") + ("" if s.get("p50_exact", True) else "≈")
        states = ", ".join(f"{n} {state}" for state, n in sorted((s.get("states") or {}).items(), key=lambda kv: SEVERITY.index(kv[0]) if kv[0] in SEVERITY else 99))
        lines.append(
            f"{name:<24} {format_value(s.get('min'), unit, 'audit'):>10} {p50:>10} {format_value(s.get('max'), unit, 'audit'):>10} "
            f"{format_value(s.get('limit'), unit, 'audit'):>10} {format_value(s.get('baseline'), unit, 'audit'):>10}  "
            f"{s.get('judged', 0):>4}/{s.get('samples', 0):<4}  {states or '-'}"
        )
    lines += ["", "triggers that fired:"]
    triggers = hour.get("triggers") or {}
    if not triggers:
        lines.append("  none")
    for name, t in triggers.items():
        action = f"{'auto ' if t.get('auto') else ''}{t.get('action')}"
        status = "ACTIVE" if t.get("active") else ("from history" if t.get("backfilled") else "firing, not for its `for`")
        lines.append(f"  {name:<32} {action:<16} {status}; first {format_clock(t.get('first_at'))}, last {format_clock(t.get('last_at'))}, "
                     f"{t.get('firing')} evaluation(s)/point(s)" + (" [dry-run]" if t.get("dry_run") else ""))
    rollbacks = hour.get("rollbacks") or []
    if rollbacks:
        lines += ["", "ROLLBACK during this hour:"]
        for rb in rollbacks:
            lines.append(f"  decided {format_clock(rb.get('decided_at'))} UTC: {rb.get('why')}")
            lines.append(f"  command: {'OK' if rb.get('ok') else 'FAILED'}"
                         + (f" ({rb.get('error')})" if rb.get("error") else "")
                         + f", {rb.get('attempts')} attempt(s), started {rb.get('to_start')} and ended {rb.get('to_end')} after the decision")
    lines += ["", "notable events:"]
    events = hour.get("events") or []
    if not events:
        lines.append("  none")
    for at, text in events:
        lines.append(f"  {format_clock(at)}  {text}")
    if hour.get("dropped_events"):
        lines.append(f"  … and {hour['dropped_events']} earlier event(s) not kept (the journal has every sample)")
    return "\n".join(lines) + "\n"


def hour_line(hour: Mapping[str, Any]) -> str:
    """The hour in one line (the hourly page): worst state, signals not passing, triggers, how it was seen."""
    parts = [f"worst {hour.get('worst')}"]
    bad = []
    for name, s in (hour.get("signals") or {}).items():
        if s.get("worst") not in ("PASS", "WITHIN", "WARN"):
            unit = str(s.get("unit") or "")
            bad.append(f"{name} {s.get('worst')}" + (f" (max {format_value(s.get('max'), unit)}, limit {format_value(s.get('limit'), unit)})"
                                                     if s.get("over") else ""))
    parts.append("; ".join(bad) if bad else f"{len(hour.get('signals') or {})} signals within limits")
    fired = sorted((hour.get("triggers") or {}).keys())
    parts.append("triggers fired: " + (", ".join(fired) if fired else "none"))
    if hour.get("rollbacks"):
        parts.append("ROLLBACK " + ("done" if all(r.get("ok") for r in hour["rollbacks"]) else "FAILED"))
    if hour.get("backfilled"):
        parts.append("back-filled from Prometheus history")
    return " · ".join(parts)


# A night that mostly saw nothing says so: UNKNOWN (exit 3), never "stable". The rule, stated once:
# an hour is blind when fewer than half of its signal samples carried a judged value (BLIND and
# INSUFFICIENT carry none), and the night is UNKNOWN when it closed no hour with a judged value at all,
# or when more than half of its closed hours were blind.
BLIND_HOUR_SHARE = 0.5  # an hour with a smaller share of judged signal samples is blind
BLIND_NIGHT_SHARE = 0.5  # a night with a larger share of blind hours is UNKNOWN
BLIND_NIGHT_RULE = ("more than half of its closed hours were blind (fewer than half of an hour's signal samples "
                    "had data: BLIND or INSUFFICIENT), or no sample had data at all")


def hour_sight(hour: Mapping[str, Any]) -> tuple[int, int]:
    """(judged, sampled): how many of the hour's signal samples carried a judged value, out of how many."""
    judged = sampled = 0
    for signal in (hour.get("signals") or {}).values():
        if isinstance(signal, Mapping):
            judged += int(signal.get("judged") or 0)
            sampled += int(signal.get("samples") or 0)
    return judged, sampled


def hour_is_blind(hour: Mapping[str, Any]) -> bool:
    """Fewer than half of the hour's signal samples had data; without per-signal counts, its worst state says."""
    judged, sampled = hour_sight(hour)
    if sampled == 0:
        return hour.get("worst") in (None, "BLIND", "INSUFFICIENT")
    return judged < BLIND_HOUR_SHARE * sampled


def blind_hours(closed: list[Mapping[str, Any]]) -> list[int]:
    """The closed hours that were blind (hour_is_blind), in order."""
    return sorted(int(h["hour"]) for h in closed if hour_is_blind(h))


def night_is_blind(closed: list[Mapping[str, Any]]) -> bool:
    """BLIND_NIGHT_RULE: no hour closed, or more than half the closed hours blind (all blind: no data at all)."""
    return not closed or len(blind_hours(closed)) > BLIND_NIGHT_SHARE * len(closed)


def night_verdict(closed: list[Mapping[str, Any]], rollbacks: int) -> str:
    """rolled back | unknown (night_is_blind) | attention (a limit crossed, a trigger active, a blind or failed hour) | stable."""
    if rollbacks:
        return "rolled back"
    if night_is_blind(closed):
        return "unknown"
    for hour in closed:
        if hour.get("worst") in ("FAIL", "OVER", "BREACHING", "BLIND") or hour.get("backfill_errors"):
            return "attention"
        if any(t.get("active") or t.get("backfilled") for t in (hour.get("triggers") or {}).values()
               if t.get("action") in ("rollback", "hold") and not t.get("dry_run")):
            return "attention"
    return "stable"


def stability_report_text(
    version: str,
    closed: list[Mapping[str, Any]],
    *,
    night_start: float,
    hours: int,
    hour_length: float,
    rollbacks: list[Mapping[str, Any]],
    baseline_file: str | None,
) -> str:
    """stability_report_<N>h.md: the night at a glance, each signal across the hours, every hour in a row."""
    closed = sorted(closed, key=lambda h: int(h["hour"]))
    verdict = night_verdict(closed, len(rollbacks))
    backfilled = [hour_label(int(h["hour"])) for h in closed if h.get("backfilled")]
    lines = [
        f"# Stability report — {version} — first {hours} hours",
        "",
        f"**Verdict: {verdict.upper()}**",
        "",
    ]
    if verdict == "unknown":
        blind = blind_hours(closed)
        lines += [f"The night was blind: {len(blind)} of {len(closed)} closed hours saw too little to judge "
                  f"({', '.join(hour_label(h) for h in blind) or 'none closed'}). UNKNOWN, not stable: "
                  f"{BLIND_NIGHT_RULE}. Find out why the signals had no data (scrape targets, the selector, "
                  "the service's traffic) before calling this release stable.", ""]
    lines += [
        f"- Night: {iso_utc(night_start)} → {iso_utc(night_start + hours * hour_length)} "
        f"({hours} hours of {format_duration(hour_length)})",
        f"- Hours closed: {len(closed)}/{hours}" + (f"; back-filled from Prometheus history: {', '.join(backfilled)}" if backfilled else ""),
        f"- Rollbacks: {len(rollbacks)}",
        f"- Baseline: {baseline_file or 'none'}",
        "",
    ]
    for rb in rollbacks:
        lines.append(f"- **ROLLBACK in hour {hour_label(int(rb.get('hour') or 0))}** at {format_clock(rb.get('decided_at'))} UTC: {rb.get('why')}; "
                     f"command {'OK' if rb.get('ok') else 'FAILED'}, ended {rb.get('to_end')} after the decision")
    if rollbacks:
        lines.append("")
    lines += ["## Signals across the night", "",
              "| signal | min | median of hourly p50 | max | limit | baseline | hours over the limit | hours without a judged value |",
              "|---|---|---|---|---|---|---|---|"]
    names: list[str] = []
    for hour in closed:
        names += [n for n in (hour.get("signals") or {}) if n not in names]
    for name in names:
        rows = [h["signals"][name] for h in closed if name in (h.get("signals") or {})]
        unit = str(next((r.get("unit") for r in rows if r.get("unit")), ""))
        mins = [r["min"] for r in rows if r.get("min") is not None]
        maxs = [r["max"] for r in rows if r.get("max") is not None]
        p50s = [r["p50"] for r in rows if r.get("p50") is not None]
        over = [hour_label(int(h["hour"])) for h in closed if (h.get("signals") or {}).get(name, {}).get("over")]
        blind = [hour_label(int(h["hour"])) for h in closed if name in (h.get("signals") or {}) and not h["signals"][name].get("judged")]
        limit = next((r.get("limit") for r in reversed(rows) if r.get("limit") is not None), None)
        base = next((r.get("baseline") for r in rows if r.get("baseline") is not None), None)
        lines.append(
            f"| {name} | {format_value(min(mins) if mins else None, unit, 'audit')} | {format_value(statistics.median(p50s) if p50s else None, unit, 'audit')} | "
            f"{format_value(max(maxs) if maxs else None, unit, 'audit')} | {format_value(limit, unit, 'audit')} | {format_value(base, unit, 'audit')} | "
            f"{', '.join(over) or '-'} | {', '.join(blind) or '-'} |"
        )
    lines += ["", "## Hour by hour", "", "| hour | source | worst | triggers fired | events |", "|---|---|---|---|---|"]
    for hour in closed:
        fired = ", ".join(
            f"{n}{' (ACTIVE)' if t.get('active') else ''}{' (history)' if t.get('backfilled') else ''}"
            for n, t in (hour.get("triggers") or {}).items()
        ) or "-"
        source = "BACK-FILLED" + (" + live" if hour.get("live_samples") else "") if hour.get("backfilled") else "live"
        rollback = " **ROLLBACK**" if hour.get("rollbacks") else ""
        lines.append(f"| [{hour_label(int(hour['hour']))}]({hourly_log_file(int(hour['hour']))}) | {source} | "
                     f"{hour.get('worst')}{rollback} | {fired} | {len(hour.get('events') or []) + int(hour.get('dropped_events') or 0)} |")
    missing = sorted(set(range(hours)) - {int(h["hour"]) for h in closed})
    if missing:
        lines += ["", f"Hours not closed: {', '.join(hour_label(h) for h in missing)}"]
    lines.append("")
    return "\n".join(lines)
