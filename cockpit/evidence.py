"""The release's evidence folder: atomic writes, append-only logs, and a SHA-256 manifest.

Every write through the store records the file's hash in `manifest.sha256` (the
format `sha256sum -c` reads), so `verify` can tell a file changed, added or
removed behind the cockpit's back.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cockpit.errors import CockpitError
from cockpit.redaction import Redactor
from cockpit.release_version import validate_version

MANIFEST = "manifest.sha256"
_LOCK = ".manifest.lock"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class EvidenceError(CockpitError):
    """The evidence folder refuses a write (a sealed file, a path outside it): one line, exit 2."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write, fsync, rename: the file is either the old one or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


@dataclass
class VerifyReport:
    sealed: bool
    ok: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.sealed and not (self.changed or self.added or self.missing)


class EvidenceStore:
    """One folder per release under the evidence root."""

    def __init__(self, root: Path, version: str, redactor: Redactor | None = None) -> None:
        self.version = validate_version(version)
        self.root = Path(root)
        self.dir = self.root / version
        self.redactor = redactor or Redactor()

    def path(self, name: str) -> Path:
        if not _SAFE_NAME.match(name) or name in (MANIFEST, _LOCK):
            raise EvidenceError(f"evidence file name {name!r} is not allowed")
        return self.dir / name

    def _ensure_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _manifest_lock(self) -> Iterator[None]:
        self._ensure_dir()
        with (self.dir / _LOCK).open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def read_manifest(self) -> dict[str, str]:
        path = self.dir / MANIFEST
        if not path.exists():
            return {}
        entries: dict[str, str] = {}
        for line in path.read_text().splitlines():
            digest, _, name = line.partition("  ")
            if digest and name:
                entries[name] = digest
        return entries

    def _record(self, names: list[str]) -> None:
        entries = self.read_manifest()
        for name in names:
            entries[name] = sha256_file(self.path(name))
        body = "".join(f"{digest}  {name}\n" for name, digest in sorted(entries.items()))
        atomic_write_bytes(self.dir / MANIFEST, body.encode())

    def write_text(self, name: str, text: str) -> str:
        """Write a whole evidence file atomically (secrets scrubbed); returns its name."""
        target = self.path(name)
        with self._manifest_lock():
            atomic_write_bytes(target, self.redactor.scrub(text).encode())
            self._record([name])
        return name

    def append_line(self, name: str, line: str) -> str:
        """Append one line to an append-only evidence file, fsync'd."""
        target = self.path(name)
        text = self.redactor.scrub(line.rstrip("\n")) + "\n"
        with self._manifest_lock():
            with target.open("a", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            self._record([name])
        return name

    def record(self, *names: str) -> None:
        """Record the current hash of files the cockpit writes itself (the canary journal, its log)."""
        present = [n for n in names if self.path(n).is_file()]
        if present:
            with self._manifest_lock():
                self._record(present)

    def files(self) -> list[str]:
        if not self.dir.exists():
            return []
        return sorted(
            p.name
            for p in self.dir.iterdir()
            if p.is_file() and p.name not in (MANIFEST, _LOCK) and not p.name.startswith(".")
        )

    def seal(self) -> dict[str, str]:
        """Record every file now in the folder in the manifest; returns the manifest."""
        with self._manifest_lock():
            self._record(self.files())
            return self.read_manifest()

    def verify(self) -> VerifyReport:
        """Compare the folder with its manifest."""
        entries = self.read_manifest()
        report = VerifyReport(sealed=bool(entries))
        present = set(self.files())
        for name, digest in sorted(entries.items()):
            if name not in present:
                report.missing.append(name)
            elif sha256_file(self.dir / name) != digest:
                report.changed.append(name)
            else:
                report.ok.append(name)
        report.added = sorted(present - set(entries))
        return report
