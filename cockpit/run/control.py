"""The live run's control socket: a local Unix socket only its owner (or one configured group) may use.

Protocol: a client sends one JSON object on one line, the run answers one JSON
object on one line; a connection may carry several requests, one after the other.

  request  {"command": "status" | "rollback" | "hold" | "resume" | "promote" | "note",
            "reason": "...", "text": "...", "by": "initials"}
  reply    {"ok": true | false, "message": "...", "error": "...", "status": {...}}

The socket file is chmod'ed (0600, or 0660 and chgrp'ed for a group) before the
socket listens, so nobody else can connect in between; each connection's peer
credentials (SO_PEERCRED) are checked too, and other uids are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import os
import pwd
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.errors import UnavailableError

SOCKET_NAME = "control.sock"
COMMANDS = ("status", "rollback", "hold", "resume", "promote", "note")
MAX_REQUEST = 64 * 1024
_UNIX_PATH_MAX = 107  # sun_path is 108 bytes with its NUL


class ControlError(UnavailableError):
    """The control socket cannot be used: one line, says why; exit 3 (`cockpit ctl` could not reach the run)."""


@dataclass(frozen=True)
class Peer:
    """Who is on the other end, from the kernel (SO_PEERCRED), not from what the client says."""

    pid: int
    uid: int
    gid: int

    @property
    def user(self) -> str:
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return f"uid{self.uid}"


Handler = Callable[[dict[str, Any], Peer], Awaitable[dict[str, Any]]]


def socket_path(run_dir: Path) -> Path:
    return Path(run_dir) / SOCKET_NAME


def peer_of(sock: socket.socket) -> Peer:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return Peer(pid, uid, gid)


def group_id(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise ControlError(f"canary.control_group: there is no group named {name!r} on this machine") from None


class ControlServer:
    def __init__(self, path: Path, handler: Handler, *, group: str | None = None, idle_timeout: float = 600.0) -> None:
        self.path = Path(path)
        self.handler = handler
        self.group = group
        self.gid = group_id(group) if group else None
        self.mode = 0o660 if group else 0o600
        self.idle_timeout = idle_timeout
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self.refused = 0  # connections from uids that may not command the run

    def allowed(self, peer: Peer) -> bool:
        if peer.uid == os.geteuid():
            return True
        if self.gid is None:
            return False
        if peer.gid == self.gid:
            return True
        try:
            return peer.user in grp.getgrgid(self.gid).gr_mem
        except KeyError:
            return False

    def _remove_stale(self) -> None:
        try:
            mode = self.path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise ControlError(f"{self.path} exists and is not a socket: refusing to replace it")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect(str(self.path))
        except OSError:
            self.path.unlink(missing_ok=True)  # left by a run that died: nobody listens
            return
        finally:
            probe.close()
        raise ControlError(f"{self.path}: another process is already listening (is the run live elsewhere?)")

    async def start(self) -> None:
        if len(os.fsencode(str(self.path))) > _UNIX_PATH_MAX:
            raise ControlError(
                f"control socket path is too long for a Unix socket ({len(str(self.path))} > {_UNIX_PATH_MAX} bytes): "
                f"use a shorter [evidence] dir"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._remove_stale()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(self.path))
            # Permissions before listen(): until listen, every connect is refused.
            if self.gid is not None:
                os.chown(self.path, -1, self.gid)
            os.chmod(self.path, self.mode)
            sock.listen(16)
            sock.setblocking(False)
            self._server = await asyncio.start_unix_server(self._serve, sock=sock, limit=MAX_REQUEST)
        except OSError as exc:
            sock.close()
            raise ControlError(f"cannot listen on {self.path}: {exc.strerror or exc}") from None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            sock = writer.get_extra_info("socket")
            peer = peer_of(sock)
            if not self.allowed(peer):
                self.refused += 1
                # Take the request off the wire first, so the client reads the refusal, not a broken pipe.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(reader.readline(), timeout=2.0)
                await self._reply(writer, {"ok": False, "error": f"permission denied: uid {peer.uid} may not command this run"})
                return
            while True:
                try:
                    line = await asyncio.wait_for(reader.readline(), timeout=self.idle_timeout)
                except TimeoutError:
                    return
                except (ValueError, asyncio.LimitOverrunError):
                    await self._reply(writer, {"ok": False, "error": f"request longer than {MAX_REQUEST} bytes"})
                    return
                if not line:
                    return
                reply = await self._answer(line, peer)
                await self._reply(writer, reply)
        except (ConnectionError, OSError):
            return
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, line: bytes, peer: Peer) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except ValueError:
            return {"ok": False, "error": "not a JSON object on one line"}
        if not isinstance(request, dict):
            return {"ok": False, "error": "not a JSON object on one line"}
        command = request.get("command")
        if command not in COMMANDS:
            return {"ok": False, "error": f"unknown command {command!r} (use one of {', '.join(COMMANDS)})"}
        try:
            return await self.handler(request, peer)
        except Exception as exc:  # a handler bug must not take the run down: the client hears of it
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, reply: dict[str, Any]) -> None:
        writer.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
        await writer.drain()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=2.0)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def control_request(path: Path, request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Send one request to a live run and return its reply; ControlError (one line) when that fails."""
    path = Path(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(str(path))
        except FileNotFoundError:
            raise ControlError(f"no live run: {path} does not exist") from None
        except ConnectionRefusedError:
            raise ControlError(f"no live run: nothing listens on {path}") from None
        except PermissionError:
            raise ControlError(f"permission denied on {path}: only the run's owner may command it") from None
        sock.sendall(json.dumps(request, ensure_ascii=False).encode() + b"\n")
        data = bytearray()
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > 4 * MAX_REQUEST:
                raise ControlError("the run's reply is too long")
    except TimeoutError:
        raise ControlError(f"the run did not answer within {timeout:g}s") from None
    except ControlError:
        raise
    except OSError as exc:
        raise ControlError(f"cannot talk to the run on {path}: {exc.strerror or exc}") from None
    finally:
        sock.close()
    try:
        reply = json.loads(bytes(data))
    except ValueError:
        raise ControlError("the run's reply is not JSON (is this a cockpit control socket?)") from None
    if not isinstance(reply, dict):
        raise ControlError("the run's reply is not a JSON object")
    return reply
