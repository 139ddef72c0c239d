"""The golden signals, one row each, in the configured order (signals the run reports beyond it follow)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll

from cockpit.views.canary import CanaryView, SignalView, signal_status
from cockpit.views.face import SignalFace
from cockpit.widgets.signal_row import SignalRow


class SignalTable(VerticalScroll):
    DEFAULT_CSS = """
    SignalTable {
        height: auto;
        max-height: 12;
        scrollbar-size-vertical: 1;
    }
    """

    def __init__(self, signals: dict[str, SignalFace], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.signal_configs = signals
        self._rows: dict[str, SignalRow] = {}

    def compose(self) -> ComposeResult:
        yield SignalRow("", "", header=True)
        for name, config in self.signal_configs.items():
            row = SignalRow(name, self._title(name, config))
            self._rows[name] = row
            yield row

    @staticmethod
    def _title(name: str, face: SignalFace | None) -> str:
        return (face.short or name) if face is not None else name

    def show(self, view: CanaryView, now: float, stale_after: float) -> None:
        for name in view.signals:
            if name not in self._rows:
                row = SignalRow(name, name)
                self._rows[name] = row
                self.mount(row)
        for name, row in self._rows.items():
            signal = view.signals.get(name)
            config = self.signal_configs.get(name)
            mark = signal_status(signal if signal is not None else SignalView(name), now, stale_after)
            row.show(signal, config, mark)

    def statuses(self) -> dict[str, str]:
        """Each row's status text as shown (for tests and the help text)."""
        return {name: row.status_text() for name, row in self._rows.items()}
