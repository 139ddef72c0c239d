"""`cockpit runbook [NAME]`: list the runbooks, or print one (Markdown) for the person at 03:00.

The shipped runbooks (cockpit/playbooks/runbooks) and the team's folder
(`[runbooks] dir`), whose files override by name. Exit 0, or 2 with one line
naming the runbooks there are when NAME is not one of them.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "runbook",
        help="print a runbook (DB restore, rolling back by hand, incident, release notes); none: list them",
        description="Print runbook NAME as Markdown, or list the runbooks (shipped, and the team's [runbooks] dir, "
        "which override by name).",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the runbook to print (none: list them)")
    p.add_argument("--config", metavar="FILE", help="cockpit.toml (its [runbooks] dir); default: see `cockpit config path`")
    p.set_defaults(func=_cmd_runbook)


def _cmd_runbook(args: argparse.Namespace) -> int:
    from cockpit.config import find_config, load_config
    from cockpit.runbooks import load_runbook, runbook_names, runbooks_folder

    path = find_config(args.config)
    folder = runbooks_folder(load_config(path), path) if path is not None else None
    if args.name is None:
        for name in runbook_names(folder):
            book = load_runbook(name, folder)
            where = "" if book.source == "shipped" else f"  ({book.source})"
            print(f"{name:<18} {book.title}{where}")
        return 0
    print(load_runbook(args.name, folder).text, end="")
    return 0
