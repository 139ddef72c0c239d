"""File-side checks: required release artifacts exist and are not empty."""

from __future__ import annotations

import asyncio
import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.clock import iso_utc
from cockpit.results import Outcome, Status, unknown

if TYPE_CHECKING:
    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import FilesSpec

_GLOB_CHARS = set("*?[")


def _os_reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else type(exc).__name__


# ---------------------------------------------------------------- required files


def parse_manifest(text: str) -> list[str]:
    """One path per line; blank lines and lines starting with # are skipped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


@dataclass(frozen=True)
class FileState:
    """One required entry: state is "present", "missing", "empty" or "unreadable"."""

    entry: str
    state: str
    detail: str = ""


def _non_empty(path: Path) -> tuple[str, str]:
    """(state, detail) of one existing-or-not path."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "missing", "not found"
    except OSError as exc:
        return "unreadable", _os_reason(exc)
    if path.is_dir():
        try:
            with os.scandir(path) as entries:
                has_any = any(True for _ in entries)
        except OSError as exc:
            return "unreadable", _os_reason(exc)
        return ("present", "directory") if has_any else ("empty", "empty directory")
    if info.st_size == 0:
        return "empty", "0 bytes"
    return "present", f"{info.st_size} bytes"


def inspect_entry(base: Path, entry: str) -> FileState:
    """Check one path or glob relative to base: a glob needs at least one match and no empty match."""
    if not _GLOB_CHARS & set(entry):
        state, detail = _non_empty(base / entry)
        return FileState(entry, state, detail)
    matches = sorted(glob.glob(entry, root_dir=base, recursive=True))
    if not matches:
        return FileState(entry, "missing", "no file matches")
    states = [(m, *_non_empty(base / m)) for m in matches]
    empty = [m for m, state, _ in states if state == "empty"]
    unreadable = [m for m, state, _ in states if state == "unreadable"]
    if empty:
        return FileState(entry, "empty", "empty: " + ", ".join(empty[:5]))
    if unreadable:
        return FileState(entry, "unreadable", "unreadable: " + ", ".join(unreadable[:5]))
    return FileState(entry, "present", f"{len(matches)} match{'es' if len(matches) != 1 else ''}")


async def run_files(spec: FilesSpec, ctx: CheckContext) -> Outcome:
    """Every listed path/glob (spec.paths + the manifest's lines, relative to base_dir) exists and is not empty.

    base_dir is relative to the current directory; the manifest is looked up in base_dir.
    """
    base = Path(spec.base_dir)
    entries = list(spec.paths)
    if spec.manifest:
        manifest = base / spec.manifest
        try:
            entries += parse_manifest(manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return unknown(f"manifest {manifest}: file not found")
        except UnicodeDecodeError:
            return unknown(f"manifest {manifest}: not UTF-8 text")
        except OSError as exc:
            return unknown(f"manifest {manifest}: cannot read it ({_os_reason(exc)})")
    if not entries:
        return unknown("nothing to check: no paths and no manifest entries")

    states = await asyncio.to_thread(lambda: [inspect_entry(base, e) for e in entries])
    present = [s for s in states if s.state == "present"]
    problems = [s for s in states if s.state in ("missing", "empty")]
    unreadable = [s for s in states if s.state == "unreadable"]
    summary = f"{len(present)}/{len(states)} present"
    name = ctx.evidence_name(spec, f"files_{spec.id}_{{version}}.txt")
    lines = [
        f"# {spec.title} ({spec.id})",
        f"checked at: {iso_utc(ctx.clock.now())}",
        f"base dir: {base.resolve()}",
        f"manifest: {spec.manifest or '(none)'}",
        "",
        *(f"{s.state.upper():<10} {s.entry}  ({s.detail})" for s in states),
        "",
        f"{summary}",
    ]
    details = [f"{s.state}: {s.entry} ({s.detail})" for s in problems + unreadable]
    if problems:
        kinds = sorted({s.state for s in problems})
        outcome = Outcome(Status.FAIL, f"{summary}; {len(problems)} {' or '.join(kinds)}", details)
    elif unreadable:
        outcome = Outcome(Status.UNKNOWN, f"{summary}; {len(unreadable)} could not be read", details)
    else:
        outcome = Outcome(Status.PASS, summary)
    outcome.evidence.append(await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join(lines) + "\n"))
    return outcome
