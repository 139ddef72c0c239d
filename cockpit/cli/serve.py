"""`cockpit serve VERSION`: the read-only attach screen in a browser, for stakeholders (textual-serve).

textual-serve is an optional extra (`pip install -e '.[web]'`): the core stays lean.
It binds to 127.0.0.1 unless --host says otherwise (reach it through an SSH tunnel).
The served command is the attach screen: no rollback key, no ticks. Its page shows
that command line, so it carries only paths and the version, never a secret.
With --from-state it is the screen that fits the run as the state database has
it when serving starts: a first night gets the watch screen (`watch
--from-state`), a canary the attach screen. A canary that goes on into its
night later keeps the attach screen until `cockpit serve` is started again.
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


SCREENS = {"canary": "attach", "first-night": "watch"}  # a run's kind -> its read-only screen


def served_command(version: str, config: Path | None, evidence_dir: str | None, theme: str | None,
                   from_state: bool = False, screen: str = "attach") -> list[str]:
    """The `cockpit attach` (or `watch`) argument list the page runs: absolute paths, the version, flags; never a secret.

    `from_state`: the screen follows the run from [state] dsn (the DSN stays in the config file).
    `screen`: "attach" (the war room) or "watch" (a first night), both read-only.
    """
    if screen not in SCREENS.values():
        raise ValueError(f"not a read-only screen: {screen!r}")
    command = [sys.executable, "-m", "cockpit", screen, version, "--no-mouse"]
    if from_state:
        command.append("--from-state")
    if config is not None:
        command += ["--config", str(config.resolve())]
    if evidence_dir:
        command += ["--evidence-dir", str(Path(evidence_dir).resolve())]
    if theme:
        command += ["--theme", theme]
    return command


def served_screen(config_path: Path, version: str) -> str:
    """The read-only screen for the run in [state] dsn's database: "watch" for a first night, else "attach".

    One line, exit 2, when the database cannot be read or has no such run (the page would only show that error).
    """
    from cockpit.cli.state import connect
    from cockpit.config import load_config

    config = load_config(config_path)
    store = connect(config)
    try:
        store.check_schema()
        kind = store.run_kind(version)
    finally:
        store.close()
    if kind is None:
        service = config.state.service if config.state is not None else "?"
        raise ConfigError(f"no run {service}/{version} in the state database: nothing to serve")
    return SCREENS[kind]


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
    screen = served_screen(config, version) if args.from_state and config is not None else "attach"
    argv = served_command(version, config, args.evidence_dir, args.theme, from_state=args.from_state, screen=screen)
    # textual-serve starts its command through a shell: every argument is quoted, so it runs as this list.
    server = Server(shlex.join(argv), host=args.host, port=args.port, title=f"cockpit {screen} {version} (read-only)")
    what = "watch screen (its first night)" if screen == "watch" else "attach screen"
    print(f"serving the read-only {what} of {version} on http://{args.host}:{args.port}/ "
          f"(from another machine: ssh -L {args.port}:127.0.0.1:{args.port} THIS_HOST)", flush=True)
    server.serve()
    return 0


def register(subparsers: Any) -> None:
    from cockpit.cli.screens import THEMES

    p = subparsers.add_parser(
        "serve", help="the read-only attach screen in a browser (needs the [web] extra)",
        description="Serve `cockpit attach VERSION` to web browsers through textual-serve: read-only, no rollback "
        "key (with --from-state a first night gets `cockpit watch VERSION` instead). Bound to 127.0.0.1 unless "
        "--host says otherwise; reach it through an SSH tunnel.",
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
