"""`cockpit tick`: a human ticks (or unticks) a manual GO/NO-GO item, with initials and a note."""

from __future__ import annotations

import argparse
from typing import Any

from cockpit.checks.ticks import record_tick, validate_initials
from cockpit.cli.common import load_required_config, open_evidence
from cockpit.config import ConfigError
from cockpit.release_version import validate_version


def _cmd_tick(args: argparse.Namespace) -> int:
    from cockpit.cli import UsageError

    version = validate_version(args.version)
    try:
        initials = validate_initials(args.initials)
    except ValueError as exc:
        raise UsageError(f"--initials: {exc}") from None
    config, path = load_required_config(args)
    by_id = {c.id: c for c in config.checks}
    spec = by_id.get(args.check_id)
    if spec is None:
        manual = [c.id for c in config.checks if c.kind == "manual"]
        close = [i for i in manual if args.check_id in i]
        hint = f" (did you mean {', '.join(close[:3])}?)" if close else " (see `cockpit checks`)"
        raise ConfigError(f"no check named {args.check_id!r}{hint}")
    if spec.kind == "computed":
        source = {"preflight": "the recorded preflight results (cockpit preflight VERSION)",
                  "redteam": "the recorded red-team results (cockpit redteam VERSION)",
                  "blast": "the recorded blast-radius result (cockpit blast-radius URL VERSION 30)",
                  "rollback": "[traffic] rollback and its read-back (checked by cockpit go VERSION)"}[spec.source]
        raise UsageError(f"{spec.id} is computed from {source}: it cannot be ticked "
                         f"(a WARN or UNKNOWN can be accepted: cockpit accept VERSION CHECK_ID --by AB --reason TEXT)")
    if spec.kind != "manual":
        raise UsageError(f"{spec.id} is a {spec.kind!r} check, not a manual one: only manual checks are ticked by hand")
    store = open_evidence(config, path, args, version)
    tick = record_tick(store, spec.id, initials, args.note or "", ticked=not args.untick)
    verb = "ticked" if tick.ticked else "unticked"
    symbol = "✔" if tick.ticked else "?"
    print(f"{symbol} {spec.id} {verb} by {tick.initials} at {tick.at} ({spec.title})")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("tick", help="tick (or --untick) a manual GO/NO-GO item with your initials")
    p.add_argument("check_id", metavar="CHECK_ID")
    p.add_argument("version", metavar="VERSION")
    p.add_argument("--initials", required=True, help="2 to 4 letters, e.g. AB")
    p.add_argument("--note", default="", help="optional note kept with the tick")
    p.add_argument("--untick", action="store_true", help="withdraw an earlier tick")
    p.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    p.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")
    p.set_defaults(func=_cmd_tick)
