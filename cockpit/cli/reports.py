"""`cockpit oneliner`, `cockpit rca` and `cockpit report`: the release's written record, from its journal.

All three read <evidence>/<version>/journal.jsonl (and baseline_<v>.json for
figures relative to the baseline); a missing journal or a bad version is one
line and exit 2. The configuration, when there is one, only names things
(which signals are relative to the baseline, their short labels).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from cockpit.cli import UsageError
from cockpit.cli.common import open_evidence
from cockpit.config import CockpitConfig, find_config, load_config
from cockpit.evidence import EvidenceStore
from cockpit.release_version import validate_version


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("version", metavar="VERSION")
    parser.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml, else the built-in playbook)")
    parser.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")


def register(subparsers: Any) -> None:
    oneliner = subparsers.add_parser(
        "oneliner",
        help="the release one-liner from the journal (English or Turkish)",
        description="Build the release one-liner from VERSION's journal, print it and write release_oneliner_<v>.txt.",
    )
    _common(oneliner)
    oneliner.add_argument("--lang", choices=("en", "tr"), default="en", help="language of the line (default en)")
    oneliner.set_defaults(func=_cmd_oneliner)

    rca = subparsers.add_parser(
        "rca",
        help="draft the mini RCA (markdown) from the journal",
        description="Draft mini_rca_<v>.md: timeline, what fired, time to detect and to roll back, evidence; "
        "cause and actions are left for people.",
    )
    _common(rca)
    rca.add_argument("--force", action="store_true", help="redraft over an existing mini_rca_<v>.md (people may have filled it in)")
    rca.set_defaults(func=_cmd_rca)

    report = subparsers.add_parser(
        "report",
        help="the whole release on one page (Rich in the terminal, Markdown with --out)",
        description="Print VERSION's release page: checks, stages, decisions, figures, rollback, first night.",
    )
    _common(report)
    report.add_argument("--out", metavar="FILE.md", help="write the page as Markdown to FILE.md instead of printing it")
    report.set_defaults(func=_cmd_report)


# ---------------------------------------------------------------- shared


class _Release:
    """The release's store, facts and the configuration's names for its signals."""

    def __init__(self, args: argparse.Namespace) -> None:
        from cockpit.records.facts import read_release

        version = validate_version(args.version)
        path = find_config(args.config)
        self.config: CockpitConfig = load_config(path)
        self.store: EvidenceStore = open_evidence(self.config, path, args, version)
        self.facts = read_release(self.store)

    @property
    def relative(self) -> set[str]:
        return {name for name, s in self.config.signals.items() if s.max_vs_baseline is not None}

    @property
    def labels(self) -> dict[str, str]:
        """One-liner labels for signals the seed does not name (the default playbook's are the seed's)."""
        from cockpit.records.reports import ONELINER_LABELS

        return {name: s.short or name for name, s in self.config.signals.items() if name not in ONELINER_LABELS}

    def baseline(self) -> dict[str, float | None] | None:
        """The baseline the run was judged against: journaled with run_started if it is, else baseline_<v>.json."""
        from cockpit.checks.baseline import load_baseline

        return self.facts.run_baseline if self.facts.run_baseline is not None else load_baseline(self.store)

    def gate_records(self) -> dict[str, Any]:
        """Every sign-off and acceptance of the release (its evidence), for the RCA and the release page."""
        from cockpit.checks.gate_records import latest_acceptances, read_signoffs

        return {"signoffs": read_signoffs(self.store), "acceptances": list(latest_acceptances(self.store).values())}

    def oneliner(self, lang: str, baseline: dict[str, float | None] | None) -> str:
        from cockpit.records.reports import release_oneliner

        return release_oneliner(self.facts, lang, baseline=baseline, relative=self.relative, labels=self.labels)


# ---------------------------------------------------------------- commands


def _cmd_oneliner(args: argparse.Namespace) -> int:
    from cockpit.records.reports import oneliner_file

    release = _Release(args)
    line = release.oneliner(args.lang, release.baseline())
    release.store.write_text(oneliner_file(release.store.version), line + "\n")
    print(line)
    return 0


def _cmd_rca(args: argparse.Namespace) -> int:
    from cockpit.records.reports import rca_file, rca_markdown

    release = _Release(args)
    name = rca_file(release.store.version)
    if release.store.path(name).exists() and not args.force:
        raise UsageError(f"{release.store.path(name)} exists (people may have filled it in): pass --force to redraft it")
    files = sorted(set(release.store.files()) | {name})
    release.store.write_text(name, rca_markdown(release.facts, files, **release.gate_records()))
    for override in release.facts.overrides:
        print(f"  STARTED WITHOUT GO by {override.get('by')}: {override.get('reason')}")
    print(f"{release.store.path(name)}: drafted; fill in the cause and the actions")
    for incident in release.facts.incidents:
        from cockpit.format import format_duration

        phase = "first night" if incident.phase == "first_night" else f"stage {incident.stage}"
        print(f"  rollback ({phase}): detected in {format_duration(incident.detect_s, 'measured')}, "
              f"traffic off {format_duration(incident.command_end_s, 'measured')} after the decision")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from cockpit.records.reports import report_markdown

    release = _Release(args)
    store = release.store
    checks: dict[str, str] = {}
    for title, name in (("Preflight", "preflight.txt"), ("Red team", f"redteam_{store.version}.txt")):
        try:
            checks[title] = store.path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    baseline = release.baseline()
    text = report_markdown(
        release.facts,
        oneliner=release.oneliner("en", baseline),
        evidence_files=store.files(),
        checks=checks,
        baseline=baseline,
        **release.gate_records(),
    )
    if args.out:
        out = Path(args.out)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--out {out}: {exc.strerror or exc}") from None
        print(f"{out}: the release page of {store.version} (Markdown)")
        return 0
    from rich.console import Console
    from rich.markdown import Markdown

    Console(file=sys.stdout).print(Markdown(text))
    return 0
