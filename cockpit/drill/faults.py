"""Fault models: what each injected fault does to the canary, as a pure function of time since it began.

A fault's `effects(seconds_active)` says how the canary's traffic and process
look while it lasts; the simulator adds the effects of every active fault to its
healthy model. Magnitudes are in drill time (the simulator runs on the wall
clock), so a "slow" creep here is seconds, not hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FAULT_KINDS = (
    "latency_spike",
    "error_burst",
    "slow_creep",
    "eventloop_stall",
    "gc_pauses",
    "connection_creep",
    "no_data",
)


@dataclass(frozen=True)
class Effects:
    """How the canary deviates from healthy right now (zero: healthy)."""

    latency_add_s: float = 0.0  # added to every canary request's latency
    error_ratio: float = 0.0  # share of canary requests answered 5xx
    risk_blocks_per_min: float = 0.0  # extra orders blocked by the risk engine
    eventloop_lag_s: float = 0.0  # added to the event-loop lag (p99; p90/p50 less)
    gc_pause_s: float | None = None  # mean GC pause while it lasts (None: the healthy one)
    connections_per_s: float = 0.0  # pgBouncer server connections leaked per second
    no_data: bool = False  # the canary's series vanish from what is scraped
    kinds: tuple[str, ...] = field(default=())  # the faults behind these effects

    @property
    def healthy(self) -> bool:
        return not self.kinds


HEALTHY = Effects()


def fault_effects(kind: str, magnitude: dict[str, float], seconds_active: float) -> Effects:
    """The effects of one fault of `kind`, `seconds_active` after it began.

    `magnitude` holds the fault's own fields (latency_ms, error_ratio, ...), all
    with defaults, so `fault_effects("latency_spike", {}, 0)` is a usable spike.
    """
    t = max(0.0, seconds_active)
    m = magnitude
    if kind == "latency_spike":
        return Effects(latency_add_s=m.get("latency_ms", 300.0) / 1000, kinds=(kind,))
    if kind == "error_burst":
        return Effects(
            error_ratio=m.get("error_ratio", 0.2),
            risk_blocks_per_min=m.get("risk_blocks_per_min", 0.0),
            kinds=(kind,),
        )
    if kind == "slow_creep":
        added_ms = min(m.get("ms_per_s", 20.0) * t, m.get("max_ms", 2000.0))
        return Effects(latency_add_s=added_ms / 1000, kinds=(kind,))
    if kind == "eventloop_stall":
        # A blocked event loop delays every request queued behind it.
        return Effects(
            eventloop_lag_s=m.get("lag_ms", 150.0) / 1000,
            latency_add_s=m.get("latency_ms", 250.0) / 1000,
            kinds=(kind,),
        )
    if kind == "gc_pauses":
        return Effects(gc_pause_s=m.get("pause_ms", 60.0) / 1000, kinds=(kind,))
    if kind == "connection_creep":
        return Effects(connections_per_s=m.get("per_s", 10.0), kinds=(kind,))
    if kind == "no_data":
        return Effects(no_data=True, kinds=(kind,))
    raise ValueError(f"unknown fault kind {kind!r} (one of: {', '.join(FAULT_KINDS)})")


def combine(effects: list[Effects]) -> Effects:
    """Several faults at once: latencies and leaks add up, ratios and pauses take the worst."""
    if not effects:
        return HEALTHY
    pauses = [e.gc_pause_s for e in effects if e.gc_pause_s is not None]
    return Effects(
        latency_add_s=sum(e.latency_add_s for e in effects),
        error_ratio=min(1.0, max(e.error_ratio for e in effects)),
        risk_blocks_per_min=sum(e.risk_blocks_per_min for e in effects),
        eventloop_lag_s=sum(e.eventloop_lag_s for e in effects),
        gc_pause_s=max(pauses) if pauses else None,
        connections_per_s=sum(e.connections_per_s for e in effects),
        no_data=any(e.no_data for e in effects),
        kinds=tuple(k for e in effects for k in e.kinds),
    )
