"""Live runs on this machine: one small JSON file per run in the user's runtime directory.

A canary or a first night registers itself when it starts and removes its file when
it ends, so `cockpit ctl`, `attach` and `watch` find it from any folder. A file whose
pid is dead (the run was killed) is ignored and removed by whoever reads it.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cockpit.config_file import APP_NAME


@dataclass(frozen=True)
class LiveRun:
    """What another command needs to reach a run: its evidence root and folder, socket and config."""

    kind: str  # "canary" or "first-night"
    version: str
    pid: int
    evidence_root: str
    evidence_dir: str
    socket: str
    config: str | None


def live_run(kind: str, version: str, store: Any, config_path: Path | None) -> LiveRun:
    """This process's entry for a run writing `store` (an EvidenceStore)."""
    from cockpit.run.control import socket_path

    return LiveRun(kind=kind, version=version, pid=os.getpid(), evidence_root=str(Path(store.root).resolve()),
                   evidence_dir=str(Path(store.dir).resolve()), socket=str(socket_path(Path(store.dir).resolve())),
                   config=str(Path(config_path).resolve()) if config_path is not None else None)


def runtime_dir() -> Path:
    """The user's runtime directory for the cockpit ($XDG_RUNTIME_DIR/cockpit on Linux)."""
    from platformdirs import user_runtime_dir

    with warnings.catch_warnings():  # without XDG_RUNTIME_DIR platformdirs warns and uses /tmp/runtime-<uid>
        warnings.simplefilter("ignore")
        return Path(user_runtime_dir(APP_NAME, appauthor=False))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, not ours to judge
    try:  # a killed run not yet reaped by its parent is a zombie: dead for us
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def register_run(run: LiveRun) -> Path | None:
    """Write the run's entry; None when the runtime directory cannot be written (the run goes on)."""
    try:
        folder = runtime_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{run.kind}_{run.version}_{run.pid}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(run), indent=1), encoding="utf-8")
        os.replace(tmp, path)
        return path
    except OSError:
        return None


def unregister_run(path: Path | None) -> None:
    """Remove a run's entry (already gone is fine)."""
    if path is not None:
        try:
            path.unlink()
        except OSError:
            pass


@contextmanager
def registered(run: LiveRun) -> Iterator[Path | None]:
    """The run's entry exists while the block runs."""
    path = register_run(run)
    try:
        yield path
    finally:
        unregister_run(path)


def live_runs(version: str | None = None, kind: str | None = None) -> list[LiveRun]:
    """The live runs (newest first), filtered by version and kind; dead entries are removed on the way."""
    try:
        entries = sorted(runtime_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []
    runs: list[LiveRun] = []
    for entry in entries:
        try:
            run = LiveRun(**json.loads(entry.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue  # half-written or foreign: not ours to delete
        if not _alive(run.pid):
            unregister_run(entry)
            continue
        if (version is None or run.version == version) and (kind is None or run.kind == kind):
            runs.append(run)
    return runs


def find_live_run(version: str, kind: str | None = None) -> LiveRun | None:
    """The newest live run of `version` (of `kind`), None when none is registered."""
    runs = live_runs(version, kind)
    return runs[0] if runs else None
