"""SNTP (RFC 4330) packets, timestamps and the offset/delay arithmetic: pure functions."""

from __future__ import annotations

import struct

import pytest

from cockpit.sources.ntp import (
    NTP_EPOCH_OFFSET,
    NtpError,
    check_reply,
    decode_packet,
    encode_request,
    ntp_to_unix,
    offset_and_delay,
    parse_server,
    reference_text,
    unix_to_ntp,
)


def test_request_is_a_version_4_client_packet_carrying_its_transmit_time():
    packet, raw = encode_request(1_700_000_000.25)
    assert len(packet) == 48
    assert packet[0] == 0b00_100_011  # LI 0, VN 4, mode 3
    assert packet[1:40] == bytes(39)
    (transmit,) = struct.unpack("!Q", packet[40:48])
    assert transmit == raw
    assert raw >> 32 == 1_700_000_000 + NTP_EPOCH_OFFSET
    assert (raw & 0xFFFFFFFF) == 1 << 30  # .25 of a second


@pytest.mark.parametrize("ts", [0.0, 1_700_000_000.123456, 2_085_978_495.5, 2_085_978_496.75, 3_000_000_000.0])
def test_timestamps_round_trip_across_the_2036_era_boundary(ts):
    assert ntp_to_unix(unix_to_ntp(ts)) == pytest.approx(ts, abs=1e-6)


def test_era_1_timestamps_have_a_clear_top_bit():
    after_2036 = unix_to_ntp(2_085_978_496.0 + 10)  # 2036-02-07 06:28:26 UTC
    assert after_2036 >> 63 == 0 and (after_2036 >> 32) == 10


def reply(first: int = 0b00_100_100, stratum: int = 2, refid: bytes = b"\xc0\x00\x02\x01",
          originate: int = 7, receive: int = 1, transmit: int = 2) -> bytes:
    return struct.pack("!BBbbII4sQQQQ", first, stratum, 6, -20, 0x00010000, 0x00008000, refid, 0, originate, receive, transmit)


def test_decode_reads_every_field():
    received, sent = unix_to_ntp(1_700_000_000.5), unix_to_ntp(1_700_000_000.75)
    packet = decode_packet(reply(originate=123, receive=received, transmit=sent))
    assert (packet.leap, packet.version, packet.mode, packet.stratum) == (0, 4, 4, 2)
    assert packet.root_delay == 1.0 and packet.root_dispersion == 0.5
    assert packet.originate_raw == 123
    assert packet.receive == pytest.approx(1_700_000_000.5) and packet.transmit == pytest.approx(1_700_000_000.75)
    assert reference_text(packet) == "192.0.2.1"
    assert reference_text(decode_packet(reply(stratum=1, refid=b"GPS\0"))) == "GPS"


def test_short_packet_is_an_error():
    with pytest.raises(NtpError, match="reply is 47 bytes"):
        decode_packet(bytes(47))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (reply(first=0b00_100_011), r"not a server reply \(mode 3\)"),
        (reply(originate=8), "does not answer our request"),
        (reply(stratum=0, refid=b"DENY"), r"kiss-o'-death \(DENY\)"),
        (reply(first=0b11_100_100), r"not synchronised \(leap 3"),
        (reply(stratum=16), r"not synchronised .*stratum 16"),
        (reply(transmit=0), "no transmit time"),
    ],
)
def test_untrustworthy_replies_are_rejected(data, message):
    with pytest.raises(NtpError, match=message):
        check_reply(decode_packet(data), request_raw=7)


def test_a_good_reply_passes_the_checks():
    check_reply(decode_packet(reply()), request_raw=7)


def test_offset_and_delay_follow_rfc_4330():
    # Server 5 s ahead, 10 ms each way, 1 ms processing.
    t1 = 100.0
    t2 = t1 + 0.010 + 5.0
    t3 = t2 + 0.001
    t4 = t1 + 0.021
    offset, delay = offset_and_delay(t1, t2, t3, t4)
    assert offset == pytest.approx(5.0)
    assert delay == pytest.approx(0.020)
    # Asymmetric paths bias the offset by half the asymmetry: that is the method's known limit.
    offset, _ = offset_and_delay(0.0, 0.030, 0.030, 0.040)
    assert offset == pytest.approx(0.010)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pool.ntp.org", ("pool.ntp.org", 123)),
        ("127.0.0.1:11123", ("127.0.0.1", 11123)),
        ("[::1]:4123", ("::1", 4123)),
        ("[::1]", ("::1", 123)),
        ("fe80::1", ("fe80::1", 123)),
    ],
)
def test_server_names(text, expected):
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["", "host:0", "host:99999", "host:ntp"])
def test_bad_server_names(text):
    with pytest.raises(NtpError):
        parse_server(text)
