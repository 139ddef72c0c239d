"""What the App's background work reports back: one typed message per outcome, handled with @on in the App.

Workers carry no data in their names: each posts one of these. Every failure is a WorkFailed (or a
subclass that says which check, which command); the App turns it into one alert line in one handler.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from cockpit.app.status_line import failure_reason

if TYPE_CHECKING:
    from cockpit.checks.ticks import Tick, TickLog
    from cockpit.engine.go import Acceptance, GoState
    from cockpit.results import CheckResult


class JournalEvents(Message):
    """New journal lines, read by the follower thread (one message per read)."""

    def __init__(self, events: list[dict[str, Any]], reset: bool, chain_error: str | None, bad_lines: int) -> None:
        super().__init__()
        self.events = events
        self.reset = reset
        self.chain_error = chain_error
        self.bad_lines = bad_lines


class ConfigLoaded(Message):
    """The config is validated in this process; `error` is its one-line ConfigError (the file changed since)."""

    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


class TicksLoaded(Message):
    """ticks.jsonl as it stands, read once the config is there."""

    def __init__(self, ticks: TickLog) -> None:
        super().__init__()
        self.ticks = ticks


class CheckFinished(Message):
    """A checklist item's check ran (whatever its status)."""

    def __init__(self, key: str, check_id: str, result: CheckResult) -> None:
        super().__init__()
        self.key, self.check_id, self.result = key, check_id, result


class CheckCancelled(Message):
    """A check's worker was cancelled before it had a result."""

    def __init__(self, key: str, check_id: str) -> None:
        super().__init__()
        self.key, self.check_id = key, check_id


class TickRecorded(Message):
    """A tick is in ticks.jsonl (the evidence)."""

    def __init__(self, key: str, check_id: str, tick: Tick) -> None:
        super().__init__()
        self.key, self.check_id, self.tick = key, check_id, tick


class ControlReplied(Message):
    """The live run answered a command sent over its control socket."""

    def __init__(self, label: str, reply: dict[str, Any]) -> None:
        super().__init__()
        self.label, self.reply = label, reply


class NoteSaved(Message):
    """A note written to the evidence folder (no canary was running to journal it)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SealDone(Message):
    """The green button: every evidence file hashed into manifest.sha256 (file name → digest)."""

    def __init__(self, files: dict[str, str]) -> None:
        super().__init__()
        self.files = files


class CanaryLaunched(Message):
    """`cockpit canary VERSION --detach` returned: its exit code and what it printed."""

    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        super().__init__()
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


class DrillEnded(Message):
    """The in-process drill's canary finished with `result` (promoted, rolled_back, ...)."""

    def __init__(self, result: str, run_dir: Path | None) -> None:
        super().__init__()
        self.result, self.run_dir = result, run_dir


class WorkFailed(Message):
    """Background work raised: `what` failed. The App's one failure handler shows `line` as an alert."""

    def __init__(self, what: str, error: BaseException | None) -> None:
        super().__init__()
        self.what, self.error = what, error

    @property
    def reason(self) -> str:
        return failure_reason(self.error)

    @property
    def line(self) -> str:
        """The status bar's alert."""
        return f"{self.what} failed: {self.reason}"


class CheckFailed(WorkFailed):
    """A check could not run at all (its own failures are UNKNOWN results, not this)."""

    def __init__(self, key: str, check_id: str, error: BaseException) -> None:
        super().__init__("check", error)
        self.key, self.check_id = key, check_id

    @property
    def line(self) -> str:
        return f"check {self.check_id} could not run: {self.reason}"


class TickFailed(WorkFailed):
    """A tick could not be written to the evidence: it does not count."""

    def __init__(self, error: BaseException) -> None:
        super().__init__("tick", error)

    @property
    def line(self) -> str:
        return f"tick NOT recorded: {self.reason}"


class ControlFailed(WorkFailed):
    """A command never reached the live run (no socket, no answer): ControlError says why in one line."""

    def __init__(self, label: str, error: BaseException) -> None:
        super().__init__(label, error)

    @property
    def line(self) -> str:
        return f"{self.what} NOT sent: {self.error}"


class JournalFailed(WorkFailed):
    """The journal follower stopped: the screen is frozen from here on."""

    def __init__(self, error: BaseException) -> None:
        super().__init__("journal", error)

    @property
    def line(self) -> str:
        return f"journal follower stopped: {self.reason} — the screen no longer updates"


class MilestoneWork(Message):
    """Which pre-T-0 milestones' work has its evidence in the release's folder (preflight, blast, redteam, seal)."""

    def __init__(self, done: frozenset[str]) -> None:
        super().__init__()
        self.done = done


class GoLoaded(Message):
    """The engine's GO state, read from the evidence by the one loader (cockpit.checks.go_loader)."""

    def __init__(self, state: GoState) -> None:
        super().__init__()
        self.state = state


class GateRecorded(Message):
    """A sign-off or an acceptance is in the evidence: `line` says what, for the status bar."""

    def __init__(self, line: str, check_id: str | None = None, acceptance: Acceptance | None = None) -> None:
        super().__init__()
        self.line, self.check_id, self.acceptance = line, check_id, acceptance
