"""A load generator for tests/traffic_service.py: real HTTP requests, split between the tracks by each app's weight.

Every app is a service with a nominal request rate (`nominal_rps`); the canary track gets its
weight's share of it, the stable track the rest, each as Poisson arrivals (seeded). Two caps keep the
load modest on a shared machine: the canary's rate is capped at `canary_cap` requests/s (so the
high-weight stages cost little) and the stable's at `stable_cap` (it serves the remaining share as a
sample: the cockpit reads the split from the request counters, never from the weight). At the low
weights, where the judgement is hard, the canary sees exactly its share (1 % of 200 rps = 2 rps).

The weights come from the service (`GET /weights`, what the cockpit's traffic commands last set),
read every `poll` seconds. Requests go over a few keep-alive connections from one asyncio loop in a
thread; `sent` counts them per (app, track).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadModel:
    nominal_rps: float = 200.0
    canary_cap: float = 6.0
    stable_cap: float = 3.0

    def rates(self, weight: float) -> tuple[float, float]:
        """(canary, stable) requests per second at a canary weight in percent."""
        canary = min(self.nominal_rps * weight / 100.0, self.canary_cap)
        stable = min(self.nominal_rps * (100.0 - weight) / 100.0, self.stable_cap)
        return canary, stable


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: the means here are a fraction of a request per tick)."""
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class LoadGenerator:
    """`with LoadGenerator(service_url, LoadModel(), seed=1):` sends traffic to every app the service has a weight for."""

    service_url: str
    model: LoadModel = field(default_factory=LoadModel)
    seed: int = 1
    connections: int = 6
    tick: float = 0.1
    poll: float = 0.5
    sent: Counter[tuple[str, str]] = field(default_factory=Counter)
    errors: int = 0
    backlog: int = 0  # the most requests ever waiting for a connection (a generator behind its model)

    def __post_init__(self) -> None:
        parts = urlsplit(self.service_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="load-generator", daemon=True)
        self.weights: dict[str, float] = {}

    async def _request(self, conn: list, path: str) -> tuple[int, bytes]:
        """GET path on a keep-alive connection (reopened when the server closed it)."""
        for attempt in (1, 2):
            if conn[0] is None:
                conn[0] = await asyncio.open_connection(self._host, self._port)
            reader, writer = conn[0]
            try:
                writer.write(f"GET {path} HTTP/1.1\r\nHost: {self._host}\r\n\r\n".encode())
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                return status, await reader.readexactly(length)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                writer.close()
                conn[0] = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _worker(self, queue: asyncio.Queue) -> None:
        conn: list = [None]
        while True:
            app, track = await queue.get()
            try:
                await self._request(conn, f"/apps/{app}/{track}")
                self.sent[(app, track)] += 1
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.errors += 1

    async def _poll_weights(self) -> None:
        conn: list = [None]
        while not self._stop.is_set():
            try:
                status, body = await self._request(conn, "/weights")
                if status == 200:
                    self.weights = json.loads(body)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.errors += 1
            await asyncio.sleep(self.poll)

    async def _run(self) -> None:
        rng = random.Random(self.seed)
        queue: asyncio.Queue = asyncio.Queue()
        tasks = [asyncio.create_task(self._worker(queue)) for _ in range(self.connections)]
        tasks.append(asyncio.create_task(self._poll_weights()))
        next_tick = time.monotonic()
        while not self._stop.is_set():
            for app, weight in sorted(self.weights.items()):
                for track, rate in zip(("canary", "stable"), self.model.rates(weight), strict=True):
                    for _ in range(poisson(rng, rate * self.tick)):
                        queue.put_nowait((app, track))
            self.backlog = max(self.backlog, queue.qsize())
            next_tick += self.tick
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def __enter__(self) -> LoadGenerator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
