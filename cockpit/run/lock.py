"""The run lock: one process at a time writes a release's journal (the canary run, then its first night).

An exclusive flock on <evidence>/<version>/.run.lock, holding the owner's pid
for the message a second process gets. The kernel drops the lock when the
process dies, so a crash never leaves a release locked.
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

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock without waiting; RunLockHeld when another process has it."""
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

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
