"""`cockpit watch VERSION`: the first night at a glance, read-only, from the release's journal.

The night's progress (hour N of M, the countdown to the next hourly summary),
the stability so far, a loud banner if the night rolled back, the golden
signals now (the war room's rows) and one row per closed hour.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Static

from cockpit.format import MISSING, format_clock, format_duration, format_remaining, format_weight
from cockpit.run.night_hours import hour_label
from cockpit.screens.base import ROLL_BACK_BY_HAND_BINDING, CockpitScreen
from cockpit.views.night import NightView, hour_lines
from cockpit.widgets.hour_table import HourTable
from cockpit.widgets.night_header import NightHeader
from cockpit.widgets.signal_table import SignalTable
from cockpit.widgets.status_bar import StatusBar

STABILITY_CLASSES = ("-ok", "-warn", "-fail", "-unknown")


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class NightScreen(CockpitScreen):
    DEFAULT_CSS = """
    NightScreen {
        layout: vertical;
    }
    NightScreen > #night-stability {
        height: 1;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        background: $boost;
        text-style: bold;
    }
    NightScreen > #night-stability.-ok { color: $text-success; }
    NightScreen > #night-stability.-warn { color: $text-warning; }
    NightScreen > #night-stability.-fail { color: $text-error; }
    NightScreen > #night-stability.-unknown { color: $text-accent; }
    NightScreen > #night-rollback {
        display: none;
        height: 2;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        text-style: bold;
        background: $error;
        color: $text;
    }
    NightScreen > #night-rollback.-shown { display: block; }
    NightScreen > #night-rollback.-done-ok { background: $boost; color: $text-error; }
    """

    AUTO_FOCUS = ""  # nothing focused: j/k scroll the hours; focusing would restyle every row for nothing

    BINDINGS = [
        Binding("k,up", "scroll_hours(-1)", "Older hours", id="hours-up", tooltip="Scroll the hours table up"),
        Binding("j,down", "scroll_hours(1)", "Newer", show=False),
        Binding("G,end", "scroll_hours(0)", "Newest hour", show=False),
        ROLL_BACK_BY_HAND_BINDING,
    ]

    def compose(self) -> ComposeResult:
        yield NightHeader(id="night-head")
        yield Static("", id="night-stability")
        yield Static("", id="night-rollback")
        yield SignalTable(self.cockpit.face.signal_map(), id="signals")
        yield HourTable(id="hours")
        yield StatusBar(id="status")
        yield Footer()

    def show_state(self) -> None:
        app = self.cockpit
        view, now = app.view, app.clock.now()
        night: NightView | None = view.night
        head = self.query_one(NightHeader)
        title, upcoming, clock, overdue = self._progress(night, now)
        marks = night.hours_strip(now, head.strip_width) if night is not None else []
        head.show(Text.assemble(app.mode_label(), " · ", (title, "bold")), upcoming, marks, clock,
                  alarm=night is not None and night.alarm, overdue=overdue)
        self._show_stability(night)
        self._show_rollback(night, now)
        self.query_one(SignalTable).show(view, now, app.stale_limit())
        empty = "no hour closed yet" if night is not None else "no first night in this journal yet"
        self.query_one(HourTable).show(hour_lines(night), empty)
        super().show_state()

    def _progress(self, night: NightView | None, now: float) -> tuple[str, str, str, bool]:
        """(title, the line under it, the big clock, overdue)."""
        app = self.cockpit
        version = app.view.version or app.options.version or "VERSION"
        if night is None:
            view = app.view
            if view.result == "promoted":
                where = "promoted"
            elif view.result is not None:
                where = f"{view.result.replace('_', ' ')}: no release to watch at night"
            elif view.stage is not None:
                where = f"at stage {view.stage} ({format_weight(view.weight)})"
            else:
                where = "not started"
            return ("FIRST NIGHT not started", f"the canary is {where}; the night starts with "
                    f"`cockpit first-night {version}`", "--:--", False)
        progress = night.progress(now)
        assert progress is not None  # a NightView exists once first_night_started (or a night record) was read
        every = f", every {format_duration(night.every)}" if night.every else ""
        started = f"started {format_clock(night.started_at, zone=True)}{every}"
        if night.done_at is not None:
            report = f" → {night.report}" if night.report else ""
            return (f"FIRST NIGHT done: {(night.done_verdict or MISSING).upper()}",
                    f"{len(night.closed)}/{night.hours} hours closed{report} · {started}", "--:--", False)
        title = f"FIRST NIGHT · hour {hour_label(progress.hour)}, the {ordinal(progress.hour + 1)} of {progress.hours}"
        if progress.next_hour is None or progress.due_in is None:
            return title, f"every hour closed; the stability report comes next · {started}", "--:--", False
        label = f"hour {hour_label(progress.next_hour)} summary"
        if progress.overdue:
            late = format_remaining(-progress.due_in)
            return (title, f"{label} OVERDUE by {late}: is `cockpit first-night {version}` running?",
                    f"+{late}", True)
        if progress.due_in < 0:  # the hour has ended; the night writes its summary at its next evaluation
            return title, f"{label} due now (at {format_clock(progress.due_at, zone=True)}) · {started}", "0:00", False
        return (title, f"next: {label} in {format_remaining(progress.due_in)} "
                f"(at {format_clock(progress.due_at, zone=True)}) · {started}", format_remaining(progress.due_in), False)

    def _show_stability(self, night: NightView | None) -> None:
        line = self.query_one("#night-stability", Static)
        kind, text = night.stability() if night is not None else ("unknown", "? no first night in this journal yet")
        firing = [t.name + (" (ACTIVE)" if t.active else "") for t in self.cockpit.view.firing_triggers()]
        if firing and night is not None and night.running:
            text += f" · firing now: {', '.join(firing)}"
        for cls in STABILITY_CLASSES:
            line.set_class(cls == f"-{kind}", cls)
        line.update(Text(text))  # plain text: trigger names and reasons are not markup

    def _show_rollback(self, night: NightView | None, now: float) -> None:
        banner = self.query_one("#night-rollback", Static)
        lines = night.rollback_lines(now) if night is not None else []
        banner.set_class(bool(lines), "-shown")
        rb = night.rollback if night is not None else None
        banner.set_class(bool(rb is not None and rb.done and rb.ok), "-done-ok")
        if lines:
            banner.update(Text("\n".join(lines)))

    def action_scroll_hours(self, lines: int) -> None:
        table = self.query_one(HourTable)
        if lines == 0:
            table.scroll_end(animate=False)
        elif lines > 0:
            table.scroll_down(animate=False)
        else:
            table.scroll_up(animate=False)
