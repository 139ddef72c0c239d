"""File-side checks: required release artifacts exist and are not empty; feature flags hold their defaults."""

from __future__ import annotations

import asyncio
import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.clock import iso_utc
from cockpit.results import Outcome, Status, unknown
from cockpit.sources.http import describe_http_error, http_client, http_timeout

if TYPE_CHECKING:
    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import FeatureFlagsSpec, FilesSpec

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


async def run_files(spec: "FilesSpec", ctx: "CheckContext") -> Outcome:
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


# ---------------------------------------------------------------- feature flags


def flag_matches(actual: Any, expected: Any) -> bool:
    """Equal, without Python's True == 1: a boolean only matches a boolean."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return actual == expected
    return type(actual) is type(expected) and actual == expected


async def load_flags(source: str, ctx: "CheckContext") -> tuple[dict[str, Any] | None, str]:
    """The flags object from a JSON file or http(s) URL: (flags, "") or (None, why not)."""
    if source.startswith(("http://", "https://")):
        import httpx

        timeout = http_timeout(ctx.config.service)
        try:
            async with http_client(ctx.config.service, follow_redirects=True) as client:
                response = await client.get(source)
        except httpx.HTTPError as exc:
            return None, describe_http_error(exc, source, timeout)
        if response.status_code != 200:
            return None, f"{source} answered HTTP {response.status_code}"
        text = response.text
    else:
        try:
            text = await asyncio.to_thread(Path(source).read_text, encoding="utf-8")
        except FileNotFoundError:
            return None, f"{source}: file not found"
        except UnicodeDecodeError:
            return None, f"{source}: not UTF-8 text"
        except OSError as exc:
            return None, f"{source}: cannot read it ({_os_reason(exc)})"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"{source}: not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    if not isinstance(data, dict):
        return None, f"{source}: expected a JSON object of flags, got {type(data).__name__}"
    return data, ""


async def run_feature_flags(spec: "FeatureFlagsSpec", ctx: "CheckContext") -> Outcome:
    """Read the flags and compare each expected one with its value; a mismatch or a missing flag FAILs."""
    flags, problem = await load_flags(spec.source, ctx)
    if flags is None:
        return unknown(problem)
    mismatches: list[str] = []
    rows: list[str] = []
    for flag in sorted(set(flags) | set(spec.expect)):
        value = json.dumps(flags[flag]) if flag in flags else "(missing)"
        if flag in spec.expect:
            expected = json.dumps(spec.expect[flag])
            ok = flag in flags and flag_matches(flags[flag], spec.expect[flag])
            rows.append(f"{'ok' if ok else 'MISMATCH':<9} {flag} = {value}  (expected {expected})")
            if not ok:
                mismatches.append(f"{flag} = {value}, expected {expected}")
        else:
            rows.append(f"{'-':<9} {flag} = {value}  (no expectation)")
    name = ctx.evidence_name(spec, f"feature_flags_{spec.id}_{{version}}.txt")
    lines = [f"# {spec.title} ({spec.id})", f"source: {spec.source}", f"read at: {iso_utc(ctx.clock.now())}", "", *rows]
    if mismatches:
        summary = f"{len(mismatches)} of {len(spec.expect)} flags off their defaults: {'; '.join(mismatches[:3])}"
        outcome = Outcome(Status.FAIL, summary, mismatches)
    elif not spec.expect:
        outcome = Outcome(Status.WARN, f"read {len(flags)} flags; no expected values configured (set expect)")
    else:
        outcome = Outcome(Status.PASS, f"{len(spec.expect)}/{len(spec.expect)} flags at their expected values ({len(flags)} read)")
    lines += ["", f"verdict: {outcome.status.value} — {outcome.summary}"]
    outcome.evidence.append(await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join(lines) + "\n"))
    return outcome
