"""The sign-offs on the GO/NO-GO pane: each role's latest GO or NO-GO, who and when (from the GO state)."""

from __future__ import annotations

from textual.widgets import Static

from cockpit.engine.go import GoLine

_SYMBOL = {"GO": "✔ GO", "NO-GO": "✖ NO-GO", "UNSIGNED": "○ unsigned"}


class SignoffSummary(Static):
    DEFAULT_CSS = """
    SignoffSummary {
        height: auto;
        max-height: 8;
        padding: 0 1;
        background: $panel;
    }
    SignoffSummary.-blocked { color: $text-error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)  # the lines quote config keys like [traffic]: not markup
        self._text = ""

    def show(self, lines: list[GoLine] | None, *, drill: bool = False) -> None:
        if drill:
            text = "Sign-offs: DRILL (exempt from the GO gate)"
        elif lines is None:
            text = "Sign-offs: reading the evidence…"
        elif not lines:
            text = "Sign-offs: no roles configured ([[roles]] in cockpit.toml)"
        else:
            signed = sum(1 for line in lines if line.word == "GO")
            rows = [f"Sign-offs {signed}/{len(lines)} GO   s: sign as a role"]
            for line in lines:
                word = _SYMBOL.get(line.word, line.word) + ("" if line.ok or line.word == "NO-GO" else " (required)")
                rows.append(f"  {line.label:<15} {word:<22} {line.detail}"[:200].rstrip())
            text = "\n".join(rows)
        self.set_class(bool(lines) and any(line.word == "NO-GO" for line in lines or []), "-blocked")
        if text != self._text:
            self._text = text
            self.update(text)
