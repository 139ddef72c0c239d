"""Judgement on real services: false rollbacks, detection, and evaluation time with a slow Prometheus.

A real Prometheus (1 s scrapes) scrapes a real HTTP service (tests/traffic_service.py) that
serves a canary and a stable track per app; a load generator (tests/load_generator.py) sends real
requests split by the weight each run's cockpit last shifted to (tests/traffic_weight.py is the
traffic command). Every canary is one real `cockpit canary VERSION --headless` process with its own
config (the default playbook, 8 signals and 20 triggers, on a short bench clock) and evidence folder;
many run at once, one app each. Parts:

- healthy: N canaries at 0.5 % 5xx (the stable too) against the 1 % limit, per rule: how many
  were rolled back (a false rollback), and why (the journal's reason);
- regressions: canaries at 2x, 3x and 10x the limit (2 %, 3 %, 10 % 5xx) from the first shift:
  the weight each reached and the time from the first shift to the rollback;
- slow: Prometheus behind tests/slow_proxy.py answering 0, 1, 4 and 8 s late (set once the run
  has shifted: the probe before the first shift would stop the start): the evaluation wall time
  per delay (from the journal: a sample's ts minus the previous decision's, minus the pause), and
  at 8 s (past the 5 s timeout) the time from the first blind evaluation to the rollback.

    .venv/bin/python bench/judgement.py [--part healthy|regressions|slow|all] [--rule sequential|threshold|both]
                                        [--healthy 20] [--regressions 4] [--hold 30] [--seed 1]
                                        [--nominal-rps 200] [--canary-cap 6] [--stable-cap 3]

Detection is a matter of requests, not seconds: the bench's 30 s stages hold 1/30 of the default
playbook's 15-minute ones. The defaults are a low-traffic service (1 % of 200 req/s = 60 requests a
stage); the issue's service (1,000 req/s) is `--nominal-rps 1000 --canary-cap 30 --stable-cap 30`.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import statistics
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.judgement_runs import (  # noqa: E402
    Outcome,
    RunSpec,
    Timing,
    journal,
    read_outcome,
    start_canary,
    take_baseline,
    when,
    write_config,
)
from tests.load_generator import LoadGenerator, LoadModel  # noqa: E402
from tests.services import Prometheus, temp_root, wait_until  # noqa: E402
from tests.slow_proxy import SlowProxy  # noqa: E402
from tests.traffic_service import Profile, app_spec  # noqa: E402

VERSION = "v9.9.9"
LIMIT = 0.01
HEALTHY_RATE = 0.005
STAGGER = 0.5  # seconds between two canaries' starts


class World:
    """Prometheus, the traffic service (its own process) and the load generator, started for real and stopped at the end."""

    def __init__(self, root: Path, model: LoadModel, seed: int) -> None:
        self.root, self.model, self.seed = root, model, seed
        self.prometheus = Prometheus(root / "prometheus")
        self.service: object = None
        self.load: LoadGenerator | None = None
        self.url = ""

    def __enter__(self) -> World:
        import subprocess

        self.prometheus.start()
        self.service = subprocess.Popen([sys.executable, str(Path(__file__).resolve().parents[1] / "tests" / "traffic_service.py")],
                                        stdout=subprocess.PIPE, text=True)
        self.url = self.service.stdout.readline().strip()  # type: ignore[attr-defined]
        self.prometheus.add_target(self.url.removeprefix("http://"), "traffic_service")
        self.load = LoadGenerator(self.url, self.model, seed=self.seed)
        self.load.start()
        return self

    def add_app(self, name: str, canary_rate: float, seed: int) -> None:
        canary = Profile(error_rate=canary_rate, seed=seed)
        stable = Profile(error_rate=HEALTHY_RATE, seed=seed)
        request = urllib.request.Request(f"{self.url}/apps/{name}", data=app_spec(canary, stable), method="POST")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def retire_app(self, name: str) -> None:
        request = urllib.request.Request(f"{self.url}/apps/{name}", method="DELETE")
        with urllib.request.urlopen(request, timeout=5):
            pass

    def wait_scraped(self, names: list[str]) -> None:
        """Until Prometheus has every app's stable requests: before that the probe would see no data."""
        def all_there() -> bool:
            got = self.prometheus.query('count by (app) (rate(http_requests_total{track="stable"}[10s]) > 0)')
            return {r["metric"].get("app") for r in got} >= set(names)
        wait_until(all_there, 60, "every app's stable traffic in Prometheus", interval=0.5)

    def __exit__(self, *exc: object) -> None:
        if self.load is not None:
            self.load.stop()
        if self.service is not None:
            self.service.terminate()  # type: ignore[attr-defined]
            self.service.wait(10)  # type: ignore[attr-defined]
        self.prometheus.stop()


def prepare(world: World, specs: list[RunSpec], prometheus_url: str | dict[str, str]) -> dict[str, Path]:
    """Register every app, write its config, wait for its traffic, take the baselines (a few at a time)."""
    configs: dict[str, Path] = {}
    for index, spec in enumerate(specs):
        world.add_app(spec.name, spec.canary_error_rate, seed=world.seed * 1000 + index)
        url = prometheus_url if isinstance(prometheus_url, str) else prometheus_url[spec.name]
        configs[spec.name] = write_config(world.root / "runs", spec, url, world.url)
    world.wait_scraped([s.name for s in specs])
    with ThreadPoolExecutor(2) as pool:  # process starts cost CPU on a shared machine
        for spec, done in zip(specs, pool.map(lambda s: take_baseline(configs[s.name], VERSION), specs), strict=True):
            if done.returncode not in (0, 1):
                raise RuntimeError(f"{spec.name}: baseline check failed: {done.stdout[-300:]} {done.stderr[-300:]}")
    return configs


@contextlib.contextmanager
def canaries(configs: dict[str, Path]) -> Iterator[dict[str, object]]:
    """Start every run's canary; on the way out (also on ctrl-c) stop the ones still running, by their pid."""
    processes = {}
    try:
        for name, config in configs.items():
            processes[name] = start_canary(config, VERSION)
            time.sleep(STAGGER)  # a cockpit's start (imports, probe) is its costliest second: spread them
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes.values():
            try:
                process.wait(15)
            except Exception:
                process.kill()
                process.wait()


def run_all(world: World, specs: list[RunSpec], timeout: float, concurrency: int) -> list[Outcome]:
    """The runs in waves of `concurrency` (the rules interleaved, so each wave holds both)."""
    outcomes: list[Outcome] = []
    for start in range(0, len(specs), concurrency):
        wave = specs[start:start + concurrency]
        configs = prepare(world, wave, world.prometheus.url)
        with canaries(configs) as processes:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and any(p.poll() is None for p in processes.values()):  # type: ignore[attr-defined]
                time.sleep(1)
        outcomes += [read_outcome(s, configs[s.name], VERSION, processes[s.name].poll()) for s in wave]  # type: ignore[attr-defined]
        for spec in wave:
            world.retire_app(spec.name)
    return outcomes


def interleave(groups: list[list[RunSpec]]) -> list[RunSpec]:
    return [spec for row in zip(*groups, strict=True) for spec in row]


def rules(choice: str) -> list[str]:
    return ["sequential", "threshold"] if choice == "both" else [choice]


def run_timeout(timing: Timing) -> float:
    stages = len(timing.weights)
    return stages * timing.hold * 3 + 60  # every stage held twice at most, plus start-up


def table(title: str, outcomes: list[Outcome]) -> None:
    print(f"\n{title}")
    print(f"  {'case':<9} {'rule':<11} {'runs':>4} {'rolled back':>11} {'weight reached (runs)':<32} {'time to rollback s (median, max)':<32}")
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault((o.spec.kind, o.spec.rule), []).append(o)
    for (kind, rule), group in groups.items():
        back = [o for o in group if o.result == "rolled_back"]
        weights: dict[float, int] = {}
        for o in group:
            weights[o.weight] = weights.get(o.weight, 0) + 1
        reached = ", ".join(f"{w:g}%x{n}" for w, n in sorted(weights.items()))
        times = [o.seconds for o in back if o.seconds is not None]
        took = f"{statistics.median(times):.0f}, {max(times):.0f}" if times else "-"
        other = [o.result for o in group if o.result not in ("rolled_back", "promoted")]
        extra = f"  (not finished: {', '.join(other)})" if other else ""
        print(f"  {kind:<9} {rule:<11} {len(group):>4} {len(back):>11} {reached:<32} {took:<32}{extra}")


def reasons(outcomes: list[Outcome], kinds: tuple[str, ...]) -> None:
    for o in outcomes:
        if o.spec.kind in kinds and o.result not in ("promoted",):
            print(f"  {o.spec.name} ({o.spec.rule}) {o.result} at {o.weight:g}%: " + " | ".join(o.reasons)[:400])


def part_healthy(world: World, args: argparse.Namespace, timing: Timing) -> None:
    specs = interleave([[RunSpec(f"h{rule[0]}{i:02d}", rule, HEALTHY_RATE, "healthy", timing) for i in range(args.healthy)]
                        for rule in rules(args.rule)])
    outcomes = run_all(world, specs, run_timeout(timing), args.concurrency)
    table(f"healthy: canary and stable at {HEALTHY_RATE:.1%} 5xx against a {LIMIT:.0%} limit", outcomes)
    reasons(outcomes, ("healthy",))


def part_regressions(world: World, args: argparse.Namespace, timing: Timing) -> None:
    specs = interleave([[RunSpec(f"r{rule[0]}{factor}x{i}", rule, LIMIT * factor, f"{factor}x", timing)
                         for factor in (2, 3, 10) for i in range(args.regressions)] for rule in rules(args.rule)])
    outcomes = run_all(world, specs, run_timeout(timing), args.concurrency)
    table(f"regressions: the canary at 2x, 3x, 10x the {LIMIT:.0%} limit from the first shift (stable {HEALTHY_RATE:.1%})",
          outcomes)
    reasons(outcomes, ("2x", "3x", "10x"))


def blind_keys() -> tuple[dict[str, object], str]:
    """[canary] keys for blindness: blind_for when this cockpit accepts it, else blind_limit (said so)."""
    from cockpit.config import CanaryConfig

    if "blind_for" in CanaryConfig.model_fields:
        return {"blind_for": "20s"}, 'blind_for = "20s" (accepted by this cockpit)'
    default = CanaryConfig.model_fields["blind_limit"].default
    return {}, f"blind_for: key absent in this cockpit's config; blindness is blind_limit = {default} evaluations"


def eval_times(records: list[dict], pause: float, since: float) -> list[float]:
    """Each evaluation's wall time: a sample's ts minus the previous decision's ts, minus the pause between them."""
    times, last_decision = [], None
    for r in records:
        if r["event"] == "decision":
            last_decision = when(r)
        elif r["event"] == "sample" and r.get("phase") != "recovery" and last_decision is not None:
            if last_decision >= since:
                times.append(when(r) - last_decision - pause)
    return times


def part_slow(world: World, args: argparse.Namespace, timing: Timing) -> None:
    delays = (0.0, 1.0, 4.0, 8.0)
    keys, said = blind_keys()
    hold = 60.0
    slow = Timing(hold=hold, evaluate_every=timing.evaluate_every, weights=(1, 100))
    specs = [RunSpec(f"s{int(d)}", "sequential", HEALTHY_RATE, f"{d:g}s", slow, blind=keys) for d in delays]
    proxies = {s.name: SlowProxy(world.prometheus.url, delay=0.0) for s in specs}
    with contextlib.ExitStack() as stack:
        for proxy in proxies.values():
            stack.enter_context(proxy)
        configs = prepare(world, specs, {name: p.url for name, p in proxies.items()})
        slowed_at: dict[str, float] = {}
        with canaries(configs) as processes:
            deadline = time.monotonic() + hold + 120
            while time.monotonic() < deadline and any(p.poll() is None for p in processes.values()):  # type: ignore[attr-defined]
                for spec, delay in zip(specs, delays, strict=True):
                    records = journal(configs[spec.name], VERSION)
                    if spec.name not in slowed_at and any(r["event"] == "sample" for r in records):
                        proxies[spec.name].delay = delay  # after the probe and a first good evaluation
                        slowed_at[spec.name] = time.time()
                # a healthy run at 0-4 s only has to show its evaluations: 6 of them after the delay are enough
                for spec in specs[:-1]:
                    done = eval_times(journal(configs[spec.name], VERSION), slow.evaluate_every, slowed_at.get(spec.name, 1e18))
                    process = processes[spec.name]
                    if len(done) >= 6 and process.poll() is None:  # type: ignore[attr-defined]
                        process.send_signal(signal.SIGINT)  # type: ignore[attr-defined]
                time.sleep(0.5)
    print(f"\nslow Prometheus: 8 signals and 20 triggers (the default playbook), [prometheus] timeout 5s, "
          f"evaluate_every {slow.evaluate_every:g}s; {said}")
    print(f"  {'delay':>5} {'evals':>5} {'eval wall s: min':>16} {'median':>7} {'max':>6} {'queries/eval':>12}  outcome")
    for spec, delay in zip(specs, delays, strict=True):
        records = journal(configs[spec.name], VERSION)
        times = eval_times(records, slow.evaluate_every, slowed_at.get(spec.name, 1e18))
        samples = max(1, sum(1 for r in records if r["event"] == "sample"))
        per_eval = proxies[spec.name].requests / samples
        outcome = read_outcome(spec, configs[spec.name], VERSION, processes[spec.name].poll())  # type: ignore[attr-defined]
        line = (f"  {delay:>4g}s {len(times):>5} {min(times, default=float('nan')):>16.2f} "
                f"{statistics.median(times) if times else float('nan'):>7.2f} {max(times, default=float('nan')):>6.2f} "
                f"{per_eval:>12.1f}  {outcome.result}")
        print(line)
        if delay == delays[-1]:
            blind = [r for r in records if r["event"] == "sample" and r.get("consecutive_blind", 0) >= 1]
            rollback = next((r for r in records if r["event"] == "rollback_started"), None)
            if blind and rollback:
                print(f"  at {delay:g}s: first blind evaluation recorded {when(blind[0]) - slowed_at[spec.name]:.1f}s after the "
                      f"delay was set; rollback {when(rollback) - when(blind[0]):.1f}s after it "
                      f"({len(blind)} blind evaluations): {' | '.join(outcome.reasons)[:300]}")
            else:
                print(f"  at {delay:g}s: no blind rollback seen ({len(blind)} blind evaluations, result {outcome.result})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("healthy", "regressions", "slow", "all"), default="all")
    parser.add_argument("--rule", choices=("sequential", "threshold", "both"), default="both")
    parser.add_argument("--healthy", type=int, default=20, help="healthy canaries per rule")
    parser.add_argument("--regressions", type=int, default=4, help="canaries per rule and regression size")
    parser.add_argument("--concurrency", type=int, default=20, help="canaries running at once (each is a process)")
    parser.add_argument("--hold", type=float, default=30.0, help="seconds per stage (the default is 900)")
    parser.add_argument("--evaluate-every", type=float, default=2.0)
    parser.add_argument("--nominal-rps", type=float, default=200.0, help="each app's traffic, split by the weight")
    parser.add_argument("--canary-cap", type=float, default=6.0, help="the canary's requests/s at most")
    parser.add_argument("--stable-cap", type=float, default=3.0, help="the stable's requests/s at most (a sample)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (configs, journals)")
    args = parser.parse_args()
    timing = Timing(hold=args.hold, evaluate_every=args.evaluate_every)
    model = LoadModel(nominal_rps=args.nominal_rps, canary_cap=args.canary_cap, stable_cap=args.stable_cap)
    root = temp_root("cockpit-bench-judgement-")
    print(f"bench/judgement.py: default playbook (8 signals, 20 triggers), alpha 0.01, min_requests 50; "
          f"stages {', '.join(f'{w:g}%' for w in timing.weights)} of {timing.hold:g}s each, evaluate_every "
          f"{timing.evaluate_every:g}s, window {timing.window():g}s, every `for` x{timing.scale:.3g} (stage/900s)")
    c1, s1 = model.rates(1)
    print(f"traffic per app: nominal {model.nominal_rps:g} req/s split by weight, canary capped at {model.canary_cap:g}/s "
          f"and stable at {model.stable_cap:g}/s (at 1%: canary {c1:g}/s = {c1 * timing.hold:.0f} requests a stage, "
          f"stable {s1:g}/s); Poisson arrivals, 5xx Bernoulli per request, latency log-normal (median 60ms, p95 120ms); "
          f"seed {args.seed}; {args.concurrency} canaries at a time; Prometheus scrapes every 1s; folder {root}")
    started = time.monotonic()
    try:
        with World(root, model, args.seed) as world:
            if args.part in ("healthy", "all"):
                part_healthy(world, args, timing)
            if args.part in ("regressions", "all"):
                part_regressions(world, args, timing)
            if args.part in ("slow", "all"):
                part_slow(world, args, timing)
            sent = sum(world.load.sent.values()) if world.load else 0
            print(f"\n{sent} requests sent in {time.monotonic() - started:.0f}s "
                  f"({sent / max(1.0, time.monotonic() - started):.0f}/s), {world.load.errors if world.load else 0} failed, "
                  f"at most {world.load.backlog if world.load else 0} waiting for a connection")
    except KeyboardInterrupt:
        print("interrupted: every process started here was stopped", file=sys.stderr)
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
