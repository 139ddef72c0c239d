"""PagerDuty Events API v2: which canary events page, which resolve, and the one dedup key of a run.

A rollback pages (`trigger`), a rollback that failed pages again, louder, on
the same incident; the signals coming back after a rollback `resolve` it. Every
other event is not PagerDuty's business (it goes to chat webhooks). One dedup
key per run — the version and the run's start — keeps a run's pages on one
incident, across a resumed process too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cockpit.clock import iso_utc
from cockpit.events import Event

MAX_SUMMARY = 1024  # the Events API's limit for payload.summary


def dedup_key(version: str, run_start: float) -> str:
    """The incident key of one run: the same for every page of the run, different for the next run."""
    return f"release-cockpit/{version}/{iso_utc(run_start)}"


def event_action(record: Mapping[str, Any]) -> tuple[str, str] | None:
    """(event_action, severity) for a record, or None when the record does not page."""
    kind = record.get("event")
    if kind == Event.ROLLBACK_STARTED:
        return "trigger", "critical" if record.get("action") == "immediate_rollback" else "error"
    if kind == Event.ROLLBACK_DONE and not record.get("ok"):
        return "trigger", "critical"  # nobody knows which version serves: a person must act now
    if kind == Event.SIGNALS_RECOVERED:
        return "resolve", "info"
    return None


def pagerduty_event(
    record: Mapping[str, Any], *, routing_key: str, key: str, summary: str, version: str | None
) -> dict[str, Any] | None:
    """The Events API v2 body for `record`, or None when it does not page."""
    action = event_action(record)
    if action is None:
        return None
    verb, severity = action
    body: dict[str, Any] = {"routing_key": routing_key, "event_action": verb, "dedup_key": key}
    if verb == "resolve":
        return body
    ts = record.get("ts")
    body["payload"] = {
        "summary": summary[:MAX_SUMMARY],
        "source": "release-cockpit",
        "severity": severity,
        "component": version or str(record.get("version") or "release"),
        "group": "canary",
        "class": str(record.get("event")),
        **({"timestamp": iso_utc(float(ts))} if isinstance(ts, (int, float)) else {}),
        "custom_details": {
            **{k: record[k] for k in ("stage", "weight", "action", "error", "seq") if k in record},
            # the journal's head as of this page: a later rewrite of the journal shows against it
            **({"journal_seq": record["seq"], "journal_head": record["hash"]} if record.get("hash") and "seq" in record else {}),
        },
    }
    return body
