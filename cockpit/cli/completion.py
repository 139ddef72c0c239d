"""`cockpit completion bash|zsh|fish`: a completion script for the shell, generated from the real parser.

shtab reads the parser with every command registered, so this command alone imports
them all; `cockpit COMMAND` still imports only its own module.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

SHELLS = ("bash", "zsh", "fish")


def completion_script(shell: str) -> str:
    """The completion script for `shell`, covering every command and flag."""
    import shtab

    from cockpit.cli import build_parser

    return shtab.complete(build_parser(), shell=shell)


def _cmd_completion(args: argparse.Namespace) -> int:
    sys.stdout.write(completion_script(args.shell))
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "completion", help="print a shell completion script (bash, zsh or fish)",
        description="Print the completion script for SHELL on stdout; save it where your shell loads completions.",
    )
    p.add_argument("shell", choices=SHELLS, metavar="SHELL", help="bash, zsh or fish")
    p.set_defaults(func=_cmd_completion)
