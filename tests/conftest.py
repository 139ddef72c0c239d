"""Session-scoped real services. Each starts once per test session, on loopback, and is stopped."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.services import PgBouncer, Postgres, Prometheus, temp_root

TEST_DB = "cockpit_test"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    root = temp_root("cockpit-pg-")
    server = Postgres(root)
    server.start()
    server.psql(f"CREATE DATABASE {TEST_DB}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pgbouncer(postgres: Postgres) -> Iterator[PgBouncer]:
    root = temp_root("cockpit-pgb-")
    bouncer = PgBouncer(root, postgres, TEST_DB)
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def prometheus() -> Iterator[Prometheus]:
    root = temp_root("cockpit-prom-")
    server = Prometheus(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
