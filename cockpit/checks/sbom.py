"""CycloneDX SBOM checks: attached and well-formed, restrictive licences, and licence drift since the last release."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.clock import iso_utc
from cockpit.errors import CockpitError
from cockpit.results import Outcome, Status, unknown

if TYPE_CHECKING:
    from cockpit.checks.runner import CheckContext
    from cockpit.checks.specs import SbomSpec

_TOKEN = re.compile(r"\(|\)|[^\s()]+")


@dataclass(frozen=True)
class Component:
    key: str  # group/name: stable across versions, so an upgrade is the same component
    version: str
    licenses: tuple[str, ...]
    purl: str = ""


class SbomError(CockpitError):
    """Why an SBOM could not be used; `missing`/`unreadable` say it was not there to read."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # "missing" | "unreadable" | "invalid"


def load_sbom(path: Path) -> dict[str, Any]:
    """A CycloneDX JSON document with bomFormat, specVersion and a components list; SbomError otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SbomError(f"{path}: not found", "missing") from None
    except UnicodeDecodeError:
        raise SbomError(f"{path}: not UTF-8 text", "invalid") from None
    except OSError as exc:
        raise SbomError(f"{path}: cannot read it ({(exc.strerror or type(exc).__name__).lower()})", "unreadable") from None
    try:
        bom = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SbomError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})", "invalid") from None
    if not isinstance(bom, dict) or bom.get("bomFormat") != "CycloneDX":
        raise SbomError(f"{path}: not a CycloneDX SBOM (bomFormat is not \"CycloneDX\")", "invalid")
    if not isinstance(bom.get("specVersion"), str):
        raise SbomError(f"{path}: no specVersion", "invalid")
    if not isinstance(bom.get("components"), list):
        raise SbomError(f"{path}: no components list", "invalid")
    return bom


def licence_texts(component: dict[str, Any]) -> list[str]:
    """Every licence a component declares: license.id, license.name or an SPDX expression."""
    found: list[str] = []
    for entry in component.get("licenses") or []:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("expression"), str):
            found.append(entry["expression"].strip())
        licence = entry.get("license")
        if isinstance(licence, dict):
            text = licence.get("id") or licence.get("name")
            if isinstance(text, str) and text.strip():
                found.append(text.strip())
    return found


def list_components(bom: dict[str, Any]) -> list[Component]:
    """Every component, nested ones included."""
    found: list[Component] = []
    stack = list(bom.get("components") or [])
    while stack:
        item = stack.pop(0)
        if not isinstance(item, dict):
            continue
        name = str(item.get("name", "?"))
        group = item.get("group")
        found.append(
            Component(
                key=f"{group}/{name}" if group else name,
                version=str(item.get("version", "")),
                licenses=tuple(licence_texts(item)),
                purl=str(item.get("purl", "")),
            )
        )
        stack.extend(item.get("components") or [])
    return found


def is_restrictive(licence: str, restrictive: set[str]) -> bool:
    """True if the licence (id, name or SPDX expression) binds you to a restrictive licence.

    `A OR B` is restrictive only if both are (you may choose); `A AND B` if either is;
    `X WITH exception` is judged by X. A malformed expression counts if any token does.
    """
    wanted = {r.upper() for r in restrictive}

    def listed(token: str) -> bool:
        upper = token.upper()
        return upper in wanted or upper.rstrip("+") in wanted

    tokens = _TOKEN.findall(licence)
    if len(tokens) <= 1 or not {"AND", "OR", "WITH", "(", ")"} & {t.upper() for t in tokens}:
        return listed(licence.strip())
    position = 0

    def peek() -> str | None:
        return tokens[position].upper() if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def either() -> bool:
        result = both()
        while peek() == "OR":
            take()
            result = both() and result
        return result

    def both() -> bool:
        result = atom()
        while peek() == "AND":
            take()
            result = atom() or result
        return result

    def atom() -> bool:
        if peek() == "(":
            take()
            result = either()
            if take() != ")":
                raise ValueError("unbalanced")
            return result
        token = take()
        if token in ("(", ")") or token.upper() in ("AND", "OR", "WITH"):
            raise ValueError("unexpected operator")
        if peek() == "WITH":
            take()
            take()
        return listed(token)

    try:
        result = either()
        if position != len(tokens):
            raise ValueError("trailing tokens")
        return result
    except (ValueError, IndexError):
        return any(listed(t) for t in tokens)


def restrictive_components(components: list[Component], restrictive: set[str]) -> list[Component]:
    return [c for c in components if any(is_restrictive(text, restrictive) for text in c.licenses)]


def new_restrictive(current: list[Component], previous: list[Component], restrictive: set[str]) -> list[tuple[Component, str]]:
    """Restrictive components now that were not restrictive (or not there) in the previous SBOM."""
    before: dict[str, list[Component]] = {}
    for component in previous:
        before.setdefault(component.key, []).append(component)
    found: list[tuple[Component, str]] = []
    for component in restrictive_components(current, restrictive):
        old = before.get(component.key)
        if old is None:
            found.append((component, "new component"))
        elif not restrictive_components(old, restrictive):
            was = sorted({text for c in old for text in c.licenses}) or ["no licence data"]
            found.append((component, f"licence changed from {', '.join(was)}"))
    return found


def _entry(component: Component, reason: str | None = None) -> dict[str, Any]:
    entry = asdict(component)
    entry["licenses"] = list(component.licenses)
    if reason:
        entry["reason"] = reason
    return entry


def _label(component: Component) -> str:
    version = f"@{component.version}" if component.version else ""
    return f"{component.key}{version} ({', '.join(component.licenses)})"


async def run_sbom(spec: SbomSpec, ctx: CheckContext) -> Outcome:
    """presence: a usable CycloneDX SBOM; licenses: none restrictive; drift: none newly restrictive."""
    path = Path(spec.path)
    default_name = "sbom_restrictive_licenses.json" if spec.mode != "presence" else f"sbom_{spec.id}_{{version}}.json"
    name = ctx.evidence_name(spec, default_name)
    checked_at = iso_utc(ctx.clock.now())
    evidence: dict[str, Any] = {"check": spec.id, "mode": spec.mode, "sbom": str(path), "checked_at": checked_at}

    async def finish(status: Status, summary: str, details: list[str] | None = None) -> Outcome:
        evidence["verdict"] = status.value
        evidence["summary"] = summary
        text = json.dumps(evidence, indent=2, ensure_ascii=False) + "\n"
        written = await asyncio.to_thread(ctx.evidence.write_text, name, text)
        return Outcome(status, summary, details or [], [written])

    try:
        bom = await asyncio.to_thread(load_sbom, path)
    except SbomError as exc:
        if spec.mode == "presence" and exc.reason != "unreadable":
            evidence["problem"] = str(exc)
            return await finish(Status.FAIL, f"no usable SBOM: {exc}")
        return unknown(f"cannot assess the SBOM: {exc}")
    components = list_components(bom)
    evidence.update(spec_version=bom["specVersion"], components=len(components))
    without = [c.key for c in components if not c.licenses]
    evidence["without_license"] = without[:200]
    note = f" ({len(without)} without licence data)" if without else ""

    if spec.mode == "presence":
        kind = f"CycloneDX {bom['specVersion']} SBOM"
        if not components:
            return await finish(Status.FAIL, f"{path}: {kind} lists no components")
        return await finish(Status.PASS, f"{kind} with {len(components)} components")

    restrictive = set(spec.restrictive_licenses)
    flagged = restrictive_components(components, restrictive)
    evidence["restrictive"] = [_entry(c) for c in flagged]
    if spec.mode == "licenses":
        if flagged:
            labels = [_label(c) for c in flagged]
            summary = f"{len(flagged)} component(s) under a restrictive licence: {'; '.join(labels[:3])}"
            return await finish(Status.FAIL, summary, labels)
        return await finish(Status.PASS, f"no restrictive licence among {len(components)} components{note}")

    # drift
    if spec.previous is None:
        return unknown("no previous SBOM configured (previous): cannot compare licences with the last release")
    evidence["previous"] = spec.previous
    try:
        previous = list_components(await asyncio.to_thread(load_sbom, Path(spec.previous)))
    except SbomError as exc:
        return unknown(f"cannot compare with the previous SBOM: {exc}")
    fresh = new_restrictive(components, previous, restrictive)
    evidence["new_restrictive"] = [_entry(c, reason) for c, reason in fresh]
    if fresh:
        labels = [f"{_label(c)}: {reason}" for c, reason in fresh]
        summary = f"{len(fresh)} restrictive licence(s) new since the previous release: {'; '.join(labels[:3])}"
        return await finish(Status.FAIL, summary, labels)
    known = f"; {len(flagged)} restrictive already in the previous release" if flagged else ""
    summary = f"no restrictive licence new since the previous release ({len(components)} components{known}){note}"
    return await finish(Status.PASS, summary)
