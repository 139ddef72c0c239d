"""The green-button ritual's summary: the engine's GO state, what is missing, and the seal once done."""

from __future__ import annotations

from textual.widgets import Static

from cockpit.engine.checklist import Checklist
from cockpit.engine.go import GoState

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
        super().__init__("", id=id, markup=False)  # the lines quote config keys like [traffic]: not markup
        self._text = ""

    def show(self, checklists: list[Checklist], go: GoState | None, sealed: str | None, *, drill: bool = False) -> None:
        counts = "   ".join(f"{c.title} {c.counts()[0]}/{c.counts()[1]}" for c in checklists)
        is_go = go is not None and go.go
        ready = go is not None and go.ready_to_seal
        if drill:
            lines = ["DRILL: exempt from the GO gate (labelled DRILL everywhere)", counts, "t starts the drill's canary"]
        elif go is None:
            lines = ["○ GO: reading the evidence…", counts]
        elif is_go:
            lines = [f"✔ GO: SEALED{': ' + sealed if sealed else ''}", counts,
                     "T-0 is enabled: t starts the canary as its own process"]
        elif ready:
            lines = ["✔ GO possible: everything but the seal is green", counts, "g: seal the evidence (the green button)"]
        else:
            missing = go.missing
            more = len(missing) - MAX_BLOCKING
            lines = [f"○ NO GO yet: {len(missing)} item(s) missing", counts]
            lines += [f"  • {m}" for m in missing[:MAX_BLOCKING]]
            if more > 0:
                lines.append(f"  … {more} more")
        self.set_class(is_go, "-sealed")
        self.set_class(ready and not is_go, "-open")
        self.set_class(not ready and not drill, "-blocked")
        text = "\n".join(lines)
        if text != self._text:
            self._text = text
            self.update(text)
