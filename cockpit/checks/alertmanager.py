"""Red team: Alertmanager silences that would mask the SLO alerts or the cockpit's own triggers.

A silence mutes an alert when every one of its matchers accepts the alert's
labels. A protected label (e.g. severity=critical) is covered when the
silence matches on that label name and all such matchers accept the value; a
trigger is covered when the silence's alertname matchers accept its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cockpit.checks.runner import CheckContext
from cockpit.checks.specs import AlertmanagerSilencesSpec
from cockpit.clock import iso_utc
from cockpit.redaction import redact_dsn
from cockpit.results import Outcome, Status, unknown

NOT_CONFIGURED = "[alertmanager] is not configured (add an [alertmanager] table with its url)"


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Matcher:
        return cls(
            name=str(raw.get("name", "")),
            value=str(raw.get("value", "")),
            is_regex=bool(raw.get("isRegex", False)),
            is_equal=bool(raw.get("isEqual", True)),  # absent before Alertmanager 0.22: always "="
        )

    def __str__(self) -> str:
        op = {(False, True): "=", (True, True): "=~", (False, False): "!=", (True, False): "!~"}
        return f'{self.name}{op[(self.is_regex, self.is_equal)]}"{self.value}"'

    def accepts(self, value: str) -> bool:
        """Whether this matcher accepts a label with `value` (Alertmanager anchors regexes)."""
        if self.is_regex:
            try:
                hit = re.fullmatch(self.value, value) is not None
            except re.error:
                hit = True  # a regex we cannot read might match anything: assume it does
        else:
            hit = self.value == value
        return hit if self.is_equal else not hit


def covers(matchers: list[Matcher], label: str, value: str) -> bool:
    """Whether the silence targets alerts whose `label` is `value` (it must match on that label name)."""
    on_label = [m for m in matchers if m.name == label]
    return bool(on_label) and all(m.accepts(value) for m in on_label)


@dataclass
class Silence:
    id: str
    state: str
    matchers: list[Matcher]
    created_by: str
    ends_at: str
    starts_at: str
    comment: str

    @classmethod
    def from_api(cls, raw: dict[str, Any]) -> Silence:
        return cls(
            id=str(raw.get("id", "?")),
            state=str((raw.get("status") or {}).get("state", "unknown")),
            matchers=[Matcher.from_api(m) for m in raw.get("matchers") or [] if isinstance(m, dict)],
            created_by=str(raw.get("createdBy", "")),
            ends_at=str(raw.get("endsAt", "")),
            starts_at=str(raw.get("startsAt", "")),
            comment=str(raw.get("comment", "")).replace("\n", " "),
        )

    def describe(self) -> str:
        return "{" + ", ".join(str(m) for m in self.matchers) + "}"


async def fetch_silences(url: str, timeout: float) -> tuple[list[dict[str, Any]], str | None]:
    """GET /api/v2/silences: the raw silences, or an error text (never raises)."""
    import httpx  # lazily: start-up time

    where = f"Alertmanager at {redact_dsn(url)}"
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(f"{url.rstrip('/')}/api/v2/silences")
    except httpx.TimeoutException:
        return [], f"{where} did not answer within {timeout:g}s"
    except httpx.ConnectError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc)[:120]
        return [], f"cannot connect to {where} ({reason})"
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return [], f"cannot ask {where}: {type(exc).__name__}: {str(exc)[:200]}"
    if response.status_code != 200:
        return [], f"{where} answered HTTP {response.status_code}: {response.text[:200]}"
    try:
        data = response.json()
    except ValueError:
        return [], f"{where} answered something that is not JSON: {response.text[:120]}"
    if not isinstance(data, list):
        return [], f"{where} answered an unexpected shape (not a list of silences)"
    return [item for item in data if isinstance(item, dict)], None


def _findings(silence: Silence, protected: dict[str, str], triggers: list[str]) -> tuple[list[str], list[str]]:
    """(masking, broad): what the silence hides for sure, and protected labels it does not exclude."""
    masking = [f"{label}={value}" for label, value in protected.items() if covers(silence.matchers, label, value)]
    masking += [f"trigger {name}" for name in triggers if covers(silence.matchers, "alertname", name)]
    names = {m.name for m in silence.matchers}
    broad = [f"{label}={value}" for label, value in protected.items() if label not in names]
    return masking, broad


async def run_silences(spec: AlertmanagerSilencesSpec, ctx: CheckContext) -> Outcome:
    """FAIL when an active silence covers a protected label or a trigger's alertname."""
    config = ctx.config.alertmanager
    if config is None:
        return unknown(NOT_CONFIGURED)
    at = ctx.clock.now()
    raw, error = await fetch_silences(config.url, config.timeout)
    name = ctx.evidence_name(spec, "alert_silences_{version}.txt")
    head = [f"# Alertmanager silences at {iso_utc(at)} ({redact_dsn(config.url)})"]
    if error:
        evidence = [ctx.evidence.write_text(name, "\n".join([*head, f"error: {error}"]) + "\n")]
        return Outcome(Status.UNKNOWN, f"could not read the silences: {error}", [], evidence)

    silences = [Silence.from_api(item) for item in raw]
    active = [s for s in silences if s.state == "active"]
    pending = [s for s in silences if s.state == "pending"]
    triggers = [t.name for t in ctx.config.triggers] if spec.protect_trigger_names else []
    protected = dict(spec.protected_labels)

    masking: list[tuple[Silence, list[str]]] = []
    broad: list[tuple[Silence, list[str]]] = []
    shown = ", ".join(f"{k}={v}" for k, v in protected.items()) or "none"
    lines = [*head, f"protected labels: {shown}", f"protected triggers: {', '.join(triggers) or 'none'}", ""]
    lines.append(f"active silences: {len(active)}")
    for silence in active:
        hides, open_to = _findings(silence, protected, triggers)
        if hides:
            masking.append((silence, hides))
        elif open_to:
            broad.append((silence, open_to))
        verdict = f"MASKS {', '.join(hides)}" if hides else (f"does not exclude {', '.join(open_to)}" if open_to else "ok")
        lines += [
            f"- id: {silence.id}",
            f"  matchers: {silence.describe()}",
            f"  createdBy: {silence.created_by}",
            f"  endsAt: {silence.ends_at}",
            f"  comment: {silence.comment}",
            f"  verdict: {verdict}",
        ]
    if pending:
        lines += ["", f"pending silences (not judged; they start later): {len(pending)}"]
        lines += [f"- {s.id} {s.describe()} starts {s.starts_at} by {s.created_by}" for s in pending]
    evidence = [ctx.evidence.write_text(name, "\n".join(lines) + "\n")]

    details = [
        f"{s.id} {s.describe()} by {s.created_by or '?'} until {s.ends_at}: masks {', '.join(h)}" for s, h in masking
    ]
    details += [
        f"{s.id} {s.describe()} by {s.created_by or '?'} until {s.ends_at}: does not exclude {', '.join(o)}"
        for s, o in broad
    ]
    if masking:
        first, hides = masking[0]
        summary = f"{len(masking)} active silence(s) mask protected alerts: {first.describe()} ({first.id}) hides {', '.join(hides)}"
        return Outcome(Status.FAIL, summary, details, evidence)
    if broad:
        first, open_to = broad[0]
        summary = f"{len(broad)} active silence(s) could also mute {', '.join(open_to)} alerts (no matcher on {', '.join(k.split('=')[0] for k in open_to)}): {first.describe()} ({first.id})"
        return Outcome(Status.WARN, summary, details, evidence)
    return Outcome(Status.PASS, f"{len(active)} active silence(s), none masks protected alerts or triggers", details, evidence)
