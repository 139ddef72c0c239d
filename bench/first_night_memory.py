"""Prints the first night's memory across a compressed 24 h night: flat, whatever the number of samples.

  .venv/bin/python bench/first_night_memory.py [--hours 24] [--hour-length 1h] [--every 15s] [--no-tracemalloc]

The default playbook (8 signals, 20 triggers) against an in-process source
(every signal within its limits, no trigger firing), on a ManualClock, with the
real journal (fsync'd) and evidence files in a temporary folder. At the end of
each hour it prints the resident set (ru_maxrss, and /proc/self/statm now) and
tracemalloc's current and peak since the previous hour, then the growth from
hour 06 to the last hour next to the bytes journaled in between.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.clock import ManualClock  # noqa: E402
from cockpit.config import load_config  # noqa: E402
from cockpit.durations import parse_duration  # noqa: E402
from cockpit.evidence import EvidenceStore  # noqa: E402
from cockpit.run.first_night import run_first_night  # noqa: E402
from cockpit.sources.prometheus import QueryResult, Sample  # noqa: E402
from tests.release_journal import promoted_journal  # noqa: E402

VERSION = "v1.4.0"
PAGE = os.sysconf("SC_PAGE_SIZE")


class QuietService:
    """Every signal a small real value, request volume high enough, no trigger returning a sample."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.queries = 0

    async def query(self, expr: str) -> QueryResult:
        self.queries += 1
        if " > " in expr:
            return QueryResult(expr, [])  # a trigger's condition: not met
        if expr.startswith("sum(increase(") and "/" not in expr:
            return QueryResult(expr, [Sample({}, 5000.0)])  # request volume for the window
        wobble = 1.0 + 0.2 * math.sin(self.clock.now() / 600.0)
        return QueryResult(expr, [Sample({}, 0.001 * wobble)])


def rss_now_kb() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--hour-length", default="1h")
    parser.add_argument("--every", default="15s")
    parser.add_argument("--no-tracemalloc", action="store_true", help="resident memory only (runs ~2x faster)")
    args = parser.parse_args()
    hour_length = parse_duration(args.hour_length)
    every = parse_duration(args.every)
    folder = Path(tempfile.mkdtemp(prefix="first-night-bench-"))
    trace = not args.no_tracemalloc
    try:
        config = load_config(None)  # the default playbook
        config = config.model_copy(update={"evidence": config.evidence.model_copy(update={"dir": str(folder)})})
        done_at = promoted_journal(folder, VERSION, signals={"p95_latency": ("s", 0.2)})
        store = EvidenceStore(folder, VERSION)
        from cockpit.checks.baseline import write_baseline

        write_baseline(store, "2027-01-15T13:50:00Z", {"csp_violations": 0.002})  # csp's limit is relative to it
        clock = ManualClock(done_at + 60)
        journal = store.dir / "journal.jsonl"
        marks: dict[int, tuple[int, int, int]] = {}
        started = time.perf_counter()

        class Meter:
            on_failure = None

            def emit(self, record: dict[str, Any]) -> None:
                if record.get("event") != "hourly_summary":
                    return
                hour = int(record["hour"])
                current, peak = tracemalloc.get_traced_memory() if trace else (0, 0)
                size = journal.stat().st_size
                marks[hour] = (peak, current, size)
                maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                line = (f"hour {hour:02d}  wall {time.perf_counter() - started:6.1f}s  ru_maxrss {maxrss / 1024:6.1f} MB  "
                        f"rss now {rss_now_kb() / 1024:6.1f} MB  journal {size / 1e6:6.2f} MB")
                if trace:
                    line += f"  traced {current / 1e6:5.2f} MB (peak this hour {peak / 1e6:5.2f} MB)"
                    tracemalloc.reset_peak()
                print(line, flush=True)

        if trace:
            tracemalloc.start()
        source = QuietService(clock)
        outcome = asyncio.run(run_first_night(config, VERSION, source=source, clock=clock, store=store, notifier=Meter(),
                                              hours=args.hours, hour_length=hour_length, evaluate_every=every))
        last = max(marks)
        evaluations = int(args.hours * hour_length / every)
        print(f"\n{evaluations} evaluations ({source.queries} queries) in {time.perf_counter() - started:.1f}s; "
              f"verdict {outcome.verdict}")
        if 6 in marks and last > 6:
            journaled = marks[last][2] - marks[6][2]
            if trace:
                highest = max(marks[h][0] for h in marks if h > 6)
                print(f"tracemalloc: current {marks[6][1] / 1e6:.2f} MB at hour 06, {marks[last][1] / 1e6:.2f} MB at hour "
                      f"{last:02d}; highest peak after hour 06 {highest / 1e6:.2f} MB; {journaled / 1e6:.2f} MB journaled "
                      "in between")
            print(f"ru_maxrss at the end: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
