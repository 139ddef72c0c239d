"""The journal's vocabulary: every event a run writes (or streams), named once, with its fields.

A journal record is `{"seq", "ts", "event", <fields>, "prev", "hash"}` (see
cockpit.run.journal). Writers say `emit(Event.HOLD, ...)`, readers compare
`record.get("event") == Event.HOLD`: an `Event` is a `StrEnum`, equal to its
string and serialised as that string, so the journal's bytes do not depend on
this module. `SPECS` documents each event's fields; a test holds every event to
having one and every other module to naming events only through `Event`.

Two events are never journaled: `hourly_summary` (the first night's hour, for
the notifier only) and `drill_fault` (a drill's scenario faults, for the event
stream only). They are here because notify filters and the screens read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The fields every journal record carries, whatever its event (cockpit.run.journal).
RECORD_FIELDS = ("seq", "ts", "event", "prev", "hash")


class Event(StrEnum):
    """Every event name a run writes into the journal or hands to its sinks."""

    RUN_STARTED = "run_started"
    STAGE_STARTED = "stage_started"
    TRAFFIC_SHIFTED = "traffic_shifted"
    SAMPLE = "sample"
    DECISION = "decision"
    HOLD = "hold"
    STAGE_PASSED = "stage_passed"
    ROLLBACK_STARTED = "rollback_started"
    ROLLBACK_DONE = "rollback_done"
    SIGNALS_RECOVERED = "signals_recovered"
    SIGNALS_PROBED = "signals_probed"
    CANARY_DONE = "canary_done"
    OPERATOR = "operator"
    NOTE = "note"
    IC_CALL = "ic_call"
    WARROOM = "warroom"
    NOTIFY_FAILED = "notify_failed"
    GO_OVERRIDE = "go_override"
    FIRST_NIGHT_STARTED = "first_night_started"
    HOUR_CLOSED = "hour_closed"
    FIRST_NIGHT_DONE = "first_night_done"
    LEASE_TAKEN = "lease_taken"
    TRAFFIC_FENCED = "traffic_fenced"
    HOURLY_SUMMARY = "hourly_summary"
    DRILL_FAULT = "drill_fault"


@dataclass(frozen=True)
class EventSpec:
    """What one event means, the fields it always carries, and those only some records carry."""

    doc: str
    fields: tuple[str, ...]
    optional: tuple[str, ...] = ()
    journaled: bool = True

    @property
    def all_fields(self) -> frozenset[str]:
        """Every field a record of this event may carry, the journal's own included."""
        return frozenset(self.fields + self.optional + (RECORD_FIELDS if self.journaled else ("ts", "event")))


_WHERE = ("stage", "weight")
# The first night's records of events the canary also writes carry its phase and hour.
_NIGHT = ("phase", "hour")

SPECS: dict[Event, EventSpec] = {
    Event.RUN_STARTED: EventSpec(
        "The canary run started (or resumed: resumed=true, at `stage`, `torn_bytes` cut off a crashed last line).",
        ("version", "pid", "dry_traffic", "traffic", "plan", "drill"),
        ("baseline", "resumed", "stage", "torn_bytes", "ic"),
    ),
    Event.STAGE_STARTED: EventSpec("A stage began: it lasts `hold` seconds, until `ends_at`.", _WHERE + ("hold", "ends_at")),
    Event.TRAFFIC_SHIFTED: EventSpec(
        "Traffic was moved (ok) or could not be (error) to the stage's weight.",
        _WHERE + ("ok", "attempts", "duration_s", "error"),
        ("dry", "target", "read_back", "read_back_weight"),
    ),
    Event.SAMPLE: EventSpec(
        "One evaluation's signals and triggers (phase: none in a stage, `recovery` after a rollback, `first_night`).",
        _WHERE + ("signals", "triggers"),
        ("consecutive_blind", "blind_since", "board") + _NIGHT,
    ),
    Event.DECISION: EventSpec(
        "What the decision matrix (or an operator's rollback) decided, and why.",
        _WHERE + ("action", "reasons", "at"),
        ("operator_hold", "operator"),
    ),
    Event.HOLD: EventSpec(
        "The stage is held: until `until` (None: an operator's hold, `by`, until resume).",
        _WHERE + ("until", "holds_used", "reasons"),
        ("ends_at", "by"),
    ),
    Event.STAGE_PASSED: EventSpec("The stage passed (`by`: an operator promoted it early).", _WHERE, ("by",)),
    Event.ROLLBACK_STARTED: EventSpec(
        "A rollback was decided; `fired_at` is when its cause was first seen bad.",
        _WHERE + ("reasons", "decided_at", "fired_at", "action"),
        _NIGHT,
    ),
    Event.ROLLBACK_DONE: EventSpec(
        "The rollback command ran (ok) or failed (error); its timings from the decision.",
        _WHERE + ("ok", "attempts", "decided_at", "command_started_at", "command_ended_at", "decision_to_command_ms",
                  "error"),
        ("decision_to_command_wall_ms", "target", "dry") + _NIGHT,
    ),
    Event.SIGNALS_RECOVERED: EventSpec(
        "After a rollback every signal came back within its limits, `after_s` seconds later.", _WHERE + ("at", "after_s")
    ),
    Event.SIGNALS_PROBED: EventSpec(
        "Before the first shift every armed signal and trigger was probed; `dark_triggers` can never fire "
        "(their metrics do not exist).",
        ("signals", "triggers", "dark_triggers"),
        ("strict",),
    ),
    Event.CANARY_DONE: EventSpec(
        "The canary's result: promoted, rolled_back or aborted.",
        ("result",) + _WHERE,
        ("reasons", "recovered_at", "error"),
    ),
    Event.OPERATOR: EventSpec(
        "An operator's command over the control socket (hold, resume, promote, rollback).",
        _WHERE + ("command", "by", "reason"),
    ),
    Event.NOTE: EventSpec("An operator's note for the war-room log.", _WHERE + ("text", "by")),
    Event.IC_CALL: EventSpec(
        "The incident commander's own call (GO, HOLD or ROLLBACK) beside the engine's decision; it moves no traffic.",
        _WHERE + ("call", "by"),
        ("reason",),
    ),
    Event.WARROOM: EventSpec(
        "A war-room log line (`minute` since T-0 for the minute lines, none for events).", _WHERE + ("line",), ("minute",)
    ),
    Event.GO_OVERRIDE: EventSpec(
        "The run started without GO: `cockpit canary --without-go --reason … --by …`; `missing` is what GO lacked.",
        ("version", "reason", "by", "user", "missing"),
    ),
    Event.NOTIFY_FAILED: EventSpec(
        "A webhook gave up on a notification.",
        ("target", "for_event", "for_seq", "attempts", "error"),
        ("phase",),
    ),
    Event.FIRST_NIGHT_STARTED: EventSpec(
        "The first night began (or resumed, with the hours already closed); `start` \"auto\" and `pid`: the canary's "
        "own process went on into it after promoting ([first_night] start = \"auto\"): the hand-over.",
        ("version", "hours", "hour_length", "evaluate_every", "selector") + _WHERE
        + ("resumed", "closed_hours", "traffic"),
        ("start", "pid"),
    ),
    Event.HOUR_CLOSED: EventSpec(
        "One hour of the night, summarised (the hourly log `file` holds it in full).",
        ("hour", "from", "to", "backfilled", "live_samples", "backfilled_points", "backfilled_spans", "backfill_errors",
         "signals", "triggers", "events", "dropped_events", "rollbacks", "worst", "file"),
    ),
    Event.FIRST_NIGHT_DONE: EventSpec(
        "The night's verdict and its stability report.",
        ("verdict", "hours", "closed", "backfilled", "rollbacks", "report"),
    ),
    Event.LEASE_TAKEN: EventSpec(
        "A standby took the run over ([state] dsn): its host, pid and new fencing token, and the holder before, whose "
        "lease lapsed `lapsed_s` ago (or who released it); a night's takeover carries its phase and hour.",
        _WHERE + ("token", "host", "pid", "previous_host", "previous_pid", "previous_token", "released", "lapsed_s"),
        ("waited_s",) + _NIGHT,
    ),
    Event.TRAFFIC_FENCED: EventSpec(
        "With [state] dsn, right before a traffic move (`action` shift or rollback): the fencing `token` was checked "
        "in the transaction that wrote this record, so only the lease's holder moves traffic.",
        _WHERE + ("action", "token"),
    ),
    Event.HOURLY_SUMMARY: EventSpec(
        "Never journaled: a closed hour in one line, for the notifier.",
        ("seq", "version", "hour", "line", "file"),
        journaled=False,
    ),
    Event.DRILL_FAULT: EventSpec(
        "Never journaled: a drill scenario's fault started or changed, for the event stream and the screen.",
        ("fault", "kind", "started_at", "observed_at", "ended_at", "ended_by", "phase", "weight"),
        journaled=False,
    ),
}

# Events a [[notify]] webhook can ask for (cockpit.config.NOTIFY_EVENTS): the canary journal's, and the hourly summary.
NOTIFIABLE = (
    Event.RUN_STARTED, Event.STAGE_STARTED, Event.TRAFFIC_SHIFTED, Event.DECISION, Event.HOLD, Event.STAGE_PASSED,
    Event.ROLLBACK_STARTED, Event.ROLLBACK_DONE, Event.SIGNALS_RECOVERED, Event.OPERATOR, Event.NOTE, Event.IC_CALL, Event.GO_OVERRIDE,
    Event.CANARY_DONE, Event.LEASE_TAKEN, Event.HOURLY_SUMMARY,
)
