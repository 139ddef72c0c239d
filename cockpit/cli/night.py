"""`cockpit first-night VERSION`: watch the promoted release for 24 hours, an hourly log and a stability report.

Exit codes: 0 the night ended without a rollback, 1 it rolled back (or the
rollback failed), 2 bad input (not promoted, no config, already running),
3 the night was blind (UNKNOWN: cockpit.run.night_hours.BLIND_NIGHT_RULE, never
a pass), 130 stopped (the same command resumes the night from the journal).

`[first_night] start = "auto"` runs the same night in the canary's own process
once it promotes (`run_night`, called by cockpit.cli.canary), under the lease
the canary holds with `[state] dsn`.

With `[state] dsn` the night takes the run's lease first (another controller
holding it: one line, exit 2; the database unreachable: one line, exit 2) and
copies the database's journal and evidence into this folder, so a night can be
started on another host than its canary. A night that loses its lease steps
down (exit 4) and moves no traffic. `--standby` waits for the lease instead of
being refused (like `cockpit canary --standby`) and, when the holder's lease
lapses, takes the night over and resumes it from the database's journal.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
from typing import Any

from cockpit.cli import UsageError
from cockpit.cli.common import (
    cancel_on_signals,
    load_required_config,
    open_evidence,
    positive_duration,
    progress_printer,
)
from cockpit.config import ConfigError
from cockpit.release_version import validate_version


def register(subparsers: Any) -> None:
    night = subparsers.add_parser(
        "first-night",
        help="watch the promoted release for 24 h: hourly logs, a stability report, triggers still armed",
        description="Watch VERSION (promoted by its canary) for --hours hours: hourly_log_<HH>.txt every hour, "
        "stability_report_24h.md at the end; a rollback trigger still rolls back and pages. "
        "Stopped and started again it resumes, back-filling missed hours from Prometheus' history.",
    )
    night.add_argument("version", metavar="VERSION")
    night.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    night.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")
    night.add_argument("--hours", type=int, help="hours to watch (default: [first_night] hours, 24)")
    night.add_argument("--hour-length", metavar="DURATION",
                       help="how long an hour is (default: [first_night] hour_length, 1h; shorter for rehearsals)")
    night.add_argument("--every", metavar="DURATION", help="evaluate this often (default: [canary] evaluate_every)")
    night.add_argument("--selector", metavar="MATCHERS",
                       help="label matchers that pick the released version (default: [canary] selector)")
    night.add_argument("--standby", action="store_true",
                       help="with [state] dsn: wait for the night's lease and take the night over when its holder's "
                            "lease lapses (its hours and records go on from the database's journal)")
    night.set_defaults(func=_cmd_first_night)


def _cmd_first_night(args: argparse.Namespace) -> int:
    version = validate_version(args.version)
    if args.hours is not None and not 1 <= args.hours <= 168:
        raise UsageError(f"--hours: {args.hours} is not between 1 and 168")
    hour_length = positive_duration("--hour-length", args.hour_length) if args.hour_length else None
    every = positive_duration("--every", args.every) if args.every else None
    config, path = load_required_config(args)
    hours = args.hours if args.hours is not None else config.first_night.hours
    hour_length = hour_length if hour_length is not None else float(config.first_night.hour_length)
    if args.selector:
        config = config.model_copy(update={"canary": config.canary.model_copy(update={"selector": args.selector})})
    if config.prometheus is None:
        raise ConfigError("no [prometheus] configured: the first night cannot watch its signals")
    if args.standby and config.state is None:
        raise UsageError("--standby needs [state] dsn: the lease it waits for lives in PostgreSQL")
    store = open_evidence(config, path, args, version)
    if config.state is None:
        return run_night(config, version, store, path, hours=hours, hour_length=hour_length, every=every)
    from cockpit.cli import state
    from cockpit.run.state_store import LeaseLost

    # A standby waits here until the holder's lease lapses; then the journal copied from the database is the
    # night's, and run_night resumes it by the restart rules (closed hours kept, missed parts back-filled).
    holding = state.hold_run(config, version, store, standby=args.standby, what="run",
                             hint=f"its canary or first night is live there: follow it with `cockpit watch {version} "
                                  "--from-state`, or start this one with --standby to take the night over when its "
                                  "lease lapses")
    lost = False
    try:
        return run_night(config, version, store, path, hours=hours, hour_length=hour_length, every=every,
                         holding=holding)
    except LeaseLost as exc:
        lost = True
        return state.stepped_down(version, exc.message, what="first night")
    finally:
        state.release_run(holding, store, stepped_down=lost)


def run_night(config: Any, version: str, store: Any, config_path: Any, *, hours: int, hour_length: float,
              every: float | None = None, handed_over: bool = False, holding: Any = None) -> int:
    """Run (or resume) the night in this process, registered as a live first night; its exit code.

    handed_over: the canary's process goes on into the night ([first_night] start = "auto"), journaled as such.
    holding: the run's lease with [state] dsn (cockpit.run.lease.RunHolding): the night's records go there too.
    """
    from cockpit.engine.traffic import traffic_from_config

    say = progress_printer(sys.stdout)
    traffic = traffic_from_config(config.traffic, redactor=config.redactor())
    if config.traffic.rollback and shutil.which(config.traffic.rollback[0]) is None:
        raise ConfigError(f"traffic.rollback: command {config.traffic.rollback[0]!r} is not found or not executable")
    from cockpit.run.live_runs import live_run, registered

    with registered(live_run("first-night", version, store, config_path)):
        return _run(config, version, store, traffic, hours=hours, hour_length=hour_length, every=every, say=say,
                    handed_over=handed_over, holding=holding)


def _run(config: Any, version: str, store: Any, traffic: Any, *, hours: int, hour_length: float,
         every: float | None, say: Any, handed_over: bool = False, holding: Any = None) -> int:
    from cockpit.clock import SystemClock
    from cockpit.run.first_night import run_first_night
    from cockpit.run.night_hours import BLIND_NIGHT_RULE
    from cockpit.run.notify import Notifier
    from cockpit.sources.prometheus import PrometheusSource

    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # losing the terminal must not stop the night
    source = PrometheusSource(config.prometheus, config.redactor())
    clock = SystemClock()

    async def main() -> Any:
        cancel_on_signals()
        notifier = Notifier.from_config(config, version, warn=lambda text: say(text, True))
        if notifier is not None:
            notifier.start()
        try:
            return await run_first_night(config, version, source=source, clock=clock, store=store, notifier=notifier,
                                         traffic=traffic, hours=hours, hour_length=hour_length, evaluate_every=every,
                                         say=say, handed_over=handed_over, holding=holding)
        finally:
            if notifier is not None:
                await notifier.aclose(10.0)

    try:
        outcome = asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        print(f"cockpit: stopped; the first night of {version} is in its journal: the same command resumes it "
              "(missed hours are back-filled from Prometheus' history)", file=sys.stderr)
        return 130
    finally:
        source.close()
    head = f"{version}: first night " + ("already done: " if outcome.already_finished else "done: ")
    line = head + f"{outcome.verdict.upper()}, {len(outcome.closed)}/{outcome.hours} hours"
    if outcome.backfilled:
        line += f" ({len(outcome.backfilled)} back-filled)"
    if outcome.rollbacks:
        line += f", rollback {'done' if outcome.rollback_ok else 'FAILED'}"
    if outcome.verdict == "unknown":
        line += " (blind: " + BLIND_NIGHT_RULE + ")"
    print(line + (f" → {store.path(outcome.report)}" if outcome.report else ""),
          file=sys.stderr if outcome.exit_code else sys.stdout)
    return outcome.exit_code
