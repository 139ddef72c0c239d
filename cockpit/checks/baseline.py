"""The baseline snapshot: every golden signal's value at preflight, the reference for relative limits.

Written by the `baseline` check as `baseline_<version>.json` in the release's
evidence folder: {"taken_at": iso, "values": {signal: value or null}}. A null
is a signal that had no real value then; a limit relative to it cannot be judged.
"""

from __future__ import annotations

import json
import math
from typing import Any

from cockpit.evidence import EvidenceStore


def baseline_file(version: str) -> str:
    """The baseline JSON's name in the evidence folder."""
    return f"baseline_{version}.json"


def write_baseline(store: EvidenceStore, taken_at: str, values: dict[str, float | None]) -> str:
    """Write the snapshot atomically (and into the manifest); returns the file name."""
    clean = {name: (v if v is not None and math.isfinite(v) else None) for name, v in values.items()}
    body = json.dumps({"taken_at": taken_at, "values": clean}, indent=2, sort_keys=False) + "\n"
    return store.write_text(baseline_file(store.version), body)


def load_baseline(store: EvidenceStore) -> dict[str, float | None] | None:
    """The baseline values by signal name; None when there is no readable snapshot.

    A value that is not a finite number comes back as None (no baseline for that signal).
    """
    data = _read(store)
    values = data.get("values") if data is not None else None
    if not isinstance(values, dict):
        return None
    return {str(name): _number(value) for name, value in values.items()}


def baseline_taken_at(store: EvidenceStore) -> str | None:
    """When the snapshot was taken (ISO text), or None without a readable snapshot."""
    data = _read(store)
    taken = data.get("taken_at") if data is not None else None
    return taken if isinstance(taken, str) else None


def _read(store: EvidenceStore) -> dict[str, Any] | None:
    try:
        data: Any = json.loads(store.path(baseline_file(store.version)).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
