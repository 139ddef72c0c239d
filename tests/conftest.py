"""Session-scoped real services. Each starts once per test session, on loopback, and is stopped."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from tests.services import PgBouncer, Postgres, Prometheus, running, temp_root

TEST_DB = "cockpit_test"

# The tests never see the developer's own config or live runs: the user's config and runtime
# directories (platformdirs follows XDG_*) are empty folders of this session, children inherit them.
os.environ.pop("COCKPIT_CONFIG", None)
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="cockpit-test-config-")
os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="cockpit-test-runtime-")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    with running(Postgres(temp_root("cockpit-pg-"))) as server:
        server.psql(f"CREATE DATABASE {TEST_DB}")
        yield server


@pytest.fixture(scope="session")
def pgbouncer(postgres: Postgres) -> Iterator[PgBouncer]:
    with running(PgBouncer(temp_root("cockpit-pgb-"), postgres, TEST_DB)) as bouncer:
        yield bouncer


@pytest.fixture(scope="session")
def prometheus() -> Iterator[Prometheus]:
    with running(Prometheus(temp_root("cockpit-prom-"))) as server:
        yield server


@pytest.fixture(scope="session")
def exporter(prometheus: Prometheus):
    """A prometheus_client exporter scraped by the session's Prometheus as job "cockpit_exporter"."""
    from tests.exporter import JOB, Exporter

    with running(Exporter()) as instance:
        prometheus.add_target(instance.address, JOB)
        prometheus.wait_for_data(f'cockpit_test_nan{{job="{JOB}"}}')
        yield instance


@pytest.fixture()
def healthy_signals(prometheus: Prometheus, exporter):
    """The state tests' one signal (cockpit_test_value{case="state_p95"}) healthy, and in Prometheus."""
    exporter.value.labels(case="state_p95").set(0.120)
    prometheus.wait_for_data('cockpit_test_value{case="state_p95"}')


@pytest.fixture(scope="session")
def alertmanager():
    """A real Alertmanager on loopback (clustering off), started once per session."""
    from tests.services import Alertmanager

    with running(Alertmanager(temp_root("cockpit-am-"))) as server:
        yield server


@pytest.fixture(scope="session")
def http_app(postgres: Postgres):
    """The HTTP test service (tests/http_app.py) and its cross-origin sibling, with an orders table in PostgreSQL."""
    from tests.http_app import HttpApp, create_schema

    with running(HttpApp(create_schema(postgres))) as app:
        yield app


@pytest.fixture(scope="session")
def ntp_server():
    """chronyd serving NTP on 127.0.0.1 (its own port, system clock untouched), started once per session."""
    from tests.services import Chrony

    with running(Chrony(temp_root("cockpit-ntp-"))) as server:
        yield server


@pytest.fixture(scope="session")
def haproxy():
    """Debian's HAProxy in front of two loopback HTTP servers ("stable", "canary"), started once per session."""
    from tests.services import HAProxy, TrackServers

    with running(TrackServers()) as tracks, running(HAProxy(temp_root("cockpit-haproxy-"), tracks)) as server:
        yield server


@pytest.fixture(scope="session")
def secure_prometheus():
    """A Prometheus serving only HTTPS, with basic auth and required client certificates."""
    from tests.secure_prometheus import SecurePrometheus

    with running(SecurePrometheus(temp_root("cockpit-tlsprom-"))) as server:
        yield server
