"""Feature-flag defaults: each flag against `expect`, and against what the previous release shipped.

The seed names no flags, so the rule that needs no list compares with the previous
release's own evidence (`<evidence root>/<previous>/feature_flags_<previous>.txt`):
- a flag listed in `expect` must hold that value (else FAIL);
- a flag NEW in this release (absent from the previous release's file) must default
  to off: false, 0, "off", "false", "disabled" or null (else FAIL);
- a flag whose default CHANGED since the previous release is WARN unless `expect`
  lists it (a person said the new default is meant);
- with no previous release recorded, a flag not in `expect` was not judged: WARN,
  saying so, never PASS; an unreadable previous file is UNKNOWN.
The previous release is `previous` when set, else the highest release version
below this one whose folder holds the evidence file.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.checks.files import _os_reason  # one wording for OS errors across file checks
from cockpit.clock import iso_utc
from cockpit.release_version import BadVersion, validate_version
from cockpit.results import Outcome, Status, unknown
from cockpit.sources.http import describe_http_error, http_client, http_timeout

if TYPE_CHECKING:
    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import FeatureFlagsSpec

OFF_TEXT = ("off", "false", "disabled", "0", "")
# One flag per evidence row: `<state>  <flag> = <JSON value>  (<note>)`.
_ROW = re.compile(r"^\S+\s+(?P<flag>.+?) = (?P<value>.*?)  \((?P<note>.*)\)$")
_NUMBERS = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?")


def is_off(value: Any) -> bool:
    """Whether a flag value means off: false, 0, null, or text like "off" / "disabled"."""
    if value is None or value is False:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    return isinstance(value, str) and value.strip().lower() in OFF_TEXT


def version_key(version: str) -> tuple[int, int, int, int, str]:
    """Release order: 1.4.0-rc.1 < 1.4.0 < 1.4.1 (pre-releases compared as text)."""
    match = _NUMBERS.match(version)
    if match is None:
        return (-1, -1, -1, 0, version)
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre else 1, pre or "")


def parse_flag_evidence(text: str) -> dict[str, Any]:
    """Flag -> value from a feature_flags_<v>.txt this check wrote; flags it read as missing are left out."""
    flags: dict[str, Any] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match is None or match["value"] == "(missing)":
            continue
        try:
            flags[match["flag"]] = json.loads(match["value"])
        except json.JSONDecodeError:
            continue
    return flags


def flag_matches(actual: Any, expected: Any) -> bool:
    """Equal, without Python's True == 1: a boolean only matches a boolean."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, (int, float)) and isinstance(expected, (int, float)):
        return actual == expected
    return type(actual) is type(expected) and actual == expected


async def load_flags(source: str, ctx: CheckContext) -> tuple[dict[str, Any] | None, str]:
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


@dataclass(frozen=True)
class Previous:
    """The previous release's flags, or why there are none (`missing`: none recorded; `problem`: unreadable)."""

    version: str | None
    flags: dict[str, Any] | None
    missing: str = ""
    problem: str = ""


def find_previous(spec: FeatureFlagsSpec, ctx: CheckContext) -> Previous:
    """The previous release's flag evidence, from the evidence root (see the module docstring)."""
    root = ctx.evidence.root
    current = version_key(ctx.version)

    def file_of(version: str) -> Path:
        return root / version / (spec.evidence or f"feature_flags_{spec.id}_{{version}}.txt").replace("{version}", version)

    if spec.previous is not None:
        candidates = [spec.previous]
    else:
        try:
            folders = [p.name for p in root.iterdir() if p.is_dir()] if root.is_dir() else []
        except OSError as exc:
            return Previous(None, None, problem=f"evidence root {root}: cannot list it ({exc.strerror or exc})")
        releases = []
        for name in folders:
            try:
                validate_version(name)
            except BadVersion:
                continue
            if version_key(name) < current and file_of(name).is_file():
                releases.append(name)
        candidates = sorted(releases, key=version_key)[-1:]
    if not candidates:
        return Previous(None, None, missing=f"no earlier release under {root} has a {file_of('<previous>').name}")
    version = candidates[0]
    path = file_of(version)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Previous(version, None, missing=f"{path}: file not found")
    except (OSError, UnicodeDecodeError) as exc:
        return Previous(version, None, problem=f"{path}: cannot read it ({exc})")
    flags = parse_flag_evidence(text)
    if not flags and text.strip():
        return Previous(version, None, problem=f"{path}: no flag rows in it (not a feature_flags evidence file?)")
    return Previous(version, flags)


async def run_feature_flags(spec: FeatureFlagsSpec, ctx: CheckContext) -> Outcome:
    """Read the flags; judge them against `expect` and the previous release (see the module docstring)."""
    flags, problem = await load_flags(spec.source, ctx)
    if flags is None:
        return unknown(problem)
    previous = await asyncio.to_thread(find_previous, spec, ctx)
    before = previous.flags
    failures: list[str] = []
    changed: list[str] = []
    unjudged: list[str] = []
    rows: list[str] = []
    for flag in sorted(set(flags) | set(spec.expect)):
        value = json.dumps(flags[flag]) if flag in flags else "(missing)"
        if flag in spec.expect:
            expected = json.dumps(spec.expect[flag])
            ok = flag in flags and flag_matches(flags[flag], spec.expect[flag])
            rows.append(f"{'ok' if ok else 'MISMATCH':<9} {flag} = {value}  (expected {expected})")
            if not ok:
                failures.append(f"{flag} = {value}, expected {expected}")
        elif before is None:
            rows.append(f"{'-':<9} {flag} = {value}  (no expectation, no previous release to compare with)")
            unjudged.append(flag)
        elif flag not in before:
            off = is_off(flags[flag])
            rows.append(f"{'new' if off else 'NEW-ON':<9} {flag} = {value}  (new since {previous.version}"
                        + ("; off" if off else "; a new flag must default to off") + ")")
            if not off:
                failures.append(f"{flag} = {value}: new since {previous.version}, must default to off")
        elif flag_matches(flags[flag], before[flag]):
            rows.append(f"{'same':<9} {flag} = {value}  (as in {previous.version})")
        else:
            was = json.dumps(before[flag])
            rows.append(f"{'CHANGED':<9} {flag} = {value}  (was {was} in {previous.version}; list it in expect if meant)")
            changed.append(f"{flag}: {was} → {value} since {previous.version}")
    removed = sorted(set(before or {}) - set(flags))
    name = ctx.evidence_name(spec, f"feature_flags_{spec.id}_{{version}}.txt")
    compared = (f"previous release: {previous.version}" if before is not None
                else f"previous release: none ({previous.problem or previous.missing})")
    lines = [f"# {spec.title} ({spec.id})", f"source: {spec.source}", compared, f"read at: {iso_utc(ctx.clock.now())}", "",
             *rows, *(f"# gone since {previous.version}: {flag}" for flag in removed)]
    outcome = _verdict(flags, spec, previous, failures, changed, unjudged)
    lines += ["", f"verdict: {outcome.status.value} — {outcome.summary}"]
    outcome.evidence.append(await asyncio.to_thread(ctx.evidence.write_text, name, "\n".join(lines) + "\n"))
    return outcome


def _verdict(flags: dict[str, Any], spec: FeatureFlagsSpec, previous: Previous, failures: list[str],
             changed: list[str], unjudged: list[str]) -> Outcome:
    """FAIL on a mismatch or a new flag on; UNKNOWN on an unreadable previous file; WARN on a change or an unjudged flag."""
    if failures:
        return Outcome(Status.FAIL, f"{len(failures)} flag(s) off their defaults: {'; '.join(failures[:3])}", failures)
    if previous.problem and unjudged:
        return unknown(f"{len(unjudged)} flag(s) not in expect and the previous release's flags unreadable: {previous.problem}")
    if changed:
        return Outcome(Status.WARN, f"{len(changed)} default(s) changed since {previous.version} and not in expect: "
                       f"{'; '.join(changed[:3])}", changed)
    if unjudged:
        return Outcome(Status.WARN, f"read {len(flags)} flags; {len(unjudged)} not judged: not in expect and "
                       f"no previous release to compare with ({previous.missing or previous.problem})", unjudged)
    judged = f"{len(spec.expect)} as expected" if spec.expect else "none in expect"
    against = f", the rest as in {previous.version} or new and off" if previous.flags is not None else ""
    return Outcome(Status.PASS, f"{len(flags)} flags read: {judged}{against}")
