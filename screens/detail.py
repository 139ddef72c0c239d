"""A check's result in full: status, summary, details, evidence files, tick, timing."""

from __future__ import annotations

from textual.binding import Binding

from cockpit.engine.checklist import ChecklistItem
from cockpit.screens.text_modal import TextModal


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


class DetailScreen(TextModal):
    """A check's result in full; enter closes it as well (it opened with enter)."""

    BINDINGS = [Binding("enter", "close", "Close", show=False)]

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
