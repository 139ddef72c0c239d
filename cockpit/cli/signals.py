"""`cockpit signals probe`: can every armed signal and trigger be judged on this Prometheus, before any traffic moves?

The same probe the canary runs before its first shift (cockpit.engine.probe) and
preflight runs as `preflight.signals_probe`. Exit codes as the checks': 0 every
one can be judged (dark triggers are a warning), 1 something stops the canary's
start (with --strict, dark triggers too), 3 Prometheus did not answer, 2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from cockpit.cli.common import load_required_config, open_evidence
from cockpit.config import ConfigError
from cockpit.release_version import validate_version


def register(subparsers: Any) -> None:
    signals = subparsers.add_parser(
        "signals",
        help="the golden signals and triggers: `probe` asks Prometheus whether each can be judged",
        description="Work with the golden signals and triggers of the config.",
    )
    actions = signals.add_subparsers(dest="action", metavar="ACTION", required=True)
    probe = actions.add_parser(
        "probe",
        help="evaluate every armed signal once and ask whether each trigger's metrics exist",
        description="Probe every enabled signal (canary and stable track) and trigger's metrics on [prometheus]. "
        "Exit 0 all can be judged, 1 something stops the canary's start, 3 Prometheus did not answer.",
    )
    probe.add_argument("version", metavar="VERSION", nargs="?",
                       help="judge relative limits against this release's baseline (taken by its preflight)")
    probe.add_argument("--strict", action="store_true", help="triggers whose metrics do not exist count as failures")
    probe.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    probe.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")
    probe.add_argument("--json", action="store_true", help="print the report as one JSON document")
    signals.set_defaults(func=_cmd_probe)


def _cmd_probe(args: argparse.Namespace) -> int:
    from cockpit.checks.baseline import load_baseline
    from cockpit.checks.signals_probe import probe_status, report_lines
    from cockpit.engine.probe import probe
    from cockpit.results import exit_code_for
    from cockpit.sources.prometheus import PrometheusSource

    config, path = load_required_config(args)
    if config.prometheus is None:
        raise ConfigError("no [prometheus] configured: there is nothing to probe the signals on")
    version = validate_version(args.version) if args.version else None
    baseline = load_baseline(open_evidence(config, path, args, version)) if version else None
    source = PrometheusSource(config.prometheus, config.redactor())
    try:
        report = asyncio.run(probe(config, source, baseline=baseline, judge_baseline=version is not None,
                                   version=version or "VERSION"))
    finally:
        source.close()
    status = probe_status(report, args.strict)
    code = exit_code_for([status])
    if args.json:
        print(json.dumps({"status": status.value, "exit_code": code, "strict": args.strict, **report.as_dict()},
                         indent=2, ensure_ascii=False))
        return code
    for line in report_lines(report, args.strict):
        print(line, file=sys.stdout)
    print(f"{status.value}: {report.summary(args.strict)} → exit {code}")
    return code
