"""The run lock: one process at a time writes a release's journal (the canary run, then its first night).

An exclusive flock on <evidence>/<version>/.run.lock, holding the owner's pid
for the message a second process gets. The kernel drops the lock when the
process dies, so a crash never leaves a release locked.

Shared for a hand-over: a canary whose `[first_night] start = "auto"` holds
the lock from the canary's start to the night's end (`acquire(share=True)` in
cockpit.cli.canary), and the two runs inside take and release it again on the
same open file, so no other process can slip in between the promotion and the
night's first record. Without that outer hold a second run is refused, in this
process as in any other.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from cockpit.errors import CockpitError

LOCK_NAME = ".run.lock"


class RunLockHeld(CockpitError):
    """Another process holds the release's lock; `holder` is its pid as written in the file ("?" if unreadable)."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"the run lock is held by pid {holder}")
        self.holder = holder


class RunLock:
    """The lock of one release's evidence folder; acquire() before writing the journal, release() after."""

    # This process's held locks: path -> [fd, holders, shared]. flock conflicts between two open files even
    # in one process, so a holder inside a shared hold uses the outer holder's file instead of its own.
    _held: dict[Path, list[int]] = {}

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self, share: bool = False) -> None:
        """Take the lock without waiting; RunLockHeld when another holder has it (unless it holds it `share`d)."""
        key = self.path.resolve()
        held = RunLock._held.get(key)
        if held is not None:
            if not held[2]:
                raise RunLockHeld(str(os.getpid()))
            held[1] += 1
            self._fd = held[0]
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunLockHeld(holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        RunLock._held[key] = [fd, 1, int(share)]

    def release(self) -> None:
        """Let go; the file is unlocked when the last holder in this process lets go."""
        if self._fd is None:
            return
        key = self.path.resolve()
        held = RunLock._held.get(key)
        if held is not None and held[0] == self._fd:
            held[1] -= 1
            if held[1] > 0:
                self._fd = None
                return
            del RunLock._held[key]
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
