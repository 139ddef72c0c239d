"""`cockpit replay`: where the canary would have held or rolled back over a past range of Prometheus data.

Exit codes: 0 no rollback, 1 it would have rolled back, 2 bad input,
3 Prometheus could not be read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from typing import Any

from cockpit.config import CockpitConfig, ConfigError

EXIT_CLEAN, EXIT_ROLLED_BACK = 0, 1
_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-(\d+(\.\d+)?(ms|s|m|h|d))+$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="run the signals, triggers and decision matrix over a past range of Prometheus data",
        description="Replay the live decision code over [--from, --to]: where would the canary have held or rolled "
        "back, and why. Times: ISO-8601 (naive = UTC), 'now', or relative like -2h. "
        "Exit 0 no rollback, 1 it would have rolled back, 2 bad input, 3 Prometheus unreadable.",
    )
    parser.add_argument("--from", dest="start", required=True, metavar="T1", help="start: ISO-8601, 'now' or relative (-2h)")
    parser.add_argument("--to", dest="end", default="now", metavar="T2", help="end (default: now)")
    parser.add_argument("--step", default=None, metavar="DURATION", help="evaluate every (default: [canary] evaluate_every)")
    parser.add_argument("--stages", action="store_true", help="replay the configured stage plan from T1 (default: one long stage)")
    parser.add_argument("--keep-going", action="store_true", help="go on after the first rollback (a live run would stop)")
    parser.add_argument("--baseline-version", metavar="VERSION", help="relative limits use this release's baseline_<v>.json")
    parser.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    parser.add_argument("--evidence-dir", metavar="DIR", help="evidence root for --baseline-version (default: [evidence] dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    # argparse takes "-2h" for an option; let relative times through as values (as it does for "-2").
    # `--from=-2h` works whatever argparse's internals do.
    parser._negative_number_matcher = _NEGATIVE  # type: ignore[attr-defined]
    parser.set_defaults(func=_cmd_replay)


def _range(args: argparse.Namespace, config: CockpitConfig) -> tuple[float, float, float, str | None]:
    from cockpit.durations import parse_duration
    from cockpit.records.replay import parse_time

    now = time.time()
    try:
        start = parse_time(args.start, now)
    except ValueError as exc:
        raise ConfigError(f"--from: {exc}") from None
    try:
        end = parse_time(args.end, now)
    except ValueError as exc:
        raise ConfigError(f"--to: {exc}") from None
    try:
        step = parse_duration(args.step) if args.step is not None else float(config.canary.evaluate_every)
    except ValueError as exc:
        raise ConfigError(f"--step: {exc}") from None
    if step < 1 or step != int(step):
        raise ConfigError(f"--step: {args.step or step}: use whole seconds, at least 1s (Prometheus' range queries take whole seconds)")
    note = None
    if start >= now:
        raise ConfigError("--from: is not in the past")
    if end > now:
        end, note = now, "--to is in the future: replaying up to now"
    if end <= start:
        raise ConfigError("--to must be after --from")
    # Whole seconds: the Prometheus client sends range bounds rounded to the second.
    return float(int(start)), float(int(end)), step, note


def _cmd_replay(args: argparse.Namespace) -> int:
    from cockpit.cli.common import baseline_of_version, load_required_config
    from cockpit.records.replay import replay
    from cockpit.sources.prometheus import PrometheusSource

    config, path = load_required_config(args)
    if config.prometheus is None:
        raise ConfigError(f"{path}: no [prometheus] configured: there is nothing to replay from")
    if not config.enabled_signals() and not any(t.enabled for t in config.triggers):
        raise ConfigError(f"{path}: no enabled signal or trigger to replay")
    start, end, step, note = _range(args, config)
    baseline = baseline_of_version(config, path, args)
    if note:
        print(f"cockpit: {note}", file=sys.stderr)
    source = PrometheusSource(config.prometheus, config.redactor())
    try:
        result = asyncio.run(replay(config, source, start, end, step, stages=args.stages, baseline=baseline, keep_going=args.keep_going))
    finally:
        source.close()
    code = EXIT_ROLLED_BACK if result.rolled_back_at is not None else EXIT_CLEAN
    if args.json:
        print(json.dumps({**result.as_dict(), "exit_code": code}, indent=2, ensure_ascii=False))
    else:
        _print(result, config)
    return code


def _print(result: Any, config: CockpitConfig) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from cockpit.clock import iso_utc
    from cockpit.format import MISSING, format_clock, format_duration, format_value, format_weight

    console = Console(width=min(Console().width, 120) if sys.stdout.isatty() else 100)
    styles = {"rollback": "bold red", "immediate_rollback": "bold red", "hold": "yellow", "proceed": "green"}
    table = Table(title=f"Replay {iso_utc(result.start)} → {iso_utc(result.end)} every {format_duration(result.step)}", pad_edge=False)
    table.add_column("Time (UTC)", no_wrap=True)
    table.add_column("+", justify="right", no_wrap=True)
    table.add_column("Stage", no_wrap=True)
    table.add_column("Would", no_wrap=True)
    table.add_column("Why", overflow="fold")
    for finding in result.findings:
        stage = f"{finding.stage} ({format_weight(finding.weight)})" if finding.weight is not None else MISSING
        acting = [r for r in finding.reasons if r.get("source") != "stage" and not r.get("dry_run")]
        stage_notes = [r for r in finding.reasons if r.get("source") == "stage"]
        why = "; ".join(str(r.get("message", "")) for r in (acting[:3] + stage_notes[-1:]))
        if finding.note:
            why = f"{finding.note}: {why}"
        word = finding.action.replace("_", " ").upper()
        table.add_row(
            format_clock(finding.at),
            f"+{format_duration(finding.at - result.start)}",
            stage,
            f"[{styles.get(finding.action, '')}]{word}[/]",
            escape(why),
        )
    if result.findings:
        console.print(table)
    else:
        console.print(f"Replay {iso_utc(result.start)} → {iso_utc(result.end)}: no hold, no rollback, no stage end in the range")
    signals = Table(title="Signals over the range", pad_edge=False)
    for column in ("Signal", "Limit", "Min", "Max", "States"):
        signals.add_column(column, no_wrap=column != "States")
    for name, summary in result.signals.items():
        unit = config.signals[name].unit if name in config.signals else ""
        states = ", ".join(f"{n} {s}" for s, n in sorted(summary.states.items(), key=lambda i: -i[1]))
        signals.add_row(escape(name), format_value(summary.limit, unit), format_value(summary.low, unit),
                        format_value(summary.high, unit), states)
    if result.signals:
        console.print(signals)
    verdict = {
        "rolled_back": f"would have ROLLED BACK at {iso_utc(result.rolled_back_at) if result.rolled_back_at else MISSING}",
        "promoted": "would have PROMOTED (every stage passed)",
        "passed": "clean to the end of the range",
        "held": "would have HELD (no rollback)",
        "incomplete": "no verdict: the range ended before the stage did",
    }[result.result]
    console.print(
        f"{result.evaluations} evaluations: {verdict}. Prefetched {result.queries} queries "
        f"({result.chunks} range calls, {result.points} points) in {format_duration(result.fetch_seconds, 'measured')}; "
        f"{result.answered} answers from them, {result.fallbacks} fallback instant queries."
    )
    for expr, error in result.prefetch_errors.items():
        console.print(f"[magenta]? could not fetch[/] {escape(expr)}: {escape(error)} (answered as an error: blind)")
