"""A check's result in full: status, summary, details, evidence files, tick, timing."""

from __future__ import annotations

from textual.binding import Binding

from cockpit.engine.checklist import ChecklistItem
from cockpit.screens.text_modal import TextModal


def detail_lines(item: ChecklistItem, evidence_dir: str | None, runbook: str | None = None) -> list[str]:
    spec = item.spec
    lines = [f"{item.title}   [{spec.id} · {spec.kind} · {spec.phase}{'' if item.required else ' · optional'}]", ""]
    lines.append(f"status: {item.word}")
    if runbook:
        loud = item.result is not None and item.result.status.value == "FAIL"
        lines.append(f"{'RUNBOOK' if loud else 'runbook'}: {runbook} — r opens it (`cockpit runbook {runbook}`)")
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
    """A check's result in full; enter closes it as well (it opened with enter); r opens its runbook."""

    BINDINGS = [
        Binding("enter", "close", "Close", show=False),
        Binding("r", "open_runbook", "Runbook", id="detail-runbook", tooltip="The runbook for this check"),
    ]

    def __init__(self, lines: list[str], runbook: str | None = None) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.runbook = runbook

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open_runbook":
            return self.runbook is not None
        return True

    async def action_open_runbook(self) -> None:
        if self.runbook is not None:
            app = self.app
            self.dismiss(None)
            await app.run_action(f"runbook({self.runbook!r})")  # the App's action: it knows the team's folder
