"""`cockpit init` (write a commented cockpit.toml and release-artifacts.txt) and `cockpit config path`.

Neither connects to anything nor needs a secret set: they are what a new user runs first.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path
from typing import Any

from cockpit.config_file import ConfigError

# `cockpit init --playbook NAME`: the example config written for each shipped playbook.
EXAMPLES = {"default": "cockpit.example.toml", "red": "cockpit.red.example.toml"}
ARTIFACTS_NAME = "release-artifacts.txt"

ARTIFACTS_TEXT = """\
# release-artifacts.txt — the files a release must have before T-0 (`cockpit artifacts`).
# One path or glob a line, relative to this file's folder; lines starting with # are skipped.
# Uncomment what your release ships and add your own: a list with no entries is UNKNOWN, never PASS.
#
# sbom.cdx.json                                  # the SBOM (CycloneDX), also read by the red-team SBOM checks
# CHANGELOG.md                                   # what changes in this release
# docs/rollback-runbook.md                       # how to roll back by hand if the cockpit cannot
# prisma/migrations/*/migration.sql              # the migrations this release applies
# evidence/v1.4.0/preflight.txt                  # preflight summary (`cockpit preflight v1.4.0`)
# evidence/v1.4.0/baseline_v1.4.0.prom           # the pre-release baseline of the golden signals
# evidence/v1.4.0/micro_blast_v1.4.0.log         # the blast-radius test (`cockpit blast-radius …`)
"""


def _cmd_init(args: argparse.Namespace) -> int:
    from cockpit.evidence import atomic_write_bytes

    target = Path(args.path)
    if target.exists() and not args.force:
        raise ConfigError(f"{target}: already exists (use --force to overwrite)")
    text = resources.files("cockpit.playbooks").joinpath(EXAMPLES[args.playbook]).read_text(encoding="utf-8")
    atomic_write_bytes(target.resolve(), text.encode())
    print(f"wrote {target}: edit the URLs and DSNs, then run `cockpit preflight v1.0.0`")
    artifacts = target.resolve().parent / ARTIFACTS_NAME
    if not artifacts.exists():  # the team's list is never overwritten, not even with --force
        atomic_write_bytes(artifacts, ARTIFACTS_TEXT.encode())
        print(f"wrote {artifacts.name}: uncomment the files your release must ship (`cockpit artifacts`)")
    return 0


def _cmd_config_path(args: argparse.Namespace) -> int:
    from cockpit.config_file import locate_config, search_order_text

    location = locate_config(args.config)
    if location is None:
        raise ConfigError(f"no cockpit.toml found: looked at {search_order_text()}")
    missing = "" if location.path.exists() else " (the file does not exist)"
    print(f"{location.path.resolve()}{missing}")
    print(f"  from {location.reason}; search order: {search_order_text()}")
    return 0 if not missing else 2


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("init", help="write a commented example cockpit.toml and release-artifacts.txt")
    p.add_argument("path", nargs="?", default="cockpit.toml")
    p.add_argument("--force", action="store_true", help="overwrite an existing cockpit.toml")
    p.add_argument("--playbook", choices=tuple(EXAMPLES), default="default",
                   help="default: the seed's release playbook; red: any HTTP service's RED metrics")
    p.set_defaults(func=_cmd_init)

    p = subparsers.add_parser("config", help="where the config comes from: `cockpit config path`")
    p.add_argument("action", choices=["path"], help="path: the config file in use and why")
    p.add_argument("--config", metavar="FILE", help="cockpit.toml (default: see `cockpit config path`)")
    p.set_defaults(func=_cmd_config_path)
