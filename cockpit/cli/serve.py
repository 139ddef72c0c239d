"""`cockpit serve VERSION`: the read-only attach screen in a browser, for stakeholders (textual-serve).

textual-serve is an optional extra (`pip install -e '.[web]'`): the core stays lean.
It binds to 127.0.0.1 unless --host says otherwise (reach it through an SSH tunnel).
The served command is the attach screen: no rollback key, no ticks. Its page shows
that command line, so it carries only paths and the version, never a secret.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from cockpit.config_file import ConfigError, find_config
from cockpit.release_version import validate_version

EXIT_USAGE = 2


def served_command(version: str, config: Path | None, evidence_dir: str | None, theme: str | None,
                   from_state: bool = False) -> list[str]:
    """The `cockpit attach` argument list the page runs: absolute paths, the version, flags; never a secret.

    `from_state`: the attach screen follows the run from [state] dsn (the DSN stays in the config file).
    """
    command = [sys.executable, "-m", "cockpit", "attach", version, "--no-mouse"]
    if from_state:
        command.append("--from-state")
    if config is not None:
        command += ["--config", str(config.resolve())]
    if evidence_dir:
        command += ["--evidence-dir", str(Path(evidence_dir).resolve())]
    if theme:
        command += ["--theme", theme]
    return command


def _cmd_serve(args: argparse.Namespace) -> int:
    version = validate_version(args.version)
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port: {args.port} is not a TCP port (1-65535)")
    try:
        from textual_serve.server import Server
    except ImportError:
        print("cockpit: `cockpit serve` needs textual-serve: pip install 'release-cockpit[web]' "
              "(from a checkout: pip install -e '.[web]')", file=sys.stderr)
        return EXIT_USAGE
    config = find_config(args.config)
    if config is not None and not config.exists():
        raise ConfigError(f"{config}: file not found")
    if args.from_state and config is None:
        raise ConfigError("--from-state needs a cockpit.toml with [state] dsn (--config FILE)")
    argv = served_command(version, config, args.evidence_dir, args.theme, from_state=args.from_state)
    # textual-serve starts its command through a shell: every argument is quoted, so it runs as this list.
    server = Server(shlex.join(argv), host=args.host, port=args.port, title=f"cockpit attach {version} (read-only)")
    print(f"serving the read-only attach screen of {version} on http://{args.host}:{args.port}/ "
          f"(from another machine: ssh -L {args.port}:127.0.0.1:{args.port} THIS_HOST)", flush=True)
    server.serve()
    return 0


def register(subparsers: Any) -> None:
    from cockpit.cli.screens import THEMES

    p = subparsers.add_parser(
        "serve", help="the read-only attach screen in a browser (needs the [web] extra)",
        description="Serve `cockpit attach VERSION` to web browsers through textual-serve: read-only, no rollback "
        "key. Bound to 127.0.0.1 unless --host says otherwise; reach it through an SSH tunnel.",
    )
    p.add_argument("version", metavar="VERSION")
    p.add_argument("--config", metavar="FILE", help="cockpit.toml (default: see `cockpit config path`)")
    p.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: only this machine)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (default 8765)")
    p.add_argument("--theme", choices=THEMES, help="colour theme of the served screen")
    p.add_argument("--from-state", action="store_true",
                   help="serve the run as [state] dsn's database has it (any host), not a local journal")
    p.set_defaults(func=_cmd_serve)
