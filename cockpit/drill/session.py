"""One drill: the simulator, a real Prometheus (or the built-in source), the drill config, and a canary run over them.

    async with DrillSession(DrillOptions(load_scenario("latency_spike"))) as drill:
        outcome = await drill.run(events=sink, say=printer)

With a `prometheus` binary on PATH the session starts one scraping the simulator
every second and the canary reads it through the ordinary PrometheusSource;
without one it reads the simulator directly (DrillSource). Either way the run
is the real engine (run_canary, drill=True): the real signal and trigger
boards, decision matrix, journal, traffic commands and evidence. Everything it
emits is labelled DRILL: every event passed on carries "drill": true.

Besides the canary's own events, the session emits `drill_fault` events (not
journaled: the journal is the canary's record) when a scenario fault starts,
is first seen by a reader (the first scrape carrying it) and ends.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.clock import Clock, SystemClock, iso_utc
from cockpit.config import CockpitConfig
from cockpit.drill.configuration import DEFAULT_STAGE_SECONDS, drill_config
from cockpit.drill.prometheus import DrillPrometheus, prometheus_binary
from cockpit.drill.scenario import Scenario
from cockpit.drill.simulator import Simulator
from cockpit.errors import UnavailableError
from cockpit.events import Event
from cockpit.evidence import EvidenceStore
from cockpit.run.control import socket_path

WARMUP_TIMEOUT_S = 30.0
UNIX_PATH_MAX = 107  # sun_path's 108 bytes, less the NUL
READY_QUERY = 'sum(rate(http_requests_total{track="stable"}[5s]))'


class DrillError(UnavailableError):
    """The drill cannot start (no Prometheus binary, Prometheus would not come up, no data): one line, exit 3."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"DRILL could not start: {reason}")


def drill_version(scenario: str, at: float | None = None) -> str:
    """A release version naming the drill: v0.0.0-drill.<scenario>.<UTC time> (each drill its own evidence folder)."""
    name = re.sub(r"[^0-9A-Za-z-]+", "-", scenario.replace("_", "-")).strip("-") or "scenario"
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(at if at is not None else time.time()))
    return f"v0.0.0-drill.{name}.{stamp}"


@dataclass
class DrillOptions:
    scenario: Scenario
    stage_seconds: float = DEFAULT_STAGE_SECONDS
    evaluate_every: float = 1.0
    recovery_window: float = 15.0
    evidence_dir: Path | None = None  # None: a new temporary folder, kept for reading afterwards
    use_prometheus: bool | None = None  # None: when a prometheus binary is on PATH
    version: str | None = None
    control: bool = True  # the run's control socket: `cockpit ctl` works on a drill too
    # The drill screen's DrillEnvironment, already serving the checklists: its simulator and Prometheus are
    # reused (and left running: the environment stops them).
    environment: Any = None


class DrillSink:
    """Passes every event on with "drill": true (the canary's records keep their journal hash fields)."""

    def __init__(self, *sinks: Any) -> None:
        self.sinks = [s for s in sinks if s is not None]

    def emit(self, record: dict[str, Any]) -> None:
        marked = {**record, "drill": True}
        for sink in self.sinks:
            sink.emit(marked)


@dataclass
class DrillSession:
    options: DrillOptions
    clock: Clock = field(default_factory=SystemClock)
    simulator: Simulator | None = None
    prometheus: DrillPrometheus | None = None
    source: Any = None
    config: CockpitConfig | None = None
    store: EvidenceStore | None = None
    baseline: dict[str, float | None] | None = None
    fault_events: list[dict[str, Any]] = field(default_factory=list)
    _sink: Any = None
    _loop: asyncio.AbstractEventLoop | None = None

    @property
    def uses_prometheus(self) -> bool:
        return self.prometheus is not None

    @property
    def source_label(self) -> str:
        if self.prometheus is not None:
            return f"Prometheus {self.prometheus.url} (started for this drill, scraping the simulator every 1s)"
        return "the simulator, read directly (no prometheus on PATH: DRILL source, no PromQL evaluated)"

    async def __aenter__(self) -> DrillSession:
        try:
            await self.start()
        except BaseException:
            if self.prometheus is not None:
                self.prometheus.terminate()
            await asyncio.to_thread(self.close)
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        # SIGTERM at once: if the loop is torn down before close() finishes, Prometheus still goes.
        if self.prometheus is not None and self.options.environment is None:
            self.prometheus.terminate()
        await asyncio.to_thread(self.close)

    async def start(self) -> None:
        """Start the simulator and the source; wait until the signals have data; take the baseline."""
        from cockpit.drill.source import DrillSource

        options = self.options
        self._loop = asyncio.get_running_loop()
        environment = options.environment
        if environment is not None:
            self.simulator = environment.simulator
            assert self.simulator is not None, "the drill environment is not started"
            self.simulator.listen(self._on_fault)
            if environment.prometheus is not None:
                if not await asyncio.to_thread(environment.wait_prometheus, WARMUP_TIMEOUT_S):
                    raise DrillError(environment.prometheus_problem or "Prometheus did not come up")
                self.prometheus = environment.prometheus
            want_prometheus = False
        else:
            self.simulator = Simulator(options.scenario).start()
            self.simulator.listen(self._on_fault)
            want_prometheus = options.use_prometheus if options.use_prometheus is not None else prometheus_binary() is not None
        if want_prometheus:
            if prometheus_binary() is None:
                raise DrillError("no prometheus binary on PATH: use --source simulator to read the simulator directly")
            from cockpit.drill.prometheus import DrillPrometheusError

            self.prometheus = DrillPrometheus(self.simulator.address)
            for _ in range(3):  # a port taken between picking and binding: try another
                try:
                    self.prometheus.launch()  # from the loop's thread: Prometheus dies with this process
                except DrillPrometheusError as exc:
                    raise DrillError(str(exc)) from None
                if await asyncio.to_thread(self.prometheus.wait_ready):
                    break
                self.prometheus.stop()
            else:
                raise DrillError(f"Prometheus did not become ready: {self.prometheus.last_log_line()}")
        root = options.evidence_dir or Path(tempfile.mkdtemp(prefix="cockpit-drill-"))
        self.config = drill_config(
            simulator_url=self.simulator.url,
            prometheus_url=self.prometheus.url if self.prometheus else None,
            evidence_dir=str(root),
            stage_seconds=options.stage_seconds,
            evaluate_every=options.evaluate_every,
            recovery_window=options.recovery_window,
        )
        if self.prometheus is not None:
            from cockpit.sources.prometheus import PrometheusSource

            assert self.config.prometheus is not None
            self.source = PrometheusSource(self.config.prometheus, self.config.redactor())
            if not await asyncio.to_thread(self.prometheus.wait_for_data, READY_QUERY, WARMUP_TIMEOUT_S):
                raise DrillError(f"Prometheus at {self.prometheus.url} had no data from the simulator after {WARMUP_TIMEOUT_S:g}s")
        else:
            self.source = DrillSource(self.simulator, self.config, self.clock.now)
        version = options.version or drill_version(options.scenario.name or "scenario", self.clock.now())
        self.store = EvidenceStore(root, version, self.config.redactor())
        self.baseline = await self.take_baseline()

    async def take_baseline(self, timeout: float = WARMUP_TIMEOUT_S) -> dict[str, float | None]:
        """The stable track's value of every signal (as the preflight's baseline check takes it), written as evidence."""
        from cockpit.checks.baseline import write_baseline
        from cockpit.engine.promql_text import render_query

        assert self.config is not None and self.store is not None
        canary = self.config.canary
        stable = canary.model_copy(update={"selector": canary.stable_selector})
        queries = {name: render_query(s.query, canary.window, stable) for name, s in self.config.enabled_signals().items()}
        deadline = time.monotonic() + timeout
        while True:
            results = await asyncio.gather(*(self.source.query(q) for q in queries.values()))
            values = {name: r.scalar() for name, r in zip(queries, results)}
            if all(v is not None for v in values.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.25)
        write_baseline(self.store, iso_utc(self.clock.now()), values)
        return values

    def _on_fault(self, event: dict[str, Any]) -> None:
        # Called on the simulator's threads: hand the record to the event loop.
        record = {"ts": event["at"], "event": Event.DRILL_FAULT, **{k: v for k, v in event.items() if k != "at"}}
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._emit_fault, record)
            except RuntimeError:
                pass  # the loop is closing: the run is over

    def _emit_fault(self, record: dict[str, Any]) -> None:
        self.fault_events.append(record)
        if self._sink is not None:
            try:
                self._sink.emit(record)
            except Exception:
                pass

    async def run(self, events: Any = None, say: Any = None) -> Any:
        """Run the canary over the drill (run_canary with drill=True); returns its CanaryOutcome."""
        from cockpit.run.canary import run_canary

        assert self.config is not None and self.store is not None
        self._sink = DrillSink(events)
        for record in list(self.fault_events):  # faults that started before the run (after = 0)
            self._sink.emit(record)
        control = self.options.control and self.control_available()
        if self.options.control and not control and say is not None:
            say(f"no control socket for this drill: {socket_path(self.store.dir)} is too long for a Unix socket "
                f"(use a shorter --evidence-dir to command it with `cockpit ctl`)", True)
        return await run_canary(
            self.config,
            self.store.version,
            source=self.source,
            clock=self.clock,
            store=self.store,
            events=self._sink,
            baseline=self.baseline,
            drill=True,
            control=control,
            say=say,
        )

    def control_available(self) -> bool:
        """Whether the run's control socket path fits a Unix socket address (a long evidence path does not)."""
        assert self.store is not None
        return len(str(socket_path(self.store.dir)).encode()) <= UNIX_PATH_MAX

    def close(self) -> None:
        """Stop everything the drill started (idempotent)."""
        if self.source is not None and hasattr(self.source, "close"):
            try:
                self.source.close()
            except Exception:
                pass
        if self.options.environment is not None:
            return  # the environment's parts: it stops them when the drill screen closes
        if self.prometheus is not None:
            self.prometheus.close()
        if self.simulator is not None:
            self.simulator.stop()
