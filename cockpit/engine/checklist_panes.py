"""The cockpit's checklists: each pane's key, title and the check phases it walks (in the order of the panes)."""

from __future__ import annotations

CHECKLISTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("preflight", "Preflight", ("preflight", "blast")),
    ("redteam", "Red team", ("redteam",)),
    ("gonogo", "GO / NO-GO", ("gonogo",)),
    ("ritual", "Green-button ritual", ("artifacts",)),
]
