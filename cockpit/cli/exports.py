"""`cockpit export rules` (Prometheus alerting rules + promtool tests), `cockpit export grafana` (a dashboard) and
`cockpit export ci` (the release as a GitHub Actions or GitLab CI pipeline)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cockpit.config import CockpitConfig, ConfigError, find_config, load_config


def register(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export",
        help="write the guard for other tools: Prometheus rules (+ promtool tests), a Grafana dashboard, a CI pipeline",
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

    ci = kinds.add_parser(
        "ci",
        help="the release as a CI pipeline: preflight, red team, blast radius, GO, the canary, on their exit codes",
        description="A GitHub Actions workflow (--github) or a GitLab CI pipeline (--gitlab) that runs preflight -> "
        "red team -> blast radius -> cockpit go -> cockpit canary --headless, each on its exit code, and keeps "
        "the evidence folder as an artifact. The config's \"${NAME}\" placeholders become CI secrets.",
    )
    where = ci.add_mutually_exclusive_group(required=True)
    where.add_argument("--github", dest="ci", action="store_const", const="github", help="a GitHub Actions workflow")
    where.add_argument("--gitlab", dest="ci", action="store_const", const="gitlab", help="a .gitlab-ci.yml")
    ci.add_argument("--config", metavar="FILE", help="cockpit.toml (default: the config search order)")
    ci.add_argument("--out", metavar="FILE", help="write here instead of standard output "
                    "(e.g. .github/workflows/canary-release.yml, .gitlab-ci.yml)")
    ci.add_argument("--install", metavar="SPEC", default="release-cockpit",
                    help="what the pipeline pip-installs for the cockpit (default: release-cockpit)")
    ci.set_defaults(func=_cmd_ci)


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


def _cmd_ci(args: argparse.Namespace) -> int:
    import os

    from cockpit.cli.common import load_required_config
    from cockpit.config import find_config
    from cockpit.records.ci_pipeline import github_workflow, gitlab_pipeline, settings_for, stand_ins

    found = find_config(args.config)
    standing: dict[str, str] = {}
    if found is not None:
        try:
            standing = stand_ins(found.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass  # loading the config says what is wrong with it, in one line
    # The pipeline sets the secrets; writing it needs only their names. Unset ones get a stand-in while the
    # config loads in this process (nothing connects), and are removed after.
    unset = [name for name in standing if name not in os.environ]
    os.environ.update({name: standing[name] for name in unset})
    try:
        config, path = load_required_config(args)  # the pipeline runs this config's release: it must exist
    finally:
        for name in unset:
            os.environ.pop(name, None)
    settings = settings_for(config, path, path.read_text(encoding="utf-8"), install=args.install)
    text = github_workflow(settings) if args.ci == "github" else gitlab_pipeline(settings)
    if args.out and args.out != "-":
        try:  # .github/workflows/ is often not there yet
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--out {args.out}: cannot make its folder: {exc.strerror or exc}") from None
    _write(args.out, text)
    what = "GitHub Actions workflow" if args.ci == "github" else "GitLab CI pipeline"
    secrets = f"; secrets it needs: {', '.join(settings.secrets)}" if settings.secrets else ""
    print(f"{args.out or 'stdout'}: {what} for {settings.config_path}{secrets}", file=sys.stderr)
    return 0
