"""HAProxy as the traffic system: weights set and read through its runtime API on the admin socket.

The socket is spoken to directly (asyncio, one command line per connection; no
shell, no socat). A canary percentage w becomes stable = 100 - w and canary = w,
so the servers' weights add up to 100 and the canary's weight is its share. The
server that ends with the larger weight is set first, so the backend is never
left with both at 0 between the two commands (a rollback from 100 % would 503).
"""

from __future__ import annotations

import asyncio
import time

from cockpit.clock import Clock
from cockpit.config import HAProxyConfig
from cockpit.engine.attempt import OUTPUT_LIMIT, AttemptRecord
from cockpit.errors import UnavailableError
from cockpit.format import format_weight

MAX_WEIGHT = 256  # HAProxy's own limit on a server weight


class HAProxyError(UnavailableError):
    """The runtime API could not be reached or refused a command; the message is one line."""


class HAProxyRuntime:
    """One backend's stable and canary servers on an HAProxy admin socket."""

    def __init__(self, config: HAProxyConfig, timeout: float) -> None:
        self.config = config
        self.timeout = timeout
        self.target = (f"HAProxy {config.socket}: set weight {config.backend}/{config.stable_server} "
                       f"and {config.backend}/{config.canary_server}")

    async def command(self, line: str) -> str:
        """Send one line to the runtime API and return its whole answer (HAProxy closes after answering)."""
        path = self.config.socket
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), self.timeout)
        except TimeoutError:
            raise HAProxyError(f"HAProxy's admin socket {path} did not accept within {self.timeout:g}s") from None
        except OSError as exc:
            raise HAProxyError(f"cannot reach HAProxy's admin socket {path}: {exc.strerror or exc}") from None
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(OUTPUT_LIMIT * 8), self.timeout)
            chunks = [answer]
            while answer:  # read to the end: HAProxy closes the connection when it has answered
                answer = await asyncio.wait_for(reader.read(OUTPUT_LIMIT * 8), self.timeout)
                chunks.append(answer)
        except TimeoutError:
            raise HAProxyError(f"HAProxy's admin socket {path} did not answer {line.split(';')[0]!r} "
                               f"within {self.timeout:g}s") from None
        except OSError as exc:
            raise HAProxyError(f"HAProxy's admin socket {path}: {exc.strerror or exc}") from None
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
        return b"".join(chunks).decode("utf-8", errors="replace")

    async def set_percentage(self, weight: float) -> str:
        """stable = 100 - w, canary = w; the larger first. Returns the commands sent; raises HAProxyError."""
        if weight != int(weight) or not 0 <= weight <= 100:
            raise HAProxyError(f"HAProxy weights are whole numbers from 0 to 100 here: cannot set {format_weight(weight)}")
        c = self.config
        canary, stable = int(weight), 100 - int(weight)
        pairs = [(c.stable_server, stable), (c.canary_server, canary)]
        pairs.sort(key=lambda pair: -pair[1])
        line = "; ".join(f"set weight {c.backend}/{server} {value}" for server, value in pairs)
        answer = (await self.command(line)).strip()
        if answer:  # success is an empty answer; anything else is HAProxy's complaint
            raise HAProxyError(f"HAProxy refused {line!r}: {' '.join(answer.split())[:200]}")
        return line

    async def weights(self) -> dict[str, int]:
        """The backend's servers and their user weights (srv_uweight), from `show servers state`."""
        answer = await self.command(f"show servers state {self.config.backend}")
        header: list[str] | None = None
        found: dict[str, int] = {}
        for raw in answer.splitlines():
            if raw.startswith("# "):
                header = raw[2:].split()
                continue
            fields = raw.split()
            if header is None or len(fields) < len(header) or "srv_uweight" not in header:
                continue
            row = dict(zip(header, fields))
            if row.get("be_name") == self.config.backend:
                found[row["srv_name"]] = int(row["srv_uweight"])
        if header is None:
            raise HAProxyError(f"HAProxy: show servers state {self.config.backend}: {' '.join(answer.split())[:200] or 'no answer'}")
        return found

    async def read(self, version: str, stage: int) -> tuple[float | None, str | None]:
        """The canary's share in percent: canary / (stable + canary)."""
        try:
            servers = await self.weights()
        except HAProxyError as exc:
            return None, str(exc)
        c = self.config
        missing = [name for name in (c.stable_server, c.canary_server) if name not in servers]
        if missing:
            return None, f"HAProxy backend {c.backend} has no server {missing[0]} (it has: {', '.join(servers) or 'none'})"
        stable, canary = servers[c.stable_server], servers[c.canary_server]
        if stable + canary == 0:
            return 0.0, None  # nothing is served at all, but the canary gets none of it
        return round(canary * 100 / (stable + canary), 3), None

    async def attempt(self, action: str, weight: float, version: str, stage: int, number: int, clock: Clock) -> AttemptRecord:
        """Set the weights once; an AttemptRecord like a command's ("set weight …" as its output)."""
        started_at, t0 = clock.now(), time.perf_counter()
        try:
            line = await self.set_percentage(weight)
        except HAProxyError as exc:
            return AttemptRecord(number, started_at, time.perf_counter() - t0, False, str(exc), "", "", t0)
        return AttemptRecord(number, started_at, time.perf_counter() - t0, True, "answered OK", line, "", t0)


class ServersState:
    """The read-back side of an HAProxyRuntime, named for what it asks (`show servers state`)."""

    def __init__(self, runtime: HAProxyRuntime) -> None:
        self.runtime = runtime
        self.target = f"HAProxy {runtime.config.socket}: show servers state {runtime.config.backend}"

    async def read(self, version: str, stage: int) -> tuple[float | None, str | None]:
        return await self.runtime.read(version, stage)
