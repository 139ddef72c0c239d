"""The cockpit's words about itself: the mode, the phase, the outcome, the alarm and the status bar's line.

Pure functions over the CanaryView and plain values: no Textual here (a test proves it), so the
wording is tested without Pilot. The App passes in what it knows (its mode, the clock, the word it
said last) and puts the result on the screens.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text

from cockpit.format import format_clock, format_duration, format_weight

if TYPE_CHECKING:
    from cockpit.engine.run_of_show import RunOfShow
    from cockpit.views.canary import CanaryView

MESSAGE_S, MESSAGE_ALERT_S = 20.0, 120.0  # how long a word stays in the status bar (clock seconds)
ROLLBACK_PHASES = ("rolling_back", "rolled_back", "rollback_failed", "aborted")


# NamedTuples, not dataclasses: the module is imported before the first screen, and they cost a tenth as much.
class Said(NamedTuple):
    """The status bar's latest word: what, whether it is an alert, and when it was said (clock seconds)."""

    text: str
    alert: bool
    at: float

    def shown(self, now: float) -> bool:
        """Still on the status bar at `now`: an alert stays longer than a word."""
        return now - self.at < (MESSAGE_ALERT_S if self.alert else MESSAGE_S)


class StatusLine(NamedTuple):
    """What the status bar shows: the mode word, the info line, the clock, the rollback key, the alert style."""

    mode: str
    info: str
    clock: str
    rollback_key: bool
    alert: bool


def status_mode(mode: str, read_only: bool, live: bool) -> str:
    """DRILL, READ-ONLY, LIVE (a run is going) or IDLE."""
    if mode == "drill":
        return "DRILL"
    if read_only:
        return "READ-ONLY"
    return "LIVE" if live else "IDLE"


def mode_label(mode: str, read_only: bool, view: CanaryView, version: str | None) -> Text:
    """The header's mode badge and the release it is about."""
    word = status_mode(mode, read_only, view.live)
    return Text(f" {word} ", style="bold reverse") + Text(f" {view.version or version or 'no version'}")


def phase_text(view: CanaryView, show: RunOfShow | None) -> str:
    """Where the release stands in a few words; before T-0, the run-of-show's current milestone."""
    if view.night is not None and (view.night.rollback is not None or view.result == "promoted"):
        return view.night.headline()  # after T+90 the night is the news; its rollback is never a stage's
    stage = f"stage {view.stage} ({format_weight(view.weight)})" if view.stage is not None else ""
    if view.phase == "rolling_back":
        return f"ROLLING BACK at {stage or format_weight(view.weight)}"
    if view.phase == "rollback_failed":
        return f"ROLLBACK FAILED at {stage}"
    if view.phase == "rolled_back" and view.result is None:
        return f"ROLLED BACK at {stage}: the canary is finishing"
    if view.result is not None:
        return {"promoted": "PROMOTED to 100%", "rolled_back": "ROLLED BACK"}.get(view.result, view.result.upper())
    if view.phase == "holding":
        return f"{stage.capitalize()} · HOLD"
    if view.started:
        running = f"{stage.capitalize()} · running" if stage else "canary starting"
        return f"{running} · WITHOUT GO" if view.without_go else running
    if show is not None and show.current is not None:
        return show.current.name
    return "before T-0: walk the checklists (2-5)"


def outcome_text(view: CanaryView) -> str | None:
    """Instead of "next milestone" once the canary cannot go on: what happened and what is left."""
    if view.phase == "rolling_back":
        return "rolling back: traffic returns to the stable track; watch the rollback timing below"
    if view.phase == "rollback_failed":  # short enough for 80 columns: the key is the news
        return "ROLLBACK FAILED: move the traffic by hand · b: the runbook"
    if view.phase in ("rolled_back", "aborted"):
        return f"canary {view.phase.replace('_', ' ')}: no further stages"
    return None


def skipped_milestones(view: CanaryView, milestones: Iterable[str], stage_count: int) -> frozenset[str]:
    """Milestones a rollback cut off: the later stages (of `stage_count`) and the first night."""
    if view.phase not in ROLLBACK_PHASES or view.stage is None:
        return frozenset()
    later = range(view.stage + 1, stage_count + 1)
    return frozenset(name for name in milestones
                     if any(name.startswith(f"Stage {i} (") for i in later) or name == "First-night monitoring")


def alarm(view: CanaryView) -> bool:
    """The header turns red: a rollback under way or failed, the night's alarm, or a live run told to roll back."""
    decision, night = view.decision, view.night
    return view.phase in ("rolling_back", "rollback_failed") or (night is not None and night.alarm) or (
        decision is not None and "rollback" in decision.action and view.live)


def stale_limit(view: CanaryView, stale_after: float) -> float:
    """Seconds without a new sample before a signal reads STALE: the night's own cadence once it runs."""
    night = view.night
    if night is not None and night.running and night.every:
        return max(10.0, 2.5 * float(night.every))
    return stale_after


def running(view: CanaryView) -> bool:
    """A canary or a first night is writing this journal: it should not go quiet."""
    night = view.night
    return view.live or (night is not None and night.running)


def status_line(view: CanaryView, *, mode: str, read_only: bool, version: str | None, now: float,
                said: Said | None, chain_error: str | None, stale_after: float) -> StatusLine:
    """The status bar at `now`: a broken journal chain first, then the latest word, then the journal's freshness."""
    alert = False
    if chain_error:
        info, alert = f"JOURNAL CHAIN BROKEN ({chain_error}): what is shown may have been altered", True
    elif said is not None and said.shown(now):
        info, alert = said.text, said.alert
    elif view.last_event_at is not None:
        age = now - view.last_event_at
        quiet = age > stale_limit(view, stale_after) and running(view)
        night = view.night is not None and view.night.running
        process = "the first-night process" if night else "the canary process"
        info = f"journal {format_duration(age, 'age')} ago" + (f" — {process} is quiet" if quiet else "")
        alert = quiet
    elif version is None:
        info = "no release version: checks cannot run"
    else:
        info = "no canary journal yet"
    if mode != "watch":
        info += "  ·  1-5 panes"
    return StatusLine(status_mode(mode, read_only, view.live), info, format_clock(now, zone=True),
                      rollback_key=not read_only, alert=alert)


# ------------------------------------------------------------ what the background work's outcomes say


def failure_reason(error: BaseException | None) -> str:
    """An exception in a status line: its type and message."""
    return f"{type(error).__name__}: {error}" if error is not None else "unknown error"


def control_reply_line(label: str, reply: dict[str, object]) -> tuple[str, bool]:
    """The run's answer to a command (rollback, hold, note, ...) and whether it is an alert (a refusal)."""
    ok = bool(reply.get("ok"))
    said = (reply.get("message") or "") if ok else (reply.get("error") or "no reason given")
    return f"{label} {'accepted' if ok else 'REFUSED'} by the canary: {said}".rstrip(": "), not ok


def canary_launch_line(returncode: int, stdout: str, stderr: str) -> tuple[str, bool]:
    """What `cockpit canary VERSION --detach` answered: its first line when it started, its last error if not."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if returncode == 0:
        return f"canary started: {lines[0] if lines else 'detached'}", False
    errors = [line for line in stderr.splitlines() if line.strip()]
    return f"canary did NOT start (exit {returncode}): {(errors or lines or ['no output'])[-1]}", True


def drill_over_line(result: object, run_dir: object) -> str:
    """The drill's end: its result in capitals and where its evidence is."""
    return f"DRILL over: {str(result).replace('_', ' ').upper()} — evidence in {run_dir}"
