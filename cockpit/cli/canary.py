"""`cockpit canary` (run the stages, headless or detached) and `cockpit ctl` (command a live run).

Exit codes of `cockpit canary`: 0 the canary reached 100 % and passed, 1 it was
rolled back (or aborted), 2 bad input. With `[first_night] start = "auto"` a
promoted canary goes on into its first night in the same process, and the
command exits with the night's code (0, 1 a night rollback, 3 a blind night). A run that is already finished is not
run again: the command prints its recorded result and exits with its code.
`cockpit ctl`: 0 done, 1 the run refused, 2 bad input, 3 no live run to ask.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cockpit.cli import UsageError
from cockpit.cli.common import cancel_on_signals, load_required_config, open_event_sink, open_evidence, progress_printer
from cockpit.config import CockpitConfig, ConfigError, find_config, load_config
from cockpit.errors import CockpitError
from cockpit.events import Event
from cockpit.evidence import EvidenceStore
from cockpit.format import format_duration, format_weight
from cockpit.release_version import validate_version
from cockpit.run.warroom_log import IC_CALLS

EXIT_PROMOTED, EXIT_ROLLED_BACK, EXIT_USAGE = 0, 1, 2
CTL_COMMANDS = ("status", "rollback", "hold", "resume", "promote", "note")


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "canary",
        help="run the canary stages: shift traffic, watch the signals, promote or roll back",
        description="Run (or resume) the canary for VERSION. Exit 0 promoted, 1 rolled back, 2 bad input.",
    )
    run.add_argument("version", metavar="VERSION")
    run.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    run.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")
    run.add_argument("--headless", action="store_true", help="no screen: progress lines on the terminal")
    run.add_argument("--events", metavar="FILE|-", help="also write every event as one JSON object per line")
    run.add_argument("--detach", action="store_true",
                     help="run as its own process (new session, log in the evidence folder); print its pid and socket")
    run.add_argument("--dry-traffic", action="store_true",
                     help="without [traffic]: watch the signals through the stages without moving any traffic")
    _add_ic_flag(run)
    run.add_argument("--without-go", action="store_true",
                     help="start without GO (needs --reason and --by): journaled as an override and shown everywhere")
    run.add_argument("--reason", help="why the run starts without GO (with --without-go)")
    run.add_argument("--by", metavar="INITIALS", help="who decided to start without GO (with --without-go)")
    _add_probe_arguments(run)
    run.add_argument("--standby", action="store_true",
                     help="with [state] dsn: wait for the run's lease and take the run over when its holder's lease lapses")
    run.set_defaults(func=_cmd_canary)

    ctl = subparsers.add_parser(
        "ctl",
        help="command a live canary run: status, rollback, hold, resume, promote, note",
        description="Send a command to the live canary run of VERSION over its control socket.",
    )
    ctl.add_argument("version", metavar="VERSION")
    ctl.add_argument("command", choices=CTL_COMMANDS)
    ctl.add_argument("text", nargs="*", help="the note's text (for `note`)")
    ctl.add_argument("--reason", help="why (required for rollback; recorded in the journal and war-room log)")
    ctl.add_argument("--by", metavar="NAME", help="your initials, recorded next to your user name")
    ctl.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    ctl.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")
    ctl.add_argument("--socket", metavar="PATH", help="the run's control socket (default: <evidence>/<version>/control.sock)")
    ctl.add_argument("--timeout", type=float, help="seconds to wait for the answer (default 10; rollback 60)")
    ctl.add_argument("--json", action="store_true", help="print the reply as JSON")
    ctl.add_argument("--from-state", action="store_true",
                     help="send it through [state] dsn's database to the run's holder, on whichever host it runs")
    _add_call_flag(ctl)
    ctl.set_defaults(func=_cmd_ctl)


def _add_ic_flag(parser: Any) -> None:
    """`--ic AB`: who commands the release, journaled in run_started and shown beside their calls."""
    parser.add_argument("--ic", metavar="INITIALS", type=_initials,
                        help="the incident commander's initials: the war-room log shows their own calls as IC (AB)")


def _add_call_flag(parser: Any) -> None:
    """`note --call GO|HOLD|ROLLBACK`: the IC's own call, recorded next to the engine's decision."""
    parser.add_argument("--call", type=str.upper, choices=IC_CALLS,
                        help="with `note`: the IC's own call on the stage (recorded; moves no traffic)")


def _initials(text: str) -> str:
    """Initials for the war-room log: 1-12 letters, digits, dots or dashes."""
    value = text.strip()
    if not value or len(value) > 12 or not all(c.isalnum() or c in ".-" for c in value):
        raise argparse.ArgumentTypeError(f"{text!r}: initials are 1-12 letters or digits (e.g. AB)")
    return value


def _ic_call_request(args: argparse.Namespace, request: dict[str, Any], text: str) -> None:
    """Put `--call` (and its optional text) into a note request; a call goes with `note` only."""
    if args.call is None:
        return
    if args.command != "note":
        raise UsageError(f"--call goes with `note` (cockpit ctl VERSION note --call {args.call}), not with `{args.command}`")
    request["call"] = args.call
    request["text"] = text or (args.reason or "").strip()


# ---------------------------------------------------------------- cockpit canary


def _add_probe_arguments(run: Any) -> None:
    """The probe before the first shift (cockpit/engine/probe.py): --strict makes dark triggers stop the start."""
    run.add_argument("--strict", action="store_true",
                     help="a trigger whose metrics do not exist in Prometheus stops the start too (not only a warning)")


def _check_runnable(config: CockpitConfig, dry_traffic: bool) -> None:
    """Everything a run needs, checked before anything moves; ConfigError (exit 2) otherwise."""
    from cockpit.engine.traffic import traffic_from_config

    if config.prometheus is None:
        raise ConfigError("no [prometheus] configured: the canary cannot watch its signals")
    if not config.enabled_signals():
        raise ConfigError("no enabled signals: the canary would have nothing to judge the stages on")
    adapter = traffic_from_config(config.traffic)  # checks placeholders and the webhook URL
    if adapter is None and not dry_traffic:
        raise ConfigError(
            "no [traffic] configured: add traffic.set_weight = [\"kubectl\", …] or traffic.webhook = \"https://…\", "
            "or pass --dry-traffic to watch the signals without moving traffic"
        )
    for key in ("set_weight", "rollback"):
        argv = getattr(config.traffic, key)
        if argv and shutil.which(argv[0]) is None:
            raise ConfigError(f"traffic.{key}: command {argv[0]!r} is not found or not executable")


def _finished_result(store: EvidenceStore) -> dict[str, Any] | None:
    from cockpit.run.journal import JOURNAL_NAME, read_journal

    read = read_journal(store.dir / JOURNAL_NAME)
    for record in reversed(read.records):
        if record.get("event") == Event.CANARY_DONE:
            return record
    return None


def _cmd_canary(args: argparse.Namespace) -> int:
    version = validate_version(args.version)
    config, path = load_required_config(args)
    store = open_evidence(config, path, args, version)
    if args.detach and args.events == "-":
        raise UsageError("--events - cannot go with --detach (the detached run has no terminal): give a FILE")
    if args.standby and config.state is None:
        raise UsageError("--standby needs [state] dsn: the lease it waits for lives in PostgreSQL")
    args.holding = None
    if config.state is None:
        return _start_canary(args, config, version, path, store)
    from cockpit.cli import state

    if args.detach:  # the detached process takes the lease itself; here only say now if the database is unreachable
        state.connect(config).close()
        return _start_canary(args, config, version, path, store)
    from cockpit.run.state_store import LeaseLost

    args.holding = state.hold_run(config, version, store, standby=args.standby)
    lost = False
    try:
        return _start_canary(args, config, version, path, store)
    except LeaseLost as exc:
        lost = True
        return state.stepped_down(version, exc.message)
    finally:
        state.release_run(args.holding, store, stepped_down=lost)


def _start_canary(args: argparse.Namespace, config: CockpitConfig, version: str, path: Path, store: EvidenceStore) -> int:
    done = _finished_result(store)
    if done is not None:
        print(f"{version}: already finished: {_result_words(done)}")
        return EXIT_PROMOTED if done.get("result") == "promoted" else EXIT_ROLLED_BACK
    _check_runnable(config, args.dry_traffic)
    args.override = _require_go(args, config, store, version)
    if args.detach:
        return _detach(args, version, path, store)
    args.config_path = path
    return _run_then_first_night(args, config, version, store)


def _run_then_first_night(args: argparse.Namespace, config: CockpitConfig, version: str, store: EvidenceStore) -> int:
    """The canary here; with `[first_night] start = "auto"` and a promotion, its first night right after.

    The run lock is held across both (shared with the two runs inside it), so no other process can take
    the journal between the promotion and the night's first record; the night's `first_night_started`
    says it was handed over. A detached run (`--detach`) runs this same command, so T+90 → T+24h needs
    nobody awake.
    """
    if config.first_night.start != "auto":
        return _run_here(args, config, version, store)
    from cockpit.cli.night import run_night
    from cockpit.run.lock import RunLock, RunLockHeld

    store.dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(store.dir)
    try:
        lock.acquire(share=True)
    except RunLockHeld as held:
        raise UsageError(f"the canary run for {version} is already live (pid {held.holder}): "
                         f"command it with `cockpit ctl {version} …`") from None
    try:
        code = _run_here(args, config, version, store)
        if code != EXIT_PROMOTED:
            return code
        night = config.first_night
        print(f"{version}: promoted; the first night starts now in this process ([first_night] start = \"auto\"): "
              f"{night.hours} hours of {format_duration(night.hour_length)}", flush=True)
        # With [state] dsn the lease the canary took goes on with the night: its records are fenced the same way.
        return run_night(config, version, store, getattr(args, "config_path", None), hours=night.hours,
                         hour_length=float(night.hour_length), handed_over=True, holding=getattr(args, "holding", None))
    finally:
        lock.release()


class NoGo(CockpitError):
    """The GO gate is closed: exit 2, one line per missing item (its text is all of them)."""


def _require_go(args: argparse.Namespace, config: CockpitConfig, store: EvidenceStore, version: str) -> dict[str, Any] | None:
    """Ask the engine's GO before anything shifts; None (GO), the override to journal, or NoGo (exit 2).

    A run whose journal already says it started resumes without asking again: GO (or its
    override) was decided when it started, and the journal has it.
    """
    from cockpit.checks.go_loader import load_go
    from cockpit.run.journal import JOURNAL_NAME, read_journal

    if args.without_go:
        reason = (args.reason or "").strip()
        if not reason or not args.by:
            raise UsageError("--without-go needs --reason TEXT and --by INITIALS: the override is on record everywhere")
        from cockpit.checks.ticks import validate_initials

        try:
            by = validate_initials(args.by)
        except ValueError as exc:
            raise UsageError(f"--by: {exc}") from None
    elif args.reason or args.by:
        raise UsageError("--reason and --by go with --without-go")
    if any(r.get("event") == Event.RUN_STARTED for r in read_journal(store.dir / JOURNAL_NAME).records):
        return None
    state = load_go(config, store)
    if state.go:
        return None
    if not args.without_go:
        lines = [f"NO-GO: canary {version} shifts no traffic until GO holds (cockpit go {version}):"]
        lines += [f"  {m}" for m in state.missing]
        lines.append(f"  (or, on record: cockpit canary {version} --without-go --reason TEXT --by INITIALS)")
        raise NoGo("\n".join(lines))
    import getpass

    print(f"cockpit: WARNING: canary {version} starts WITHOUT GO ({len(state.missing)} missing), "
          f"by {by}: {reason}", file=sys.stderr, flush=True)
    return {"reason": " ".join(reason.split())[:500], "by": by, "user": getpass.getuser(), "missing": state.missing}


def _result_words(done: dict[str, Any]) -> str:
    result = str(done.get("result"))
    where = f"stage {done.get('stage')} ({format_weight(done.get('weight'))})" if isinstance(done.get("weight"), (int, float)) else ""
    if result == "promoted":
        return "PROMOTED: every stage passed"
    reasons = "; ".join(str(r.get("message", "")) for r in (done.get("reasons") or [])[:2])
    if result == "rolled_back":
        return f"ROLLED BACK at {where}" + (f": {reasons}" if reasons else "")
    return f"ABORTED at {where}: {done.get('error') or reasons}"


def _run_here(args: argparse.Namespace, config: CockpitConfig, version: str, store: EvidenceStore) -> int:
    from cockpit.clock import SystemClock
    from cockpit.run.canary import run_canary
    from cockpit.run.live_runs import live_run, registered
    from cockpit.sources.prometheus import PrometheusSource

    # Losing the terminal must not stop a release in flight.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    sink, progress = open_event_sink(args.events)
    assert config.prometheus is not None
    source = PrometheusSource(config.prometheus, config.redactor())

    say = progress_printer(progress)

    async def main() -> Any:
        from cockpit.run.notify import Notifier

        cancel_on_signals()
        from cockpit.run.journal import JOURNAL_NAME, read_journal

        # A resumed run keeps the start it journaled: PagerDuty's dedup key (one incident per run) hangs on it.
        started = next((r["ts"] for r in read_journal(store.dir / JOURNAL_NAME).records if r.get("event") == Event.RUN_STARTED), None)
        notifier = Notifier.from_config(config, version, warn=lambda text: say(text, True), run_start=started)
        return await run_canary(
            config, version, source=source, clock=SystemClock(), store=store, events=sink,
            dry_traffic=args.dry_traffic, say=say, notifier=notifier, ic=args.ic,
            override=getattr(args, "override", None), strict_probe=getattr(args, "strict", False),
            holding=getattr(args, "holding", None),
        )

    try:
        with registered(live_run("canary", version, store, getattr(args, "config_path", None))):
            outcome = asyncio.run(main())
    except (asyncio.CancelledError, KeyboardInterrupt):
        return _stopped(store, version)
    except OSError as exc:
        # The evidence folder became unwritable mid-run (disk full, read-only): the run said what it did.
        print(f"cockpit: canary {version} stopped: cannot write its evidence: {exc}", file=sys.stderr)
        return 1
    finally:
        source.close()
        if sink is not None:
            sink.close()
    line = outcome_line(outcome, f"{outcome.version}: " + ("already finished: " if outcome.already_finished else ""))
    print(line, file=progress if outcome.result == "promoted" else sys.stderr, flush=True)
    _record_log(store, version)
    return outcome.exit_code


def _stopped(store: EvidenceStore, version: str) -> int:
    """A stop (SIGINT/SIGTERM) ended the process: say where the run stands by its journal, and exit with that.

    After the rollback command was done the run's result is the rollback's (exit 1), never "paused".
    """
    from cockpit.run.journal import JOURNAL_NAME, read_journal

    records = read_journal(store.dir / JOURNAL_NAME).records
    done = next((r for r in reversed(records) if r.get("event") == Event.ROLLBACK_DONE), None)
    started = next((r for r in reversed(records) if r.get("event") == Event.ROLLBACK_STARTED), None)
    if done is not None and done.get("ok"):
        where = f"stage {done.get('stage')} ({format_weight(done.get('weight'))})"
        print(f"cockpit: stopped during the recovery watch: {version}: rolled back at {where}", file=sys.stderr)
        return EXIT_ROLLED_BACK
    if started is not None:
        print(f"cockpit: stopped; the rollback of {version} is not recorded as done: the same command runs it again",
              file=sys.stderr)
        return 130
    print(f"cockpit: stopped; run {version} is paused in its journal: the same command resumes it", file=sys.stderr)
    return 130


def outcome_line(outcome: Any, head: str, *, recovery: bool = False) -> str:
    """A CanaryOutcome in one line after `head`: promoted, rolled back (how fast; recovered, with `recovery`), aborted."""
    if outcome.result == "promoted":
        return head + "PROMOTED: every stage passed"
    where = f"stage {outcome.stage} ({format_weight(outcome.weight)})"
    why = "; ".join(str(r.get("message", "")) for r in outcome.reasons[:2])
    if outcome.result == "rolled_back":
        text = head + f"ROLLED BACK at {where}" + (f": {why}" if why else "")
        rollback = outcome.rollback or {}
        if rollback.get("decision_to_command_ms") is not None:
            text += f" (decision→rollback command {format_duration(rollback['decision_to_command_ms'] / 1000, 'measured')})"
        if recovery and outcome.recovered_at is not None:
            text += "; signals recovered after the rollback"
        return text
    return head + f"ABORTED at {where}: {outcome.error or why}"


def _log_name(version: str) -> str:
    return f"canary_{version}.log"


def _record_log(store: EvidenceStore, version: str) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        store.record(_log_name(version))
    except Exception:
        pass


def _detach(args: argparse.Namespace, version: str, config_path: Path, store: EvidenceStore) -> int:
    from cockpit.run.control import ControlError, control_request, socket_path

    command = [sys.executable, "-m", "cockpit", "canary", version, "--headless",
               "--config", str(Path(config_path).resolve()), "--evidence-dir", str(store.root.resolve())]
    if args.events:
        command += ["--events", str(Path(args.events).resolve())]
    if args.dry_traffic:
        command.append("--dry-traffic")
    if args.ic:
        command += ["--ic", args.ic]
    if args.without_go:  # the detached run journals the override itself
        command += ["--without-go", "--reason", args.reason, "--by", args.by]
    if args.standby:
        command.append("--standby")
    store.dir.mkdir(parents=True, exist_ok=True)
    log_path = store.dir / _log_name(version)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, cwd=os.getcwd(),
        )
    sock = socket_path(store.dir)
    deadline = time.monotonic() + 20
    listening = False
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-5:]
            print(f"cockpit: the detached run ended at once (exit {code}): " + " | ".join(tail), file=sys.stderr)
            return code if code in (0, 1, 2) else EXIT_USAGE
        try:
            control_request(sock, {"command": "status"}, timeout=1.0)
            listening = True
            break
        except ControlError:
            time.sleep(0.05)
    print(f"canary {version} running detached: pid {process.pid}")
    print(f"socket  {sock}" + ("" if listening else " (not answering yet)"))
    print(f"log     {log_path}")
    print(f"journal {store.dir / 'journal.jsonl'}")
    print(f"command it with: cockpit ctl {version} status|hold|resume|promote|note|rollback --reason …")
    return 0


# ---------------------------------------------------------------- cockpit ctl


def _socket_for(args: argparse.Namespace, version: str) -> Path:
    from cockpit.run.control import socket_path

    if args.socket:
        return Path(args.socket)
    if args.evidence_dir:
        return socket_path(Path(args.evidence_dir) / version)
    path = find_config(args.config)
    local = socket_path(open_evidence(load_config(path), path, args, version).dir) if path is not None else None
    if local is not None and (args.config or local.exists()):
        return local
    # Not named here (another folder, no config): the run registered itself in the user's runtime directory.
    from cockpit.run.live_runs import find_live_run

    run = find_live_run(version, "canary")
    if run is not None:
        return Path(run.socket)
    if local is not None:
        return local  # no live run anywhere: the local socket's absence is the message
    raise ConfigError(f"cannot find a live run of {version}: none is registered on this machine; "
                      "pass --config FILE, --evidence-dir DIR or --socket PATH")


def _cmd_ctl(args: argparse.Namespace) -> int:
    import json

    from cockpit.run.control import control_request

    version = validate_version(args.version)
    text = " ".join(args.text).strip()
    request: dict[str, Any] = {"command": args.command}
    _ic_call_request(args, request, text)
    if args.command == "note" and "call" not in request:
        note = text or (args.reason or "").strip()
        if not note:
            raise UsageError("a note needs text: cockpit ctl VERSION note \"what happened\"")
        request["text"] = note
    elif text and args.command != "rollback" and "call" not in request:
        raise UsageError(f"`{args.command}` takes no text; use --reason")
    if args.command == "rollback":
        reason = (args.reason or text).strip()
        if not reason:
            raise UsageError("rollback needs --reason \"why\": it goes in the journal and the war-room log")
        request["reason"] = reason
    elif args.reason:
        request["reason"] = args.reason
    if args.by:
        request["by"] = args.by
    timeout = args.timeout if args.timeout is not None else (60.0 if args.command == "rollback" else 10.0)
    if timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    if args.command == "rollback":
        request["wait"] = max(1.0, timeout - 2.0)
    if args.from_state:
        reply = _through_state(args, version, request, timeout)
    else:
        sock = _socket_for(args, version)
        reply = control_request(sock, request, timeout=timeout)  # no run to ask: ControlError, exit 3
    if args.json:
        print(json.dumps(reply, indent=2, ensure_ascii=False))
    elif not reply.get("ok"):
        print(f"cockpit: refused: {reply.get('error')}", file=sys.stderr)
    elif args.command == "status":
        print(status_text(reply.get("status") or {}))
    else:
        print(reply.get("message") or "ok")
    return 0 if reply.get("ok") else 1


def _through_state(args: argparse.Namespace, version: str, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """`ctl --from-state`: the request through the state database to the run's holder; exit 3 when none answers."""
    from cockpit.run.state_commands import send_and_wait

    config, _path = load_required_config(args)
    if config.state is None:
        raise UsageError("--from-state needs [state] dsn in the config")
    return send_and_wait(config.state, config.redactor(), version, request, timeout)


def status_text(status: dict[str, Any]) -> str:
    """`cockpit ctl V status` for a person: stage, weight, time left, the last decision."""
    stage, stages = status.get("stage") or 0, status.get("stages") or 0
    weight = status.get("weight") or 0
    parts = [f"{status.get('version')} stage {stage}/{stages} ({format_weight(weight)})"]
    left = status.get("time_left_s")
    if left is not None:
        parts.append(f"{format_duration(left)} left")
    parts.append(f"holds {status.get('holds_used', 0)}/{status.get('max_holds', 0)}")
    parts.append(f"phase {status.get('phase')}")
    if status.get("held_by"):
        parts.append(f"HELD by {status['held_by']}")
    lines = [" · ".join(parts)]
    last = status.get("last_decision")
    if last:
        reasons = [r for r in last.get("reasons") or [] if r]
        lines.append(f"last decision: {last.get('action')}" + (f" — {reasons[-1]}" if reasons else ""))
    else:
        lines.append("last decision: none yet")
    lines.append(f"pid {status.get('pid')} · journal {status.get('journal')} (record {status.get('seq')})")
    return "\n".join(lines)
