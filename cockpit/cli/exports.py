"""`cockpit export rules` (Prometheus alerting rules + promtool tests) and `cockpit export grafana` (a dashboard)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cockpit.config import CockpitConfig, ConfigError, find_config, load_config


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export",
        help="write the guard for other tools: Prometheus rules (+ promtool tests), a Grafana dashboard",
        description="Export the configured triggers and signal limits so the same guard lives in Prometheus and Grafana.",
    )
    kinds = export.add_subparsers(dest="export_kind", metavar="KIND")
    kinds.required = True

    rules = kinds.add_parser(
        "rules",
        help="the enabled triggers and signal limits as a Prometheus alerting rules file",
        description="Alerting rules: one per enabled trigger, one `<signal>_limit` per signal. "
        "Relative limits need --baseline-version; without it they are left out (named in a comment).",
    )
    _common(rules)
    rules.add_argument("--tests", metavar="FILE", help="also write `promtool test rules` cases for the rules (needs --out FILE)")
    rules.set_defaults(func=_cmd_rules)

    grafana = kinds.add_parser(
        "grafana",
        help="a Grafana dashboard: one panel per golden signal, its limit as a threshold",
        description="A Grafana dashboard JSON (schemaVersion 39) with a ${DS_PROMETHEUS} datasource input.",
    )
    _common(grafana)
    grafana.set_defaults(func=_cmd_grafana)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml, else the built-in playbook)")
    parser.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    parser.add_argument("--baseline-version", metavar="VERSION", help="judge relative limits on this release's baseline_<v>.json")
    parser.add_argument("--evidence-dir", metavar="DIR", help="evidence root for --baseline-version (default: [evidence] dir)")


def _load(args: argparse.Namespace) -> tuple[CockpitConfig, Path | None, dict[str, float | None] | None]:
    from cockpit.cli.common import baseline_of_version

    path = find_config(args.config)
    config = load_config(path)
    return config, path, baseline_of_version(config, path, args)


def _write(target: str | None, text: str) -> None:
    if target is None or target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from cockpit.evidence import atomic_write_bytes

    path = Path(target)
    if path.is_dir():
        raise ConfigError(f"--out {target}: is a directory")
    try:
        atomic_write_bytes(path, text.encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write: {exc.strerror or exc}") from None


def _cmd_rules(args: argparse.Namespace) -> int:
    from cockpit.records.exports import export_rules, relative_path, rule_tests

    if args.tests and (not args.out or args.out == "-"):
        raise ConfigError("--tests needs --out FILE: the tests name the rules file they load")
    if args.tests and args.out and Path(args.tests).resolve() == Path(args.out).resolve():
        raise ConfigError("--tests and --out name the same file")
    config, path, baseline = _load(args)
    export = export_rules(config, baseline, label=path.name if path is not None else "the built-in playbook")
    if not export.rules:
        raise ConfigError(f"{path or 'the configuration'}: no enabled trigger or signal limit to export")
    _write(args.out, export.yaml())
    print(
        f"{args.out or 'stdout'}: {len(export.triggers)} trigger rules, {len(export.signals)} signal limits"
        + (f"; skipped {len(export.skipped)}: " + "; ".join(export.skipped) if export.skipped else ""),
        file=sys.stderr,
    )
    if args.tests:
        rules_ref = relative_path(args.out, str(Path(args.tests).parent))
        tests = rule_tests(config, export, rules_ref, baseline)
        _write(args.tests, tests.yaml())
        print(
            f"{args.tests}: {len(tests.proven)} rules proven to fire on bad series and stay quiet on good ones"
            + (f"; untested {len(tests.untested)}: " + "; ".join(tests.untested) if tests.untested else ""),
            file=sys.stderr,
        )
    return 0


def _cmd_grafana(args: argparse.Namespace) -> int:
    from cockpit.records.exports import grafana_json

    config, _, baseline = _load(args)
    if not config.enabled_signals():
        raise ConfigError("no enabled signals: the dashboard would be empty")
    _write(args.out, grafana_json(config, baseline))
    print(f"{args.out or 'stdout'}: Grafana dashboard with {len(config.enabled_signals())} panels", file=sys.stderr)
    return 0
