"""A real Prometheus exporter (prometheus_client) on a free loopback port, with metrics tests set.

Started once per session (fixture `exporter` in conftest.py) and scraped by the
session's Prometheus. Tests use their own label values so they do not disturb
each other, then wait until Prometheus has scraped what they set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from threading import Thread
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

JOB = "cockpit_exporter"


@dataclass
class Exporter:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    server: Any = None
    thread: Thread | None = None

    def __post_init__(self) -> None:
        # A value per test: cockpit_test_value{case="..."}.
        self.value = Gauge("cockpit_test_value", "A value a test sets", ["case"], registry=self.registry)
        # Always NaN: what a ratio with a zero denominator looks like to Prometheus.
        self.nan = Gauge("cockpit_test_nan", "Always NaN", registry=self.registry)
        self.nan.set(math.nan)
        self.requests = Counter(
            "http_requests_total", "Requests by status code", ["code", "track"], registry=self.registry
        )
        # A latency histogram of its own name, so the default playbook's p95 stays dark here (probe tests).
        self.latency = Histogram(
            "cockpit_test_latency_seconds", "Request latency", ["track"], registry=self.registry,
            buckets=(0.05, 0.1, 0.2, 0.5, 1.0),
        )

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        # Port 0: the kernel picks a free port, so no race with other services.
        self.server, self.thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
