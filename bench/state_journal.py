"""Prints what a journal record costs with `[state] dsn`: the file journal alone, then committed to PostgreSQL first.

  .venv/bin/python bench/state_journal.py [--records 500]

Starts a throwaway PostgreSQL (as tests/services.py does), runs `cockpit state
init`'s schema, takes a lease and appends sample-sized records through the
replicated journal (one fenced transaction each, then the fsync'd file line),
then through the plain file journal. The run writes its records synchronously
from its event loop, so this is how long the loop waits for each one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cockpit.config import StateConfig  # noqa: E402
from cockpit.redaction import Redactor  # noqa: E402
from cockpit.run.journal import Journal  # noqa: E402
from cockpit.run.lease import acquire, hold  # noqa: E402
from cockpit.run.replicated_journal import ReplicatedJournal  # noqa: E402
from cockpit.run.state_store import StateStore  # noqa: E402
from tests.services import Postgres, running, temp_root  # noqa: E402

SIGNALS = {f"s{i}": {"value": 0.1 * i, "state": "PASS", "limit": 1.0, "window": "5m"} for i in range(8)}


def _timed(append, count: int) -> list[float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        append("sample", 1000.0 + i, stage=1, weight=1.0, signals=SIGNALS, triggers={}, consecutive_blind=0)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _line(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{name:<34} median {statistics.median(times):6.2f} ms   p99 {p99:6.2f} ms   "
            f"max {max(times):6.2f} ms   ({len(times)} records)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500)
    args = parser.parse_args()
    with running(Postgres(temp_root("cockpit-bench-pg-"))) as server:
        config = StateConfig(dsn=server.dsn(), service="bench", lease_ttl=15.0)
        store = StateStore(config, Redactor()).connect()
        store.init_schema()
        lease, _ = acquire(store, "v1.0.0")
        assert lease is not None
        holding = hold(config, Redactor(), store, lease)
        folder = Path(tempfile.mkdtemp(prefix="cockpit-bench-journal-"))
        replicated = ReplicatedJournal(folder / "replicated.jsonl", store, lease, holding.keeper)
        fenced = _timed(replicated.append, args.records)
        plain_journal = Journal(folder / "plain.jsonl")
        plain = _timed(plain_journal.append, args.records)
        replicated.close()
        plain_journal.close()
        holding.close(release=True)
    print(_line("file journal (fsync)", plain))
    print(_line("PostgreSQL (fenced) + file journal", fenced))
    print(f"the database's share: median {statistics.median(fenced) - statistics.median(plain):.2f} ms a record")


if __name__ == "__main__":
    main()
