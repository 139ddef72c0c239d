"""`cockpit import analysis FILE.yaml`: Argo Rollouts / Flagger analysis templates as `[signals.*]` TOML on stdout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    importer = subparsers.add_parser(
        "import",
        help="bring another tool's canary analysis in: Argo Rollouts AnalysisTemplates, Flagger MetricTemplates",
        description="Turn another tool's canary analysis into cockpit configuration.",
    )
    kinds = importer.add_subparsers(dest="import_kind", metavar="KIND")
    kinds.required = True
    analysis = kinds.add_parser(
        "analysis",
        help="AnalysisTemplate / MetricTemplate (Prometheus provider) YAML → [signals.*] TOML on stdout",
        description="Print [signals.*] tables for each Prometheus metric of an Argo Rollouts AnalysisTemplate "
        "or a Flagger MetricTemplate (with the Canary that sets its thresholdRange), and Flagger's builtin "
        "request-success-rate and request-duration. A metric that does not map is skipped with one line on "
        "stderr (name, condition, why) and the rest imported; exit 2 only when nothing maps.",
    )
    analysis.add_argument("file", metavar="FILE.yaml", help="the template(s), several YAML documents allowed")
    analysis.set_defaults(func=_cmd_analysis)


def _cmd_analysis(args: argparse.Namespace) -> int:
    from cockpit.config import ConfigError, validate_config
    from cockpit.records.analysis_import import read_analysis, to_toml

    imported = read_analysis(Path(args.file))
    text = to_toml(imported)
    import tomllib

    try:  # the tables must load through the cockpit's own validation, or they are not printed
        validate_config(tomllib.loads(text), f"{args.file} (imported)")
    except ConfigError as exc:
        raise ConfigError(f"the imported signals do not validate: {exc}") from None
    for warning in imported.warnings:
        print(f"cockpit: import analysis: {warning}", file=sys.stderr)
    for skipped in imported.skipped:  # one line each: the name, the condition it had, why it does not map
        print(f"cockpit: import analysis: skipped metric {skipped.name!r} ({skipped.condition}): {skipped.why}",
              file=sys.stderr)
    sys.stdout.write(text)
    sys.stdout.flush()
    left = f", skipped {len(imported.skipped)}" if imported.skipped else ""
    print(f"cockpit: import analysis: imported {len(imported.signals)} of {imported.metrics} metrics{left}", file=sys.stderr)
    return 0
