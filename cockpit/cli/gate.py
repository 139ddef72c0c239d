"""The GO gate from the CLI: `cockpit go` (the state), `signoff` (a role's GO/NO-GO), `accept` (a WARN or
UNKNOWN, with a reason) and `seal` (the green-button ritual).

`cockpit go`: exit 0 GO, 1 NO-GO, 2 bad input. The others: 0 recorded, 2 refused (one line why).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cockpit.cli import UsageError
from cockpit.cli.common import load_required_config, open_evidence
from cockpit.config import ConfigError
from cockpit.release_version import validate_version

EXIT_GO, EXIT_NO_GO = 0, 1
_GROUPS = (("checks", "Checks"), ("gonogo", "GO/NO-GO items"), ("signoff", "Sign-offs"), ("seal", "Seal"))
_SYMBOL = {"PASS": "✔", "SKIPPED": "-", "TICKED": "✔", "GO": "✔", "SEALED": "✔", "ACCEPTED": "≈",
           "NO-GO": "✖", "FAIL": "▲", "UNKNOWN": "?", "WARN": "!"}


def _initials(text: str | None, flag: str = "--by") -> str:
    from cockpit.checks.ticks import validate_initials

    try:
        return validate_initials(text or "")
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}") from None


def _open(args: argparse.Namespace) -> tuple[Any, Any, str]:
    version = validate_version(args.version)
    config, path = load_required_config(args)
    return config, open_evidence(config, path, args, version), version


def go_text(state: Any) -> str:
    """`cockpit go` for a person: the verdict, each group's lines, then one line per missing item."""
    lines = [f"{state.version}: {'GO' if state.go else 'NO-GO'}"]
    for group, title in _GROUPS:
        members = state.group(group)
        if not members:
            continue
        lines.append(f"{title}:")
        for line in members:
            lines.append(f"  {_SYMBOL.get(line.word, '○')} {line.word:<10} {line.label}")
    if state.missing:
        lines.append("Missing:")
        lines += [f"  {m}" for m in state.missing]
    return "\n".join(lines)


def _cmd_go(args: argparse.Namespace) -> int:
    from cockpit.checks.go_loader import load_go

    config, store, _ = _open(args)
    state = load_go(config, store)
    if args.json:
        document = {"version": state.version, "go": state.go, "ready_to_seal": state.ready_to_seal,
                    "missing": state.missing,
                    "items": [{"group": x.group, "id": x.key, "title": x.label, "state": x.word, "ok": x.ok}
                              for x in state.lines]}
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(go_text(state))
    return EXIT_GO if state.go else EXIT_NO_GO


def _cmd_signoff(args: argparse.Namespace) -> int:
    from cockpit.checks.gate_records import record_signoff

    by = _initials(args.by)
    config, store, version = _open(args)
    roles = {r.id: r for r in config.roles}
    role = roles.get(args.role)
    if role is None:
        known = ", ".join(roles) or "none configured ([[roles]] in cockpit.toml)"
        raise ConfigError(f"--role: no role {args.role!r} (roles: {known})")
    key = Path(args.sign) if args.sign else None
    signed = record_signoff(store, role.id, args.go, by, args.note or "", sign_key=key)
    word = "GO" if signed.go else "NO-GO"
    print(f"{'✔' if signed.go else '✖'} {role.title} signed {word} for {version} by {signed.by} at {signed.at}"
          + (f" ({signed.note})" if signed.note else "") + (f", SSH-signed with {key}" if key else ""))
    return 0


def _cmd_accept(args: argparse.Namespace) -> int:
    from cockpit.checks.gate_records import read_phase_results, record_acceptance
    from cockpit.checks.go_loader import ROLLBACK_ID, prove_rollback

    by = _initials(args.by)
    if not (args.reason or "").strip():
        raise UsageError("--reason: say why this result is acceptable (it is recorded)")
    config, store, version = _open(args)
    spec = next((c for c in config.checks if c.id == args.check_id), None)
    if spec is None:
        raise ConfigError(f"no check named {args.check_id!r} (see `cockpit checks`)")
    if spec.kind == "manual":
        raise UsageError(f"{spec.id} is a manual item: tick it (cockpit tick {spec.id} {version} --initials AB)")
    if spec.kind == "computed" and spec.id == ROLLBACK_ID:
        result = prove_rollback(config, version)
    elif spec.kind == "computed":
        raise UsageError(f"{spec.id} is computed from the {spec.source} results: accept those results instead")
    else:
        result = (read_phase_results(store, spec.phase) or {}).get(spec.id)
        if result is None:
            raise UsageError(f"{spec.id} has no recorded result for {version}: cockpit check {spec.id} --version {version}")
    try:
        accepted = record_acceptance(store, spec.id, result, by, args.reason)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(f"≈ {spec.id} {result.status.value} ACCEPTED by {accepted.by} at {accepted.at}: {accepted.reason}")
    return 0


def _cmd_seal(args: argparse.Namespace) -> int:
    from cockpit.checks.evidence_proof import statements
    from cockpit.checks.gate_records import press_green_button
    from cockpit.checks.go_loader import load_go

    by = _initials(args.by)
    if args.reseal and not (args.reason or "").strip():
        raise UsageError("--reseal needs --reason TEXT: why a changed file is sealed again (it is recorded)")
    config, store, version = _open(args)
    state = load_go(config, store)
    if not state.ready_to_seal:
        import sys

        print(f"cockpit: NO-GO: {version} is not ready for the green button:", file=sys.stderr)
        for line in state.missing:
            print(f"  {line}", file=sys.stderr)
        return 2
    key = Path(args.sign) if args.sign else None
    seal = press_green_button(store, by, reseal_reason=args.reason if args.reseal else None,
                              lines=[f"GO/NO-GO: every required item green for {version}"], sign_key=key)
    signed = f", SSH-signed with {key} ({statements(store)[-1]})" if key else ""
    print(f"✔ sealed {len(seal.files)} files for {version} by {seal.by} at {seal.at} "
          f"(green_button_{version}.txt{signed}); T-0 is enabled")
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    p.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")


def _sign(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--sign", metavar="KEY", help=f"SSH-sign {what} with this key (a private key file, or a public "
                   "key file whose private key is in ssh-agent); checked by cockpit evidence verify")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("go", help="the GO state of a release: exit 0 GO, 1 NO-GO (and what is missing)")
    p.add_argument("version", metavar="VERSION")
    p.add_argument("--json", action="store_true", help="one JSON document")
    _common(p)
    p.set_defaults(func=_cmd_go)

    p = subparsers.add_parser("signoff", help="a role signs GO or NO-GO with initials (and a note)")
    p.add_argument("version", metavar="VERSION")
    p.add_argument("--role", required=True, help="the role's id, e.g. security (see [[roles]])")
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--go", dest="go", action="store_true", help="sign GO")
    verdict.add_argument("--no-go", dest="go", action="store_false", help="sign NO-GO (blocks until the role signs again)")
    p.add_argument("--by", required=True, metavar="INITIALS", help="2 to 4 letters, e.g. AB")
    p.add_argument("--note", default="", help="optional note kept with the signature")
    _sign(p, "the sign-off")
    _common(p)
    p.set_defaults(func=_cmd_signoff)

    p = subparsers.add_parser("accept", help="accept a WARN or UNKNOWN result with a reason (ACCEPTED, never PASS)")
    p.add_argument("version", metavar="VERSION")
    p.add_argument("check_id", metavar="CHECK_ID")
    p.add_argument("--by", required=True, metavar="INITIALS", help="2 to 4 letters, e.g. AB")
    p.add_argument("--reason", required=True, help="why this result is acceptable")
    _common(p)
    p.set_defaults(func=_cmd_accept)

    p = subparsers.add_parser("seal", help="the green-button ritual: seal the evidence with your initials (T-2)")
    p.add_argument("version", metavar="VERSION")
    p.add_argument("--by", required=True, metavar="INITIALS", help="2 to 4 letters, e.g. AB")
    p.add_argument("--reseal", action="store_true", help="seal files that changed since they were sealed (needs --reason)")
    p.add_argument("--reason", help="why a changed file is sealed again (recorded in reseals.jsonl)")
    _sign(p, "the sealed manifest and the journal's head hash")
    _common(p)
    p.set_defaults(func=_cmd_seal)
