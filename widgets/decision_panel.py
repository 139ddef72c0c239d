"""The engine's verdict (CONTINUE / PROCEED / HOLD / ROLLBACK) with its reasons, firing triggers and rollback progress."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from cockpit.format import MISSING, format_clock, format_duration, format_weight
from cockpit.views.canary import CanaryView
from cockpit.views.reading import format_reason, notable_reasons
from cockpit.widgets.state_classes import set_state_classes

VERDICT_CLASSES = ("-ok", "-hold", "-rollback", "-unknown", "-none")
MAX_REASONS = 4


def _rows(text: str, width: int) -> int:
    """Rows `text` takes wrapped at `width` (near enough to know when a part grows or shrinks)."""
    return sum(max(1, -(-len(line) // width)) for line in text.split("\n")) if text else 0


class DecisionPanel(Vertical):
    DEFAULT_CSS = """
    DecisionPanel {
        width: 36;
        height: 1fr;
        padding: 0 1;
        background: $surface;
    }
    DecisionPanel > Static {
        width: 1fr;
        height: auto;
    }
    DecisionPanel > #verdict {
        text-style: bold;
    }
    DecisionPanel.-ok > #verdict { color: $text-success; }
    DecisionPanel.-hold > #verdict { color: $text-warning; }
    DecisionPanel.-rollback > #verdict { color: $text-error; text-style: bold reverse; }
    DecisionPanel.-unknown > #verdict, DecisionPanel.-none > #verdict { color: $text-accent; }
    DecisionPanel > #ic { color: $text-accent; text-style: bold; }
    DecisionPanel > #reasons { color: $text; }
    DecisionPanel > #triggers { color: $text-muted; }
    DecisionPanel.-firing > #triggers { color: $text-error; text-style: bold; }
    DecisionPanel > #rollback { text-style: bold; color: $text-error; }
    DecisionPanel > #rollback.-done-ok { color: $text-success; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._texts: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        self._parts = {part: Static(text, id=part) for part, text in
                       (("verdict", "? NO DECISION YET"), ("ic", ""), ("reasons", ""), ("triggers", ""),
                        ("rollback", ""))}
        yield from self._parts.values()

    def _set(self, part: str, text: str) -> None:
        old = self._texts.get(part)
        if old != text:
            self._texts[part] = text
            widget = self._parts[part]
            # The verdict's age ticks every second: a relayout only when the part's height changes.
            width = max(1, widget.size.width)
            widget.update(text, layout=old is None or _rows(old, width) != _rows(text, width))
            if widget.display != bool(text):
                widget.display = bool(text)

    def show(self, view: CanaryView, now: float, stale_after: float) -> None:
        decision = view.decision
        if decision is None:
            css = "-none"
            verdict = "? NO DECISION YET" if view.started else "? NO CANARY RUNNING"
            reasons = ""
        else:
            symbol, word, kind = decision.verdict
            css = f"-{kind}"
            age = now - decision.at
            old = f"  ◷ {format_duration(age, 'age')} old" if age > stale_after and view.live else ""
            verdict = f"{symbol} {word}{old}"
            notable = notable_reasons(decision.reasons)
            lines = [f"• {format_reason(r)}" for r in notable[:MAX_REASONS]]
            if len(notable) > MAX_REASONS:
                lines.append(f"  … {len(notable) - MAX_REASONS} more")
            reasons = "\n".join(lines) or ("all signals within limits" if decision.action in ("continue", "proceed") else "")
        firing = view.firing_triggers()
        blind = view.blind_triggers()
        set_state_classes(self, (*VERDICT_CLASSES, "-firing"), [css] + (["-firing"] if firing else []))
        self._set("verdict", verdict)
        self._set("ic", view.ic_text())  # the IC's own call, beside (never instead of) the engine's verdict
        self._set("reasons", reasons)
        if firing:
            triggers = "FIRING: " + ", ".join(t.describe() for t in firing)
        elif view.triggers:
            triggers = f"triggers: none firing ({len(view.triggers)} watched)"
        else:
            triggers = ""
        if blind:
            triggers += f"\n? blind: {', '.join(t.name for t in blind)}"
        self._set("triggers", triggers)
        self._set("rollback", self._rollback_text(view, now))
        self._parts["rollback"].set_class(bool(view.rollback and view.rollback.done and view.rollback.ok), "-done-ok")

    @staticmethod
    def _rollback_text(view: CanaryView, now: float) -> str:
        rb = view.rollback
        if rb is None:
            return ""
        where = f"stage {rb.stage} ({format_weight(rb.weight)})" if rb.stage is not None else format_weight(rb.weight)
        if not rb.done:
            return f"▲ ROLLING BACK {where}: {format_duration(rb.elapsed(now))} since the decision ({format_clock(rb.decided_at)})"
        if rb.ok:
            return ", ".join([f"✔ ROLLED BACK in {format_duration(rb.elapsed(now), 'measured')}", *rb.timings()])
        return f"▲ ROLLBACK FAILED ({rb.attempts or MISSING} attempts): {rb.error or 'no reason given'}"
