"""What the `cockpit` commands do alike: config and evidence from the arguments, flag values, progress lines, signals.

Bad input raises ConfigError or UsageError: the CLI prints it as one line and exits 2.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from cockpit.cli import UsageError
from cockpit.config import CockpitConfig, ConfigError, find_config, load_config
from cockpit.evidence import EvidenceStore

Say = Callable[[str, bool], None]  # (text, loud)


def load_required_config(args: argparse.Namespace) -> tuple[CockpitConfig, Path]:
    """The config found in search order (--config, $COCKPIT_CONFIG, ./cockpit.toml, user dir); none is a usage error."""
    path = find_config(getattr(args, "config", None))
    if path is None:
        from cockpit.config_file import search_order_text

        raise ConfigError(f"no cockpit.toml found: looked at {search_order_text()}")
    return load_config(path), path


def open_evidence(config: CockpitConfig, config_path: Path | None, args: argparse.Namespace, version: str) -> EvidenceStore:
    """The release's evidence store; a relative [evidence] dir is relative to the config file."""
    if getattr(args, "evidence_dir", None):
        root = Path(args.evidence_dir)
    else:
        root = Path(config.evidence.dir)
        if not root.is_absolute() and config_path is not None:
            root = config_path.parent / root
    return EvidenceStore(root, version, config.redactor())


def baseline_of_version(config: CockpitConfig, config_path: Path | None, args: argparse.Namespace) -> dict[str, float | None] | None:
    """The baseline named by --baseline-version (its baseline_<v>.json), None without the flag; unreadable: ConfigError."""
    if not args.baseline_version:
        return None
    from cockpit.checks.baseline import baseline_file, load_baseline
    from cockpit.release_version import validate_version

    version = validate_version(args.baseline_version)
    store = open_evidence(config, config_path, args, version)
    baseline = load_baseline(store)
    if baseline is None:
        raise ConfigError(f"--baseline-version {version}: no readable {baseline_file(version)} in {store.dir}")
    return baseline


def positive_duration(flag: str, text: str) -> float:
    """A flag's duration ("90s", "1h") in seconds, more than 0; UsageError naming the flag otherwise."""
    from cockpit.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None
    if seconds <= 0:
        raise UsageError(f"{flag}: must be more than 0")
    return seconds


def progress_printer(progress: TextIO) -> Say:
    """Progress lines with the UTC time: plain ones to `progress`, loud ones ("!! ") to stderr."""
    from cockpit.format import format_clock

    def say(text: str, loud: bool = False) -> None:
        stream = sys.stderr if loud else progress
        try:
            print(f"{format_clock(time.time())} {'!! ' if loud else ''}{text}", file=stream, flush=True)
        except (OSError, ValueError):
            pass  # the terminal went away; the journal and the evidence keep the record

    return say


def open_event_sink(events: str | None) -> tuple[Any, TextIO]:
    """--events FILE|-: the JSON-lines sink (None without the flag) and where progress lines go (stderr for "-")."""
    from cockpit.run.sinks import JsonLinesSink

    if events == "-":
        return JsonLinesSink(sys.stdout), sys.stderr
    if events:
        try:
            return JsonLinesSink(open(events, "a", encoding="utf-8"), close=True), sys.stdout
        except OSError as exc:
            raise UsageError(f"--events {events}: {exc.strerror or exc}") from None
    return None, sys.stdout


def cancel_on_signals() -> None:
    """SIGTERM and SIGINT cancel the running task (call it inside it): the run stops where its journal says."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)  # type: ignore[union-attr]
