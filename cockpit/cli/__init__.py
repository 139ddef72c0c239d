"""The `cockpit` command: argument parsing and dispatch; each command family lives in its own module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cockpit.errors import EXIT_USAGE, CockpitError

# Each module has register(subparsers) and registers these commands; a command sets `func(args) -> int`.
# `cockpit COMMAND` imports only COMMAND's module: the others import pydantic and the config models
# (~0.25 s), which a screen's start can do without. `cockpit --help` imports them all.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "cockpit.cli.config": ("init", "config"),
    "cockpit.cli.completion": ("completion",),
    "cockpit.cli.checks": ("preflight", "redteam", "blast-radius", "artifacts", "check", "checks",
                               "evidence"),
    "cockpit.cli.canary": ("canary", "ctl"),
    "cockpit.cli.signals": ("signals",),
    "cockpit.cli.ticks": ("tick",),
    "cockpit.cli.gate": ("go", "signoff", "accept", "seal"),
    "cockpit.cli.screens": ("tui", "attach", "watch"),
    "cockpit.cli.serve": ("serve",),
    "cockpit.cli.exports": ("export",),
    "cockpit.cli.imports": ("import",),
    "cockpit.cli.replay": ("replay",),
    "cockpit.cli.drill": ("drill",),
    "cockpit.cli.reports": ("oneliner", "rca", "report"),
    "cockpit.cli.night": ("first-night",),
    "cockpit.cli.runbook": ("runbook",),
    "cockpit.cli.state": ("state", "runs"),
}
DEFAULT_MODULE = "cockpit.cli.screens"  # `cockpit` alone: the drill screen (its register() names it)


class UsageError(CockpitError):
    """Bad input from the user (a flag, an argument): printed as one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default prints usage; one line is enough
        self.exit(EXIT_USAGE, f"cockpit: {message} (see cockpit --help)\n")


def modules_for(argv: Sequence[str]) -> list[str]:
    """The command modules `argv` needs: the one registering its command, else (help, a typo) all of them."""
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    if command is None and not any(arg in ("-h", "--help") for arg in argv):
        return [DEFAULT_MODULE]
    named = [module for module, commands in COMMAND_MODULES.items() if command in commands]
    return named or list(COMMAND_MODULES)


class _VersionAction(argparse.Action):
    """`cockpit --version`: the installed version, looked up only when asked (start-up stays fast)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the cockpit's version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("release-cockpit")
        except PackageNotFoundError:  # run from a source tree without installing
            from cockpit import __version__ as number
        print(f"cockpit {number}")
        parser.exit(0)


def build_parser(modules: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The `cockpit` parser with the commands of `modules` (default: every command)."""
    from cockpit.cli.examples import add_examples

    parser = _Parser(prog="cockpit", description="Release Cockpit: run a canary release from the terminal.")
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    for name in modules if modules is not None else COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    for command, subparser in subparsers.choices.items():
        add_examples(command, subparser)
    # What `cockpit` alone does (the drill screen) is named by a command family's register().
    parser.default_func = getattr(subparsers, "default_func", None)  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `cockpit ARGV`; any CockpitError ends it as one line on stderr and the error's exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(modules_for(argv))
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None and args.command is None:
        func = getattr(parser, "default_func", None)  # `cockpit` alone
    if func is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(func(args))
    except CockpitError as exc:
        print(f"cockpit: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cockpit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
