"""What a canary run writes beside its journal: rollout and stage files, database snapshots, the war-room log.

Evidence never stops a canary: a file that cannot be written is said loudly
and the run goes on. The war-room log has a line per clock minute since T-0
and a line per event; the journal is the record, so after a crash the log file
is rebuilt from the journal's `warroom` records, never doubled.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from cockpit.clock import iso_utc
from cockpit.engine.model import SignalReading
from cockpit.events import Event
from cockpit.format import format_weight
from cockpit.run.journal import JOURNAL_NAME
from cockpit.run.stage_evidence import db_health_text, logs_text, pgbouncer_text, stage_file, summary_text
from cockpit.run.warroom_log import cells_from_readings, event_line, warroom_line

if TYPE_CHECKING:
    from cockpit.run.canary import CanaryRun

WARROOM_FILE = "warroom_log.txt"


class CanaryEvidence:
    """Writes one canary run's evidence files and war-room lines into its evidence folder."""

    def __init__(self, run: CanaryRun) -> None:
        self.run = run

    def write(self, name: str, text: str) -> None:
        """An evidence file; one that cannot be written is said loudly, never fatal."""
        try:
            self.run.store.write_text(name, text)
        except Exception as exc:  # evidence never stops a canary
            self.run.say(f"evidence {name} not written: {exc}", loud=True)

    def write_rollout(self, stage: int, weight: float, body: str) -> None:
        """rollout_<weight>.txt: the stage's traffic shift, what ran and how it ended."""
        header = [
            f"# Rollout — {self.run.version} stage {stage} ({format_weight(weight)})",
            f"when:      {iso_utc(self.run.clock.now())}",
            f"weight:    {format_weight(weight)}",
        ]
        self.write(stage_file("rollout", weight), "\n".join(header) + "\n" + body)

    def write_stage_files(self, stage: int, weight: float) -> None:
        """The stage's logs and summary files now; its database snapshots in the background."""
        records = self.run.journal.records if self.run.journal else []
        self.write(stage_file("logs", weight), logs_text(records, self.run.version, stage, weight))
        self.write(stage_file("summary", weight), summary_text(records, self.run.version, stage, weight, self.run.labels))
        with contextlib.suppress(Exception):
            self.run.store.record(JOURNAL_NAME)  # the manifest follows the journal stage by stage
        self.run.spawn(self.write_database_files(stage, weight, self.run.clock.now()))

    async def write_database_files(self, stage: int, weight: float, at: float) -> None:
        """db_health and pgbouncer snapshots of the stage, as collected at `at`."""
        for kind, collect in (("db_health", db_health_text), ("pgbouncer", pgbouncer_text)):
            try:
                text = await collect(self.run.config, self.run.version, stage, weight, at)
            except Exception as exc:
                text = f"not collected: {type(exc).__name__}: {exc}\n"
            self.write(stage_file(kind, weight), text)

    def warroom_minute(self, stage: int, weight: float, signals: list[SignalReading], action: str) -> None:
        """The war-room line, once per clock minute since T-0."""
        t0 = self.run.state.t0 if self.run.state.t0 is not None else self.run.clock.now()
        now = self.run.clock.now()
        minute = int(max(0.0, now - t0) // 60)
        if minute == self.run.state.last_warroom_minute:
            return
        state = self.run.state
        line = warroom_line(at=now, t0=t0, stage=stage, weight=weight, signals=cells_from_readings(signals, self.run.labels),
                            decision=action, ic=state.ic, call=state.call_for(stage))
        self.run.emit(Event.WARROOM, stage=stage, weight=weight, line=line, minute=minute)
        self.append_warroom(line)

    def warroom_event(self, stage: int, weight: float, text: str) -> None:
        """A war-room line for an event (a hold, an operator's command, the result)."""
        t0 = self.run.state.t0 if self.run.state.t0 is not None else self.run.clock.now()
        line = event_line(at=self.run.clock.now(), t0=t0, stage=stage, weight=weight, text=text)
        self.run.emit(Event.WARROOM, stage=stage, weight=weight, line=line)
        self.append_warroom(line)

    def append_warroom(self, line: str) -> None:
        """Append a line to the war-room log file."""
        try:
            self.run.store.append_line(WARROOM_FILE, line)
        except Exception as exc:
            self.run.say(f"{WARROOM_FILE} not written: {exc}", loud=True)

    def rewrite_warroom(self) -> None:
        """Rebuild the war-room log file from the journal (after a crash)."""
        # The journal is the record: after a crash the log file is rebuilt from it, never doubled.
        lines = [str(r.get("line", "")) for r in (self.run.journal.records if self.run.journal else []) if r.get("event") == Event.WARROOM]
        if lines:
            self.write(WARROOM_FILE, "\n".join(lines) + "\n")
