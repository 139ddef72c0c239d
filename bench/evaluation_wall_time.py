"""Prints how long one evaluation of the default playbook (8 signals, 20 triggers) takes behind a slow Prometheus.

  .venv/bin/python bench/evaluation_wall_time.py [--evaluations 5] [--delays 0,1,4,8] [--timeout 5]

Starts a real Prometheus (as tests/services.py does) scraping the drill's simulated service
(the healthy scenario at 25 %: every signal and trigger of the playbook has real series),
and puts tests/slow_proxy.py in front of it, answering every request `delay` seconds late.
The queries are the drill's: the default playbook's, ranges compressed. Each evaluation is what the canary
runs: the SignalBoard and the TriggerBoard at once, under the guard, through one
EvaluationAnswers (identical queries asked once). Printed per delay: wall time (median
and max), the queries Prometheus was asked per evaluation beside the number the boards
would send without sharing, and how many signals read BLIND (late answers past the
timeout are BLIND, never a pass). The target: at most timeout + 1 s at any delay, at
most 1.5 s with Prometheus answering in 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.clock import SystemClock  # noqa: E402
from cockpit.config import CockpitConfig  # noqa: E402
from cockpit.drill.configuration import drill_config  # noqa: E402
from cockpit.drill.scenario import load_scenario  # noqa: E402
from cockpit.drill.simulator import Simulator  # noqa: E402
from cockpit.engine.model import SignalState  # noqa: E402
from cockpit.engine.sampling import EvaluationAnswers, evaluate_triggers, sample_signals  # noqa: E402
from cockpit.engine.signals import SignalBoard  # noqa: E402
from cockpit.engine.triggers import TriggerBoard  # noqa: E402
from cockpit.sources.prometheus import PrometheusSource  # noqa: E402
from tests.services import Prometheus, running, temp_root  # noqa: E402
from tests.slow_proxy import SlowProxy  # noqa: E402


async def evaluate(config: CockpitConfig, answers: EvaluationAnswers, shared: bool) -> tuple[float, int]:
    """One evaluation's wall time and how many signals read BLIND."""
    clock = SystemClock()
    now = clock.now()
    signals, triggers = SignalBoard(config, answers, clock), TriggerBoard(config, answers, clock)
    for board in (signals, triggers):
        board.bound_to(now - 600)  # a run ten minutes old: every window and trigger is asked
    started = time.perf_counter()
    if shared:
        with answers.evaluation():
            readings, _ = await asyncio.gather(sample_signals(signals, config, clock, now - 300, now + 600),
                                               evaluate_triggers(triggers, config, clock))
    else:
        readings, _ = await asyncio.gather(sample_signals(signals, config, clock, now - 300, now + 600),
                                           evaluate_triggers(triggers, config, clock))
    return time.perf_counter() - started, sum(r.state is SignalState.BLIND for r in readings)


async def measure(config: CockpitConfig, proxy: SlowProxy, evaluations: int) -> tuple[list[float], float, float, int]:
    source = PrometheusSource(config.prometheus)  # type: ignore[arg-type]
    answers = EvaluationAnswers(source)
    proxy.reset()
    await evaluate(config, answers, shared=False)
    unshared = proxy.requests
    proxy.reset()
    times, blind = [], 0
    for _ in range(evaluations):
        elapsed, blind = await evaluate(config, answers, shared=True)
        times.append(elapsed)
    return times, proxy.requests / evaluations, unshared, blind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=5)
    parser.add_argument("--delays", default="0,1,4,8")
    parser.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args()
    with running(Prometheus(temp_root("cockpit-bench-prom-"))) as prometheus, SlowProxy(prometheus.url) as proxy, \
            tempfile.TemporaryDirectory() as folder:
        simulator = Simulator(load_scenario("healthy")).start()
        try:
            prometheus.add_target(simulator.address, "drill")
            prometheus.wait_for_data('sum(rate(http_requests_total{track="canary"}[5s]))')
            simulator.set_weight(25)
            time.sleep(10)  # the canary's 25 % fills the windows
            config = drill_config(simulator_url=f"http://{simulator.address}", prometheus_url=proxy.url,
                                  evidence_dir=folder)
            config = config.model_copy(update={"prometheus": config.prometheus.model_copy(  # type: ignore[union-attr]
                update={"timeout": args.timeout})})
            report(config, proxy, args)
        finally:
            simulator.stop()
    return 0


def report(config: CockpitConfig, proxy: SlowProxy, args: argparse.Namespace) -> None:
    """One line per delay: wall time against its target, queries asked (shared and not), BLIND signals."""
    signals, triggers = len(config.enabled_signals()), len([t for t in config.triggers if t.enabled])
    print(f"drill config (default playbook): {signals} signals, {triggers} triggers; [prometheus] timeout "
          f"{args.timeout:g}s, retries {config.prometheus.retries}; {args.evaluations} evaluations per delay")  # type: ignore[union-attr]
    print(f"{'delay':>6} {'median':>8} {'max':>8} {'target':>8}  {'queries/eval':>12} {'unshared':>9} {'BLIND':>6}")
    for delay in (float(d) for d in args.delays.split(",")):
        proxy.delay = delay
        times, asked, unshared, blind = asyncio.run(measure(config, proxy, args.evaluations))
        target = 1.5 if delay == 1 else args.timeout + 1
        mark = "ok" if max(times) <= target else "OVER"
        print(f"{delay:>5g}s {statistics.median(times):>7.2f}s {max(times):>7.2f}s {target:>6.2f}s {mark:<4}"
              f"{asked:>8.0f} {unshared:>9.0f} {blind:>6}/{signals}")


if __name__ == "__main__":
    sys.exit(main())
