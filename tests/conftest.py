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


@pytest.fixture(scope="session")
def exporter(prometheus: Prometheus):
    """A prometheus_client exporter scraped by the session's Prometheus as job "cockpit_exporter"."""
    from tests.exporter import JOB, Exporter

    instance = Exporter()
    instance.start()
    prometheus.add_target(instance.address, JOB)
    prometheus.wait_for_data(f'cockpit_test_nan{{job="{JOB}"}}')
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def alertmanager():
    """A real Alertmanager on loopback (clustering off), started once per session."""
    from tests.services import Alertmanager

    root = temp_root("cockpit-am-")
    server = Alertmanager(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def http_app(postgres: Postgres):
    """The HTTP test service (tests/http_app.py) and its cross-origin sibling, with an orders table in PostgreSQL."""
    from tests.http_app import HttpApp, create_schema

    app = HttpApp(create_schema(postgres))
    app.start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="session")
def ntp_server():
    """chronyd serving NTP on 127.0.0.1 (its own port, system clock untouched), started once per session."""
    from tests.services import Chrony

    root = temp_root("cockpit-ntp-")
    server = Chrony(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
