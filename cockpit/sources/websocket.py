"""The service's WebSocket endpoint: connect, send one message, time the reply (the `websockets` package)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from cockpit.sources.http import describe_http_error


@dataclass
class RoundTrip:
    """One connect and one message round trip; `error` set means it did not complete."""

    url: str
    connect_s: float | None = None
    round_trip_s: float | None = None
    reply: str | None = None
    error: str | None = None

    @property
    def total_s(self) -> float | None:
        if self.connect_s is None or self.round_trip_s is None:
            return None
        return self.connect_s + self.round_trip_s


async def ws_round_trip(url: str, message: str, timeout: float, verify_tls: bool = True) -> RoundTrip:
    """Connect to `url`, send `message`, wait for one reply; every failure becomes `error`, never raises."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

    ssl: object = None
    if url.startswith("wss://") and not verify_tls:
        import ssl as ssl_module

        context = ssl_module.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl_module.CERT_NONE
        ssl = context
    result = RoundTrip(url)
    started = time.perf_counter()
    try:
        async with connect(url, open_timeout=timeout, close_timeout=1, ssl=ssl, max_size=1 << 20) as socket:
            result.connect_s = time.perf_counter() - started
            sent = time.perf_counter()
            await socket.send(message)
            try:
                reply = await asyncio.wait_for(socket.recv(), timeout)
            except TimeoutError:
                result.error = f"{url}: connected, but no reply to a message within {timeout:g}s"
                return result
            result.round_trip_s = time.perf_counter() - sent
            text = reply if isinstance(reply, str) else reply.decode("utf-8", "replace")
            result.reply = text[:200]
    except InvalidStatus as exc:
        result.error = f"{url}: the server answered HTTP {exc.response.status_code}, not a WebSocket upgrade"
    except InvalidURI as exc:
        result.error = f"{url}: not a usable ws(s) URL ({exc})"
    except InvalidHandshake as exc:
        result.error = f"{url}: WebSocket handshake failed ({exc})"
    except ConnectionClosed as exc:
        result.error = f"{url}: the server closed the WebSocket ({exc})"
    except (OSError, TimeoutError) as exc:
        # the same words for an unreachable host as every HTTP check
        result.error = describe_http_error(exc if isinstance(exc, OSError) else TimeoutError(), url, timeout)
    return result
