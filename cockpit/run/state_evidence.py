"""The run's evidence files in the state database as they are written, and back on the host that takes over.

The lease keeper's thread sends, after each renewal, every file of the
manifest that changed since it last sent it (size and mtime, then its SHA-256),
so a host that dies takes at most `renew_every` of evidence with it. The
journal is not sent this way (its records are in the database already, one by
one); it goes with the rest when the run ends. A standby that takes a run over
writes the files its folder lacks from the database before it resumes, and
records them in its own manifest, so its folder is the release's.
"""

from __future__ import annotations

import hashlib
import socket

from cockpit.evidence import MANIFEST, EvidenceStore, atomic_write_bytes
from cockpit.run.journal import JOURNAL_NAME
from cockpit.run.state_store import StateStore

# The run's own bookkeeping, never copied between hosts: the journal (its records are) and the manifest itself.
NOT_COPIED = (JOURNAL_NAME, MANIFEST)


class EvidenceSync:
    """Sends a run's changed evidence files; `push` runs on the keeper's thread with its connection."""

    def __init__(self, evidence: EvidenceStore, version: str) -> None:
        self.evidence = evidence
        self.version = version
        self.host = socket.gethostname()
        self._seen: dict[str, tuple[int, int]] = {}  # name -> (size, mtime_ns) when last sent
        self.sent = 0

    def push(self, store: StateStore) -> int:
        """Send the files that changed; how many were sent."""
        count = 0
        for name in sorted(self.evidence.read_manifest()):
            if name in NOT_COPIED:
                continue
            path = self.evidence.path(name)
            try:
                info = path.stat()
            except OSError:
                continue
            mark = (info.st_size, info.st_mtime_ns)
            if self._seen.get(name) == mark:
                continue
            data = path.read_bytes()
            store.put_evidence(self.version, name, data, hashlib.sha256(data).hexdigest(), self.host)
            self._seen[name] = mark
            count += 1
        self.sent += count
        return count


def fetch_missing(store: StateStore, version: str, evidence: EvidenceStore) -> list[str]:
    """Write the evidence files the database has and this folder lacks; their names."""
    written: list[str] = []
    evidence.dir.mkdir(parents=True, exist_ok=True)
    for name, content in store.evidence_files(version):
        if name in NOT_COPIED or "/" in name or name.startswith("."):
            continue
        path = evidence.path(name)
        if path.exists():
            continue
        atomic_write_bytes(path, bytes(content))
        written.append(name)
    if written:
        evidence.record(*written)
    return written

