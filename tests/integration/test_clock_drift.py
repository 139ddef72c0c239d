"""Clock drift: the SNTP client against a real chronyd on loopback, and the check against chronyd + PostgreSQL.

Faults chronyd will not produce on demand (kiss-o'-death, an unsynchronised
server, a reply to someone else's request, silence) come from a small UDP
responder in the test.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from cockpit.checks.runner import CheckContext, close_sources, run_check
from cockpit.config import CockpitConfig, PostgresConfig, load_config
from cockpit.evidence import EvidenceStore
from cockpit.results import CheckResult, Status
from cockpit.sources.ntp import NtpError, query_ntp, unix_to_ntp
from tests.services import free_port, free_udp_port

VERSION = "v2.0.0"


class OffsetClock:
    """The wall clock, off by `offset` seconds: a cockpit host whose clock is wrong."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


# ---------------------------------------------------------------- the SNTP client against chronyd


async def test_sntp_client_reads_chronyd(ntp_server):
    reading = await query_ntp(ntp_server.server, timeout=2)
    assert reading.server == ntp_server.server
    assert reading.stratum == 8  # `local stratum 8`: chronyd serves its own clock
    assert abs(reading.offset) < 0.05  # same machine, same clock
    assert 0 <= reading.delay < 0.05


async def test_sntp_client_sees_a_wrong_local_clock(ntp_server):
    reading = await query_ntp(ntp_server.server, timeout=2, now=OffsetClock(+2.5).now)
    assert reading.offset == pytest.approx(-2.5, abs=0.05)


async def test_sntp_client_closed_port_is_refused_at_once():
    port = free_udp_port()
    started = time.perf_counter()
    with pytest.raises(NtpError, match=rf"NTP server 127.0.0.1:{port} refused \(nothing listens on UDP port {port}\)"):
        await query_ntp(f"127.0.0.1:{port}", timeout=2)
    assert time.perf_counter() - started < 1


# ---------------------------------------------------------------- faults from a responder of our own


class Responder(asyncio.DatagramProtocol):
    """Answers NTP requests with what `craft(request)` returns (None: stays silent)."""

    def __init__(self, craft: Callable[[bytes], bytes | None]) -> None:
        self.craft = craft
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.craft(data)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


def server_reply(request: bytes, *, leap: int = 0, stratum: int = 2, refid: bytes = b"\x7f\0\0\x01",
                 skew: float = 0.0, originate: bytes | None = None) -> bytes:
    now = unix_to_ntp(time.time() + skew)
    first = (leap << 6) | (4 << 3) | 4
    header = struct.pack("!BBbbII4sQ", first, stratum, 6, -20, 0, 0, refid, now)
    return header + (originate if originate is not None else request[40:48]) + struct.pack("!QQ", now, now)


@pytest.fixture
async def responder() -> AsyncIterator[Callable[[Callable[[bytes], bytes | None]], asyncio.Future]]:
    transports = []

    async def start(craft: Callable[[bytes], bytes | None]) -> str:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: Responder(craft), local_addr=("127.0.0.1", 0))
        transports.append(transport)
        return f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"

    yield start
    for transport in transports:
        transport.close()


async def test_sntp_client_computes_the_offset_of_a_server_ahead(responder):
    server = await responder(lambda request: server_reply(request, skew=5.0))
    reading = await query_ntp(server, timeout=2)
    assert reading.offset == pytest.approx(5.0, abs=0.05)
    assert reading.stratum == 2 and reading.reference == "127.0.0.1"


@pytest.mark.parametrize(
    ("craft", "message"),
    [
        (lambda r: server_reply(r, stratum=0, refid=b"RATE"), r"kiss-o'-death \(RATE\)"),
        (lambda r: server_reply(r, leap=3), r"not synchronised \(leap 3, stratum 2\)"),
        (lambda r: server_reply(r, stratum=16), r"not synchronised \(leap 0, stratum 16\)"),
        (lambda r: server_reply(r)[:40], r"reply is 40 bytes"),
        (lambda r: None, r"did not answer within 0.3s$"),
        (lambda r: server_reply(r, originate=b"\1" * 8), r"did not answer within 0.3s \(only a reply that did not match"),
    ],
    ids=["kiss-o-death", "leap-alarm", "stratum-16", "short", "silent", "stale-reply"],
)
async def test_sntp_client_rejects_untrustworthy_answers(responder, craft, message):
    server = await responder(craft)
    with pytest.raises(NtpError, match=message):
        await query_ntp(server, timeout=0.3)


# ---------------------------------------------------------------- the clock_drift check


def drift_config(dsn: str | None) -> CockpitConfig:
    config = load_config(None)
    if dsn is not None:
        config = config.model_copy(update={"postgres": PostgresConfig(dsn=dsn, timeout=2)})
    return config


async def run_drift(tmp_path: Path, config: CockpitConfig, clock=None, **spec_fields) -> CheckResult:
    spec = next(c for c in config.checks if c.id == "preflight.time_drift").model_copy(update=spec_fields)
    ctx = CheckContext(config=config, version=VERSION, evidence=EvidenceStore(tmp_path / "ev", VERSION, config.redactor()),
                       redactor=config.redactor())
    if clock is not None:
        ctx.clock = clock
    try:
        return await run_check(spec, ctx)
    finally:
        await close_sources(ctx)


def evidence(tmp_path: Path) -> str:
    return (tmp_path / "ev" / VERSION / f"time_drift_{VERSION}.txt").read_text()


async def test_true_clock_passes_against_ntp_and_database(tmp_path, ntp_server, postgres):
    result = await run_drift(tmp_path, drift_config(postgres.dsn()), ntp_server=ntp_server.server)
    assert result.status is Status.PASS, result.summary
    assert result.summary.startswith("drift ") and "(NTP " in result.summary and "database " in result.summary
    text = evidence(tmp_path)
    assert "local vs NTP: PASS: offset " in text and f"via {ntp_server.server} (stratum 8" in text
    assert "local vs database: PASS: offset " in text and f"clock_timestamp() at 127.0.0.1:{postgres.port}" in text
    assert "database vs NTP: PASS" in text


@pytest.mark.parametrize(("offset", "status"), [(0.3, Status.WARN), (-2.0, Status.FAIL)])
async def test_a_wrong_local_clock_warns_then_fails(tmp_path, ntp_server, postgres, offset, status):
    result = await run_drift(tmp_path, drift_config(postgres.dsn()), clock=OffsetClock(offset), ntp_server=ntp_server.server)
    assert result.status is status, result.summary
    lines = {line.split(":")[0]: line for line in evidence(tmp_path).splitlines() if not line.startswith("#")}
    for label in ("local vs NTP", "local vs database"):
        assert lines[label].startswith(f"{label}: {status.value}: offset "), lines[label]
        shown_ms = float(lines[label].split("offset ")[1].split(" ms")[0])
        assert shown_ms == pytest.approx(-offset * 1000, abs=50)
    # The database and NTP agree with each other: only the cockpit's own clock is wrong.
    assert lines["database vs NTP"].startswith("database vs NTP: PASS")


async def test_ntp_that_cannot_be_reached_is_unknown_even_with_the_database_fine(tmp_path, postgres):
    port = free_udp_port()
    result = await run_drift(tmp_path, drift_config(postgres.dsn()), ntp_server=f"127.0.0.1:{port}")
    assert result.status is Status.UNKNOWN
    assert result.summary.startswith(f"could not measure local vs NTP: NTP server 127.0.0.1:{port} refused")
    assert "(measured: database " in result.summary
    assert f"local vs NTP: UNKNOWN: NTP server 127.0.0.1:{port} refused" in evidence(tmp_path)


async def test_unreachable_database_is_unknown_even_with_ntp_fine(tmp_path, ntp_server):
    port = free_port()
    result = await run_drift(tmp_path, drift_config(f"postgresql://postgres:Pw-drift-9@127.0.0.1:{port}/x"),
                             ntp_server=ntp_server.server)
    assert result.status is Status.UNKNOWN
    assert result.summary.startswith(f"could not measure local vs database: cannot connect to PostgreSQL at 127.0.0.1:{port}")
    assert "Pw-drift-9" not in result.model_dump_json() + evidence(tmp_path)


async def test_no_postgres_section_and_no_ntp_say_so(tmp_path, ntp_server):
    result = await run_drift(tmp_path, drift_config(None), ntp_server=ntp_server.server)
    assert result.status is Status.UNKNOWN
    assert "local vs database: no [postgres] section in cockpit.toml" in result.summary
    nothing = await run_drift(tmp_path, drift_config(None), ntp_server=None, use_database=False)
    assert nothing.status is Status.UNKNOWN
    assert nothing.summary == "nothing to compare with: set ntp_server or use_database = true"


async def test_a_silent_ntp_server_times_out_within_the_check(tmp_path, postgres, responder):
    server = await responder(lambda request: None)
    started = time.perf_counter()
    result = await run_drift(tmp_path, drift_config(postgres.dsn()), ntp_server=server, timeout=1.0)
    assert time.perf_counter() - started < 2.0  # its 1 s budget (and a loaded machine's slack), not more
    assert result.status is Status.UNKNOWN
    assert f"NTP server {server} did not answer within 0.5s" in result.summary
