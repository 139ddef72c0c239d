"""An SNTP client (RFC 4330) over UDP with asyncio: one request, a timeout, offset and delay.

offset = ((T2 - T1) + (T3 - T4)) / 2 is how far the server's clock is ahead of
ours; delay = (T4 - T1) - (T3 - T2) is the round trip minus the server's own
processing time. T1/T4 are read from the local clock the caller passes in, so a
test can give the cockpit a clock that is deliberately wrong.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from cockpit.errors import UnavailableError

NTP_PORT = 123
NTP_EPOCH_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01
_ERA = 1 << 32
_PACKET = struct.Struct("!BBbbII4sQQQQ")  # 48 bytes: header, root delay/dispersion, refid, 4 timestamps
MODE_CLIENT = 3
MODE_SERVER = 4
VERSION = 4
LEAP_ALARM = 3


class NtpError(UnavailableError):
    """The server could not be asked, or its answer cannot be trusted; one line."""


@dataclass(frozen=True)
class NtpPacket:
    leap: int
    version: int
    mode: int
    stratum: int
    poll: int
    precision: int
    root_delay: float
    root_dispersion: float
    reference_id: bytes
    reference: float
    originate_raw: int
    receive: float
    transmit: float
    transmit_raw: int


@dataclass(frozen=True)
class NtpReading:
    server: str
    offset: float  # server clock minus local clock, seconds
    delay: float  # round trip, seconds
    stratum: int
    reference: str  # refid: a source name for stratum 1, an IPv4 address above


def unix_to_ntp(ts: float) -> int:
    """Unix seconds -> a 64-bit NTP timestamp (32.32 fixed point; wraps in 2036 as NTP does)."""
    seconds = ts + NTP_EPOCH_OFFSET
    whole = int(seconds)
    fraction = int((seconds - whole) * _ERA) & 0xFFFFFFFF
    return ((whole % _ERA) << 32) | fraction


def ntp_to_unix(raw: int) -> float:
    """A 64-bit NTP timestamp -> Unix seconds; a clear top bit means era 1 (2036-2104), RFC 4330 §3."""
    seconds = raw >> 32
    fraction = raw & 0xFFFFFFFF
    if not seconds & 0x80000000:
        seconds += _ERA
    return seconds - NTP_EPOCH_OFFSET + fraction / _ERA


def encode_request(transmit: float) -> tuple[bytes, int]:
    """A client request carrying `transmit` (Unix seconds); returns the packet and its raw timestamp.

    The server copies the transmit timestamp into its reply's originate field,
    which is how a reply is matched to this request.
    """
    raw = unix_to_ntp(transmit)
    first = (0 << 6) | (VERSION << 3) | MODE_CLIENT
    return _PACKET.pack(first, 0, 0, 0, 0, 0, b"\0\0\0\0", 0, 0, 0, raw), raw


def decode_packet(data: bytes) -> NtpPacket:
    if len(data) < _PACKET.size:
        raise NtpError(f"reply is {len(data)} bytes, an NTP packet has at least {_PACKET.size}")
    first, stratum, poll, precision, root_delay, root_disp, ref_id, ref, orig, recv, xmit = _PACKET.unpack_from(data)
    return NtpPacket(
        leap=first >> 6,
        version=(first >> 3) & 0x7,
        mode=first & 0x7,
        stratum=stratum,
        poll=poll,
        precision=precision,
        root_delay=root_delay / 65536,
        root_dispersion=root_disp / 65536,
        reference_id=ref_id,
        reference=ntp_to_unix(ref) if ref else 0.0,
        originate_raw=orig,
        receive=ntp_to_unix(recv) if recv else 0.0,
        transmit=ntp_to_unix(xmit) if xmit else 0.0,
        transmit_raw=xmit,
    )


def reference_text(packet: NtpPacket) -> str:
    if packet.stratum <= 1:
        return packet.reference_id.rstrip(b"\0").decode("ascii", "replace")
    return ".".join(str(b) for b in packet.reference_id)


def check_reply(packet: NtpPacket, request_raw: int) -> None:
    """The sanity checks of RFC 4330 §5; NtpError says which one failed."""
    if packet.mode != MODE_SERVER:
        raise NtpError(f"not a server reply (mode {packet.mode})")
    if packet.originate_raw != request_raw:
        raise NtpError("the reply does not answer our request (originate timestamp differs)")
    if packet.stratum == 0:
        code = packet.reference_id.rstrip(b"\0").decode("ascii", "replace") or "?"
        raise NtpError(f"the server sent a kiss-o'-death ({code}): it will not serve us now")
    if packet.leap == LEAP_ALARM or packet.stratum > 15:
        raise NtpError(f"the server's clock is not synchronised (leap {packet.leap}, stratum {packet.stratum})")
    if packet.transmit_raw == 0:
        raise NtpError("the reply carries no transmit time")


def offset_and_delay(t1: float, t2: float, t3: float, t4: float) -> tuple[float, float]:
    """RFC 4330 §5: clock offset (server minus local) and round-trip delay."""
    return ((t2 - t1) + (t3 - t4)) / 2, (t4 - t1) - (t3 - t2)


def parse_server(server: str) -> tuple[str, int]:
    """ "host", "host:port", "[v6]:port" or a bare IPv6 address -> (host, port)."""
    text = server.strip()
    if not text:
        raise NtpError("no NTP server given")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not port_text:
        return host, NTP_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise NtpError(f"{server!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


class _SntpProtocol(asyncio.DatagramProtocol):
    def __init__(self, request_raw: int, now: Callable[[], float], answer: asyncio.Future[tuple[NtpPacket, float]]) -> None:
        self.request_raw = request_raw
        self.now = now
        self.answer = answer
        self.mismatch: str | None = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        arrived = self.now()  # T4, before any parsing
        if self.answer.done():
            return
        try:
            packet = decode_packet(data)
        except NtpError as exc:
            self.answer.set_exception(exc)
            return
        if packet.mode == MODE_SERVER and packet.originate_raw != self.request_raw:
            self.mismatch = "originate timestamp differs"  # a late or forged reply: keep waiting for ours
            return
        try:
            check_reply(packet, self.request_raw)
        except NtpError as exc:
            self.answer.set_exception(exc)
            return
        self.answer.set_result((packet, arrived))

    def error_received(self, exc: Exception) -> None:
        # On a connected UDP socket, an ICMP port-unreachable arrives here as ConnectionRefusedError.
        if not self.answer.done():
            self.answer.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc or NtpError("the socket closed before a reply"))


async def query_ntp(server: str, timeout: float, now: Callable[[], float] = time.time) -> NtpReading:
    """Ask one NTP server once. NtpError (one line) when it cannot be asked or answers badly."""
    host, port = parse_server(server)
    label = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[tuple[NtpPacket, float]] = loop.create_future()
    transport: asyncio.DatagramTransport | None = None
    protocol: _SntpProtocol | None = None
    try:
        async with asyncio.timeout(timeout):
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
            except OSError as exc:
                raise NtpError(f"cannot resolve NTP server {host!r}: {exc.strerror or exc}") from None
            family, _, _, _, address = infos[0]
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: _SntpProtocol(0, now, answer), remote_addr=address, family=family
            )
            sent = now()  # T1
            packet_bytes, raw = encode_request(sent)
            protocol.request_raw = raw
            transport.sendto(packet_bytes)
            try:
                packet, arrived = await answer
            except ConnectionRefusedError:
                raise NtpError(f"NTP server {label} refused (nothing listens on UDP port {port})") from None
            except OSError as exc:
                raise NtpError(f"NTP server {label}: {exc.strerror or exc}") from None
    except TimeoutError:
        stale = f" (only a reply that did not match: {protocol.mismatch})" if protocol and protocol.mismatch else ""
        raise NtpError(f"NTP server {label} did not answer within {timeout:g}s{stale}") from None
    finally:
        if not answer.done():
            answer.cancel()  # nobody waits for it any more; connection_lost must not set an unread error
        if transport is not None:
            transport.close()
    offset, delay = offset_and_delay(sent, packet.receive, packet.transmit, arrived)
    return NtpReading(label, offset, delay, packet.stratum, reference_text(packet))
