"""A check's result in full: status, summary, details, evidence files, tick, timing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from cockpit.engine.checklist import ChecklistItem


def detail_lines(item: ChecklistItem, evidence_dir: str | None) -> list[str]:
    spec = item.spec
    lines = [f"{item.title}   [{spec.id} · {spec.kind} · {spec.phase}{'' if item.required else ' · optional'}]", ""]
    lines.append(f"status: {item.word}")
    if getattr(spec, "prompt", ""):
        lines.append(f"prompt: {spec.prompt}")
    if spec.description:
        lines.append(f"about:  {spec.description}")
    if item.error:
        lines.append(f"worker failed: {item.error}")
    result = item.result
    if result is not None:
        lines += [f"result: {result.status.value}: {result.summary}", f"ran:    {result.started_at} in {result.duration_s:.2f}s"]
        if result.details:
            lines += ["", "details:"] + [f"  {d}" for d in result.details]
        lines += ["", "evidence files:"] + ([f"  {name}" for name in result.evidence] or ["  (none written)"])
        if evidence_dir and result.evidence:
            lines.append(f"  in {evidence_dir}")
    elif not item.manual:
        lines.append("not run yet: enter runs it")
    if item.tick is not None:
        lines += ["", f"ticked by {item.tick.initials} at {item.tick.at}" + (f": {item.tick.note}" if item.tick.note else "")]
    return lines


class DetailScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DetailScreen {
        align: center middle;
    }
    DetailScreen > VerticalScroll {
        width: 90%;
        height: 80%;
        padding: 0 1;
        border: thick $primary;
        background: $surface;
    }
    """

    BINDINGS = [
        Binding("escape,q,enter", "close", "Close", id="detail-close"),
        Binding("j,down", "scroll_down", "Down", show=False),
        Binding("k,up", "scroll_up", "Up", show=False),
    ]

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("\n".join(self.lines), markup=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll_down(self) -> None:
        self.query_one(VerticalScroll).scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self.query_one(VerticalScroll).scroll_up(animate=False)
