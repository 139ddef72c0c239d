"""Headless check commands: preflight, redteam, blast-radius, artifacts, check, evidence."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from cockpit.cli import UsageError
from cockpit.cli.common import load_required_config, open_evidence, positive_duration
from cockpit.config import ConfigError
from cockpit.evidence import EvidenceStore
from cockpit.release_version import validate_version
from cockpit.results import STATUS_SYMBOL, CheckResult, Status, exit_code_for, worst_status


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    parser.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")
    parser.add_argument("--json", action="store_true", help="print one JSON document with every result")


def _table(title: str, results: list[CheckResult]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=title, expand=False, show_lines=False, pad_edge=False)
    table.add_column("Status", no_wrap=True)
    table.add_column("Check", overflow="fold", max_width=26)
    table.add_column("Result", overflow="fold")
    table.add_column("Time", justify="right", no_wrap=True)
    styles = {Status.PASS: "green", Status.WARN: "yellow", Status.FAIL: "bold red", Status.UNKNOWN: "magenta", Status.SKIPPED: "dim"}
    for r in results:
        table.add_row(
            f"[{styles[r.status]}]{STATUS_SYMBOL[r.status]} {r.status.value}[/]",
            escape(r.title),  # results quote config ("no [postgres] section"): not Rich markup
            escape(r.summary),
            f"{r.duration_s:.2f}s",
        )
    return table


def render_results(title: str, results: list[CheckResult], as_json: bool, extra: dict[str, Any] | None = None) -> int:
    """Print results as a Rich table or one JSON document; returns the exit code."""
    statuses = [r.status for r in results]
    code = exit_code_for(statuses)
    if as_json:
        document = {
            **(extra or {}),
            "status": worst_status(statuses).value,
            "exit_code": code,
            "counts": {s.value: statuses.count(s) for s in Status},
            "results": [r.model_dump(mode="json") for r in results],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return code
    from rich.console import Console

    console = Console(width=min(Console().width, 100) if sys.stdout.isatty() else 80)
    console.print(_table(title, results))
    counts = ", ".join(f"{statuses.count(s)} {s.value}" for s in Status if statuses.count(s))
    console.print(f"{title}: {counts or 'no checks'} → exit {code}")
    return code


class RunDisplay:
    """What the CLI shows while checks run: each check as it finishes, a long check's progress.

    On a terminal the progress is one Rich live line that rewrites itself; piped,
    it is plain lines. With --json they go to stderr, so stdout stays one document.
    """

    def __init__(self, as_json: bool, show_results: bool) -> None:
        self.stream = sys.stderr if as_json else sys.stdout
        self.show_results = show_results
        self.live: Any = None

    def __enter__(self) -> RunDisplay:
        if self.stream.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live("", console=Console(file=self.stream), transient=True, refresh_per_second=4)
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.stop()

    def _line(self, text: str) -> None:
        if self.live is not None:
            from rich.text import Text

            self.live.console.print(Text(text))
        else:
            print(text, file=self.stream, flush=True)

    def progress(self, check_id: str, text: str) -> None:
        if self.live is not None:
            from rich.text import Text

            self.live.update(Text(f"{check_id}: {text}"))
        else:
            self._line(f"{check_id}: {text}")

    def result(self, result: CheckResult) -> None:
        if self.show_results:
            line = f"{STATUS_SYMBOL[result.status]} {result.status.value:<7} {result.id} ({result.duration_s:.2f}s) {result.summary}"
            # one line each, as wide as the table after it (the full text is in the table and the evidence)
            width = 80 if self.live is None else self.live.console.width
            self._line(line if len(line) <= width else line[: width - 1] + "…")


def run_phase(args: argparse.Namespace, phase: str, title: str, specs_override: list[Any] | None = None) -> int:
    from cockpit.checks.runner import PHASE_SUMMARY_FILE, CheckContext, run_checks, summary_text

    version = validate_version(args.version)
    config, path = load_required_config(args)
    specs = specs_override if specs_override is not None else config.enabled_checks(phase)
    store = open_evidence(config, path, args, version)
    with RunDisplay(args.json, show_results=len(specs) > 1) as display:
        ctx = CheckContext(config=config, version=version, evidence=store, redactor=config.redactor(),
                           on_progress=display.progress)
        results = asyncio.run(run_checks(specs, ctx, on_result=display.result))
    from cockpit.checks.gate_records import write_phase_results

    write_phase_results(store, phase, results)  # what the GO gate reads (cockpit go)
    summary_name = PHASE_SUMMARY_FILE.get(phase)
    if summary_name:
        store.write_text(summary_name.replace("{version}", version), summary_text(title, version, results))
    return render_results(f"{title} {version}", results, args.json, {"version": version, "phase": phase})


def _cmd_preflight(args: argparse.Namespace) -> int:
    return run_phase(args, "preflight", "Preflight")


def _cmd_redteam(args: argparse.Namespace) -> int:
    return run_phase(args, "redteam", "Red team")


def _cmd_artifacts(args: argparse.Namespace) -> int:
    args.version = args.version or "v0.0.0"
    return run_phase(args, "artifacts", "Artifacts")


def _cmd_blast_radius(args: argparse.Namespace) -> int:
    # The arguments are checked before anything else, so a typo costs nothing.
    validate_version(args.version)
    if not args.url.startswith(("http://", "https://")):
        raise ConfigError(f"URL: {args.url!r} is not an http:// or https:// URL")
    seconds = positive_duration("SECONDS", args.seconds)
    config, _ = load_required_config(args)
    specs = [s for s in config.enabled_checks("blast") if s.kind == "blast_radius"]
    if not specs:
        raise ConfigError("the playbook has no enabled blast_radius check (phase = \"blast\")")
    spec = specs[0].model_copy(update={"url": args.url, "duration": seconds, "timeout": seconds + 30})
    return run_phase(args, "blast", "Blast radius", [spec])


def _cmd_check(args: argparse.Namespace) -> int:
    config, _ = load_required_config(args)
    by_id = {c.id: c for c in config.checks}
    if args.name not in by_id:
        close = [i for i in by_id if args.name in i]
        hint = f" (did you mean {', '.join(close[:3])}?)" if close else " (see `cockpit check --list`)"
        raise ConfigError(f"no check named {args.name!r}{hint}")
    check = by_id[args.name]
    if args.version is None:
        if check.writes_evidence:
            # without one its evidence would land in a made-up release's folder
            raise UsageError(f"{check.id} writes evidence: pass the release with --version (e.g. --version v1.4.0)")
        args.version = "v0.0.0"
    return run_phase(args, check.phase, "Check", [check])


def _cmd_list(args: argparse.Namespace) -> int:
    config, _ = load_required_config(args)
    for check in config.checks:
        flag = "" if check.enabled else "  (disabled)"
        print(f"{check.phase:<10} {check.id:<38} {check.kind:<22} {check.title}{flag}")
    return 0


def _evidence_folder(args: argparse.Namespace, version: str) -> tuple[EvidenceStore, Path | None]:
    """The release's evidence folder and the allowed_signers file: from cockpit.toml, or --evidence-dir alone.

    An auditor with only the folder has no cockpit.toml: --evidence-dir (and --allowed-signers) is all it takes.
    """
    from cockpit.config import find_config, load_config

    path = find_config(getattr(args, "config", None))
    allowed = Path(args.allowed_signers) if getattr(args, "allowed_signers", None) else None
    if path is None:
        if not args.evidence_dir:
            from cockpit.config_file import search_order_text

            raise ConfigError(f"no cockpit.toml found (looked at {search_order_text()}): "
                              "pass --evidence-dir DIR to use a folder without one")
        return EvidenceStore(Path(args.evidence_dir), version), allowed
    config = load_config(path)
    if allowed is None and config.evidence.allowed_signers:
        allowed = Path(config.evidence.allowed_signers)
        if not allowed.is_absolute():
            allowed = path.parent / allowed
    return open_evidence(config, path, args, version), allowed


def _cmd_evidence(args: argparse.Namespace) -> int:
    version = validate_version(args.version)
    store, allowed = _evidence_folder(args, version)
    if args.action == "seal":
        from cockpit.checks.gate_records import seal_folder

        if args.reseal and not (args.reason or "").strip():
            raise UsageError("--reseal needs --reason TEXT: why a changed file is sealed again (it is recorded)")
        key = Path(args.sign) if args.sign else None
        if key is not None:
            from cockpit.ssh_signing import check_key

            check_key(key)
        manifest = seal_folder(store, reseal_reason=args.reason if args.reseal else None, by=args.by or "")
        signed = ""
        if key is not None:
            from cockpit.checks.evidence_proof import sign_seal
            from cockpit.clock import SystemClock, iso_utc

            signed = f", SSH-signed with {key} ({sign_seal(store, key, 'evidence_seal', args.by or '', iso_utc(SystemClock().now()))})"
        print(f"sealed {len(manifest)} files in {store.dir}{signed}")
        return 0
    return _verify(store, version, allowed, args.json)


def _verify(store: EvidenceStore, version: str, allowed: Path | None, as_json: bool) -> int:
    from cockpit.checks.evidence_proof import count_signatures, verify_signatures
    from cockpit.run.journal import JOURNAL_NAME, read_journal

    if not store.dir.is_dir():
        raise ConfigError(f"{store.dir}: no evidence folder for {version}")
    report = store.verify()
    chain = read_journal(store.dir / JOURNAL_NAME)
    proof = verify_signatures(store, allowed) if allowed is not None else None
    unchecked = count_signatures(store) if proof is None else 0
    intact = report.intact and chain.error is None
    ok = intact and (proof is None or proof.holds)
    if as_json:
        document: dict[str, Any] = {
            "version": version, "sealed": report.sealed, "intact": intact, "ok": report.ok,
            "changed": report.changed, "added": report.added, "missing": report.missing,
            "journal": {"seq": chain.last_seq, "head": chain.head, "error": chain.error},
        }
        if proof is not None:
            document["signatures"] = {
                "holds": proof.holds, "problems": proof.problems, "uncovered": proof.uncovered, "unsigned": proof.unsigned,
                "signed": [{"what": i.what, "good": i.check.good, "signer": i.check.principal,
                            "key": i.check.fingerprint, "reason": i.check.reason} for i in proof.signed],
            }
        else:
            document["signatures"] = {"unchecked": unchecked}
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0 if ok else 1
    if not report.sealed:
        print(f"{store.dir}: no manifest: nothing has been sealed for {version}")
    for label, names in (("changed", report.changed), ("added", report.added), ("missing", report.missing)):
        for name in names:
            print(f"{label:<8} {name}")
    if chain.error is not None:
        print(f"broken   {JOURNAL_NAME}: {chain.error}")
    if intact:
        head = f"; journal chain holds to seq {chain.last_seq} (head {chain.head})" if chain.records else ""
        print(f"intact: {len(report.ok)} files match the manifest{head}")
    if proof is None:
        if unchecked:
            print(f"{unchecked} signature(s) not checked: pass --allowed-signers FILE or set [evidence] allowed_signers "
                  "(without them, intact only means the manifest and the chain agree with themselves)")
        return 0 if ok else 1
    for item in proof.signed:
        if item.check.good:
            print(f"signed   {item.what}: by {item.check.signer}")
        else:
            print(f"BAD      {item.what}: {item.check.reason}")
    for what in proof.unsigned:
        print(f"unsigned {what}")
    for problem in proof.problems:
        print(f"FAILED   {problem}")
    for what in proof.uncovered:
        print(f"not covered by a signature: {what}")
    good = sum(item.check.good for item in proof.signed)
    print(f"signatures: {good} good of {len(proof.signed)}; " + ("the signed evidence holds" if proof.holds else "the signed evidence does NOT hold"))
    return 0 if ok else 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("preflight", help="run the preflight checks (T-10)")
    p.add_argument("version")
    _common(p)
    p.set_defaults(func=_cmd_preflight)

    p = subparsers.add_parser("redteam", help="run the red-team checks (T-5)")
    p.add_argument("version")
    _common(p)
    p.set_defaults(func=_cmd_redteam)

    p = subparsers.add_parser("blast-radius", help="send SECONDS of requests to URL; p95 and error rate")
    p.add_argument("url")
    p.add_argument("version")
    p.add_argument("seconds")
    _common(p)
    p.set_defaults(func=_cmd_blast_radius)

    p = subparsers.add_parser("artifacts", help="check the release's required artifacts exist")
    p.add_argument("version", nargs="?", help="release version (for the evidence folder)")
    _common(p)
    p.set_defaults(func=_cmd_artifacts)

    p = subparsers.add_parser("check", help="run one check by its id")
    p.add_argument("name")
    p.add_argument("--version", help="release version (for the evidence folder); needed by checks that write evidence")
    _common(p)
    p.set_defaults(func=_cmd_check)

    p = subparsers.add_parser("checks", help="list the playbook's checks")
    p.add_argument("--config", metavar="FILE")
    p.set_defaults(func=_cmd_list)

    p = subparsers.add_parser("evidence", help="seal or verify a release's evidence folder")
    p.add_argument("action", choices=["verify", "seal"])
    p.add_argument("version")
    p.add_argument("--reseal", action="store_true", help="seal files that changed since they were sealed (needs --reason)")
    p.add_argument("--reason", help="why a changed file is sealed again (recorded in reseals.jsonl)")
    p.add_argument("--by", metavar="INITIALS", default="", help="your initials, recorded with a re-seal (and a signed seal)")
    p.add_argument("--sign", metavar="KEY", help="seal: SSH-sign the manifest and the journal's head hash with this key "
                   "(a private key file, or a public key file whose private key is in ssh-agent)")
    p.add_argument("--allowed-signers", metavar="FILE", help="verify: check every signature against this allowed_signers "
                   "file (default: [evidence] allowed_signers)")
    _common(p)
    p.set_defaults(func=_cmd_evidence)
