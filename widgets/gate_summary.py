"""The green-button ritual's summary: each gating list's count, what blocks GO, and the seal once done."""

from __future__ import annotations

from textual.widgets import Static

from cockpit.engine.checklist import Checklist, Gate

MAX_BLOCKING = 6


class GateSummary(Static):
    DEFAULT_CSS = """
    GateSummary {
        height: auto;
        max-height: 12;
        padding: 0 1;
        background: $panel;
    }
    GateSummary.-open { color: $text-success; }
    GateSummary.-blocked { color: $text-warning; }
    GateSummary.-sealed { color: $text-success; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._text = ""

    def show(self, checklists: list[Checklist], gate: Gate, sealed: str | None) -> None:
        counts = "   ".join(f"{c.title} {c.counts()[0]}/{c.counts()[1]}" for c in checklists)
        if sealed:
            lines = [f"✔ SEALED: {sealed}", counts, "T-0 is enabled: t starts the canary as its own process"]
        elif gate.open:
            lines = ["✔ GO possible: every required item is green", counts, "g: seal the evidence (the green button)"]
        else:
            more = len(gate.blocking) - MAX_BLOCKING
            lines = [f"○ NO GO yet: {len(gate.blocking)} required item(s) not green", counts]
            lines += [f"  • {b}" for b in gate.blocking[:MAX_BLOCKING]]
            if more > 0:
                lines.append(f"  … {more} more")
        self.set_class(bool(sealed), "-sealed")
        self.set_class(gate.open and not sealed, "-open")
        self.set_class(not gate.open and not sealed, "-blocked")
        text = "\n".join(lines)
        if text != self._text:
            self._text = text
            self.update(text)
