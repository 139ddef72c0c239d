"""The `cockpit` command: argument parsing and dispatch; each command family lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cockpit.config import ConfigError
from cockpit.evidence import EvidenceError
from cockpit.release_version import BadVersion

# Each module has register(subparsers); a command sets `func(args) -> int`.
COMMAND_MODULES = [
    "cockpit.check_commands",
    "cockpit.canary_commands",
    "cockpit.tick_commands",
    "cockpit.tui_commands",
    "cockpit.export_commands",
    "cockpit.replay_commands",
    "cockpit.drill_commands",
    "cockpit.report_commands",
    "cockpit.night_commands",
]

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default prints usage; one line is enough
        self.exit(EXIT_USAGE, f"cockpit: {message} (see cockpit --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="cockpit", description="Release Cockpit: run a canary release from the terminal.")
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a command family not built yet
            raise
        module.register(subparsers)
    # What `cockpit` alone does (the drill screen) is named by a command family's register().
    parser.default_func = getattr(subparsers, "default_func", None)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if args.command is None:
            default = getattr(parser, "default_func", None)
            if default is not None:
                return default(args)
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except (ConfigError, BadVersion, UsageError, EvidenceError) as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
