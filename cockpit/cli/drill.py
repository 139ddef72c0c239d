"""`cockpit drill [SCENARIO]`: rehearse the whole canary against the built-in simulated service, time compressed.

Exit codes, as `cockpit canary`: 0 the canary reached 100 % and passed, 1 it was
rolled back (or aborted), 2 bad input (an unknown scenario, a bad scenario
file), 3 the drill could not start (Prometheus would not come up). Everything
it prints says DRILL.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from cockpit.cli import UsageError
from cockpit.cli.common import cancel_on_signals, open_event_sink
from cockpit.events import Event
from cockpit.format import format_clock, format_weight

SOURCES = ("auto", "prometheus", "simulator")


def register(subparsers: Any) -> None:
    drill = subparsers.add_parser(
        "drill",
        help="rehearse a canary against a simulated service with injected faults (DRILL)",
        description=(
            "Run the whole canary (stages, signals, triggers, traffic commands, rollback) against the built-in "
            "simulated service, time compressed. SCENARIO is a built-in name (see --list) or a .toml file. "
            "Exit 0 promoted, 1 rolled back, 2 bad input, 3 could not start."
        ),
    )
    drill.add_argument("scenario", metavar="SCENARIO", nargs="?", default=None, help="default: healthy")
    drill.add_argument("--list", action="store_true", help="list the built-in scenarios and exit")
    drill.add_argument("--headless", action="store_true",
                       help="no screen: print the run as it goes (also without a terminal)")
    drill.add_argument("--events", metavar="FILE|-", help="also write every event as one JSON object per line")
    drill.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: a new temporary folder, kept)")
    drill.add_argument("--stage-seconds", type=float, default=None, metavar="S",
                       help="seconds per stage (default 6; every release duration is scaled by S/900)")
    drill.add_argument("--source", choices=SOURCES, default="auto",
                       help="prometheus: start a real Prometheus (needs the binary); simulator: read the simulator "
                            "directly; auto (default): prometheus when it is on PATH")
    drill.set_defaults(func=_cmd_drill)


def _cmd_drill(args: argparse.Namespace) -> int:
    from cockpit.drill.scenario import list_scenarios, load_scenario

    if args.list:
        for scenario in list_scenarios():
            print(f"{scenario.name:<18} {scenario.description}")
            print(f"{'':<18} faults: {scenario.summary()}")
        return 0
    scenario = load_scenario(args.scenario)  # ConfigError: one line, exit 2
    if args.stage_seconds is not None and not 3 <= args.stage_seconds <= 3600:
        raise UsageError("--stage-seconds must be between 3 and 3600")
    if args.source == "prometheus":
        from cockpit.drill.prometheus import prometheus_binary

        if prometheus_binary() is None:
            raise UsageError("--source prometheus: no prometheus binary on PATH (use --source simulator)")
    if not args.headless and sys.stdin.isatty() and sys.stdout.isatty():
        if args.events:
            raise UsageError("--events needs --headless (the drill screen shows the events itself)")
        from cockpit.cli.screens import run_drill_screen

        return run_drill_screen(
            args.scenario,
            evidence_dir=Path(args.evidence_dir) if args.evidence_dir else None,
            stage_seconds=args.stage_seconds,
        )
    return _run(args, scenario)  # --headless, or no terminal to draw on (CI, a pipe)


class HeadlessPrinter:
    """Turns the drill's events into lines for a person: stages, decisions (when they change), war-room lines, faults."""

    def __init__(self, stream: TextIO, labels: dict[str, str] | None = None) -> None:
        self.stream = stream
        self.labels = labels or {}
        self._last_key: tuple[Any, ...] | None = None

    def line(self, text: str, at: float | None = None) -> None:
        stamp = format_clock(at if at is not None else time.time())
        try:
            print(f"DRILL {stamp} {text}", file=self.stream, flush=True)
        except (OSError, ValueError):
            pass  # the terminal went away; the journal keeps the record

    def emit(self, record: dict[str, Any]) -> None:
        event = record.get("event")
        at = record.get("ts") if isinstance(record.get("ts"), (int, float)) else None
        if event == Event.STAGE_STARTED:
            self._last_key = None
        elif event == Event.DECISION:
            self._decision(record, at)
        elif event == Event.WARROOM:
            self.line(f"| {record.get('line', '')}", at)
        elif event == Event.DRILL_FAULT:
            self._fault(record, at)

    def _decision(self, record: dict[str, Any], at: float | None) -> None:
        from cockpit.run.warroom_log import decision_word

        action = str(record.get("action"))
        reasons = [r for r in record.get("reasons") or [] if isinstance(r, dict)]
        notable = [r for r in reasons if not (r.get("source") == "signal" and " PASS" in str(r.get("message")))]
        key = (action, tuple(sorted((str(r.get("source")), str(r.get("name"))) for r in notable if r.get("source") != "stage")))
        if action == "continue" and key == self._last_key:
            return  # the same picture as a second ago: say it once
        self._last_key = key
        shown = [r for r in notable if r.get("source") != "stage"][:2] or [r for r in notable if r.get("source") == "stage"][:1]
        why = "; ".join(str(r.get("message", "")) for r in shown)
        stage = f"stage {record.get('stage')} ({format_weight(record.get('weight'))})" if isinstance(record.get("weight"), (int, float)) else ""
        self.line(f"{stage} decision {decision_word(action)}" + (f": {why}" if why else ""), at)

    def _fault(self, record: dict[str, Any], at: float | None) -> None:
        kind, phase = record.get("kind"), record.get("phase")
        weight = record.get("weight")
        if phase == "started":
            self.line(f"FAULT {kind} injected (canary at {format_weight(weight)})", at)
        elif phase == "observed":
            self.line(f"FAULT {kind} visible to the cockpit's source from now", at)
        elif phase == "ended":
            self.line(f"FAULT {kind} ended ({record.get('ended_by')})", at)


class _Tee:
    def __init__(self, *sinks: Any) -> None:
        self.sinks = sinks

    def emit(self, record: dict[str, Any]) -> None:
        for sink in self.sinks:
            if sink is not None:
                sink.emit(record)


def _run(args: argparse.Namespace, scenario: Any) -> int:
    from cockpit.cli.canary import outcome_line
    from cockpit.drill.session import DrillOptions, DrillSession

    json_sink, progress = open_event_sink(args.events)
    printer = HeadlessPrinter(progress)
    options = DrillOptions(
        scenario,
        evidence_dir=Path(args.evidence_dir) if args.evidence_dir else None,
        use_prometheus={"auto": None, "prometheus": True, "simulator": False}[args.source],
    )
    if args.stage_seconds is not None:
        options.stage_seconds = args.stage_seconds

    def say(text: str, loud: bool = False) -> None:
        printer.line(text)

    async def main() -> Any:
        cancel_on_signals()
        printer.line(f"scenario {scenario.name}: {scenario.description or scenario.summary()}")
        printer.line(f"faults: {scenario.summary()}; stages of {options.stage_seconds:g}s")
        async with DrillSession(options) as drill:
            assert drill.simulator is not None and drill.store is not None
            printer.line(f"simulated service {drill.simulator.url}; signals read from {drill.source_label}")
            printer.line(f"evidence {drill.store.dir}")
            outcome = await drill.run(events=_Tee(printer, json_sink), say=say)
            printer.line(outcome_line(outcome, "outcome: ", recovery=True))
            printer.line(f"journal {outcome.journal}")
            return outcome

    try:
        outcome = asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        print("DRILL stopped", file=sys.stderr)
        return 130
    finally:
        if json_sink is not None:
            json_sink.close()
    return int(outcome.exit_code)
