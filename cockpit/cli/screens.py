"""The screen commands: `cockpit tui`, `cockpit attach` and `cockpit watch` (read-only), `cockpit` alone (the drill).

Textual is imported inside the command functions only, so `cockpit --help`
and the headless commands stay fast. Bad flags and config are one line and
exit 2 before any screen starts.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from cockpit.app.config_aside import ConfigAside
from cockpit.cli import UsageError
from cockpit.config_file import ConfigError, find_config
from cockpit.release_version import validate_version
from cockpit.views.face import ScreenFace

THEMES = ("dark", "light", "contrast", "16")
DRILL_VERSION = "v0.0.0-drill"
DRILL_T0_LEAD = 1800.0  # the drill's screen opens at T-30, the freeze


@contextmanager
def _gc_paused() -> Iterator[bool]:
    """Pause the cyclic GC while a screen starts; True when this paused it (the App resumes it after its first paint).

    Start-up builds ~70k objects that live as long as the screen (Textual, the config, the widgets); the
    collections that walk them on the way cost ~50 ms and free nothing. Restored here in any case.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield paused
    finally:
        if paused:
            gc.enable()


def _screen_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--evidence-dir", metavar="DIR", help="evidence root (default: [evidence] dir)")
    parser.add_argument("--theme", choices=THEMES, help="colour theme (default: [tui] theme, else dark)")
    parser.add_argument("--low-color", action="store_true", help="a theme in the terminal's 16 colours (old terminals, thin links)")
    parser.add_argument("--no-mouse", action="store_true", help="no mouse reporting: saves bytes over SSH")


def _evidence_root(face: ScreenFace, config_path: Path | None, args: argparse.Namespace) -> Path:
    """Where releases' evidence folders live; a relative [evidence] dir is relative to the config file."""
    if getattr(args, "evidence_dir", None):
        return Path(args.evidence_dir)
    root = Path(face.evidence_dir)
    if not root.is_absolute() and config_path is not None:
        root = config_path.parent / root
    return root


def _options(face: ScreenFace, config_path: Path | None, args: argparse.Namespace, mode: str,
             version: str | None, evidence_root: Path | None = None, resume_gc: bool = False) -> Any:
    """TuiOptions for the screen; its config is loaded from `config_path` once the first screen is drawn."""
    from cockpit.app.cockpit_app import TuiOptions
    from cockpit.themes.palette import THEME_NAMES

    t0 = None
    if getattr(args, "t0", None):
        from cockpit.engine.run_of_show import parse_t0

        try:
            t0 = parse_t0(args.t0, time.time())
        except ValueError as exc:
            raise ConfigError(f"--t0: {exc}") from None
    theme = args.theme or face.theme
    return TuiOptions(
        face=face,
        mode=mode,
        version=version,
        config_path=config_path,
        evidence_root=evidence_root or _evidence_root(face, config_path, args),
        t0=t0,
        theme=THEME_NAMES[theme],
        low_color=bool(args.low_color or face.low_color),
        operator=(getattr(args, "by", None) or "").strip(),
        resume_gc=resume_gc,
    )


def _run(options: Any, args: argparse.Namespace) -> int:
    from cockpit.app.cockpit_app import CockpitApp, WatchApp

    app = WatchApp(options) if options.mode == "watch" else CockpitApp(options)
    result = app.run(mouse=not (args.no_mouse or not options.face.mouse))
    if app.config_error is not None:
        raise ConfigError(app.config_error)
    return int(result or 0)


def _validated_aside(path: Path | None, also: Callable[[], object] | None = None) -> ScreenFace:
    """The config's face, validated in a child process while this one imports the screen (Textual)."""
    aside = ConfigAside(path, also)
    import cockpit.app.cockpit_app  # noqa: F401 - the import the child's validation runs beside

    return aside.face()


def _cmd_tui(args: argparse.Namespace) -> int:
    if args.drill is not None:
        return _cmd_drill_screen(args)
    version = validate_version(args.version) if args.version else None
    path = find_config(args.config)
    if path is None:
        from cockpit.config_file import search_order_text

        raise ConfigError(f"no cockpit.toml found: looked at {search_order_text()} (or run `cockpit` alone for the drill)")
    with _gc_paused() as paused:
        return _run(_options(_validated_aside(path), path, args, "live", version, resume_gc=paused), args)


def _cmd_attach(args: argparse.Namespace) -> int:
    return _read_only_screen(args, "attach")


def _cmd_watch(args: argparse.Namespace) -> int:
    return _read_only_screen(args, "watch")


def _read_only_screen(args: argparse.Namespace, mode: str) -> int:
    """`attach` (the war room) or `watch` (the first night): a viewer of the release's journal."""
    version = validate_version(args.version)
    path = find_config(args.config)
    if getattr(args, "from_state", False):
        return _attach_from_state(args, path, mode, version)
    with _gc_paused() as paused:
        options = _options(_validated_aside(path), path, args, mode, version, resume_gc=paused)
        journal = options.journal_path
        if (journal is None or not journal.exists()) and not (args.config or args.evidence_dir):
            # Not named here (another folder, no config): the run registered itself in the user's runtime directory.
            from cockpit.run.live_runs import find_live_run

            run = find_live_run(version, "canary" if mode == "attach" else "first-night")
            if run is not None:
                path = Path(run.config) if run.config else None
                args.evidence_dir = run.evidence_root
                options = _options(_validated_aside(path), path, args, mode, version, resume_gc=paused)
                journal = options.journal_path
        if journal is not None and not journal.exists():
            what = "attach to" if mode == "attach" else "watch"
            raise ConfigError(f"no canary journal for {version} at {journal}: nothing to {what}"
                              " (check --evidence-dir)")
        return _run(options, args)


def _attach_from_state(args: argparse.Namespace, path: Path | None, mode: str, version: str) -> int:
    """`attach --from-state` or `watch --from-state`: the run's journal followed from [state] dsn (LISTEN/NOTIFY) on any host.

    The viewer's copy lives in a temporary folder of its own, removed when the screen closes.
    """
    from cockpit.cli.state import follow_from_state

    if path is None:
        raise ConfigError("--from-state needs a cockpit.toml with [state] dsn (--config FILE)")
    from cockpit.config import load_config

    mirror, root = follow_from_state(load_config(path), version, "attach to" if mode == "attach" else "watch")
    try:
        with _gc_paused() as paused:
            options = _options(_validated_aside(path), path, args, mode, version, evidence_root=root, resume_gc=paused)
            return _run(options, args)
    finally:
        mirror.stop()
        import shutil

        shutil.rmtree(root, ignore_errors=True)


def run_drill_screen(scenario: str | None = None, *, evidence_dir: Path | None = None,
                     stage_seconds: float | None = None, theme: str | None = None, low_color: bool = False,
                     mouse: bool = True) -> int:
    """The drill on the cockpit screen, labelled DRILL: checklists, then T-0 runs `scenario` against the simulator.

    For `cockpit drill SCENARIO` (without --headless) as much as for `cockpit` alone.
    """
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("no terminal for the drill screen; see `cockpit --help` (or `cockpit drill --headless`)")
    with _gc_paused() as paused:
        # An unknown scenario is one line and exit 2, before any screen (checked beside the config).
        face = _validated_aside(None, partial(_load_scenario, scenario))
        root = evidence_dir or Path(tempfile.mkdtemp(prefix="cockpit-drill-"))
        args = argparse.Namespace(theme=theme, low_color=low_color, no_mouse=not mouse, evidence_dir=None, t0=None,
                                  by=None)
        options = _options(face, None, args, "drill", DRILL_VERSION, evidence_root=root, resume_gc=paused)
        options.drill_scenario = scenario
        options.drill_stage_seconds = stage_seconds
        # The rehearsal's run-of-show: T-0 in 30 minutes (the freeze), or sooner when its canary starts.
        options.t0 = time.time() + DRILL_T0_LEAD
        return _run(options, args)


def _load_scenario(scenario: str | None) -> None:
    from cockpit.drill.scenario import load_scenario

    load_scenario(scenario)


def _cmd_drill_screen(args: argparse.Namespace) -> int:
    """`cockpit` alone without ./cockpit.toml (or `cockpit tui --drill`): the drill, against nothing real."""
    return run_drill_screen(
        getattr(args, "drill", None) or None,
        evidence_dir=Path(args.evidence_dir) if getattr(args, "evidence_dir", None) else None,
        stage_seconds=getattr(args, "stage_seconds", None),
        theme=getattr(args, "theme", None),
        low_color=bool(getattr(args, "low_color", False)),
        mouse=not getattr(args, "no_mouse", False),
    )


def _default(args: argparse.Namespace) -> int:
    found = find_config(None)
    if found is not None:
        from cockpit.cli import build_parser

        build_parser().print_help()
        print(f"\n{found} found (`cockpit config path` says why): open the cockpit with `cockpit tui VERSION`",
              file=sys.stderr)
        return 2
    return _cmd_drill_screen(args)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("tui", help="open the cockpit screen on real systems (checklists, canary, rollback key)")
    p.add_argument("version", nargs="?", metavar="VERSION", help="the release (its evidence folder, its canary run)")
    p.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    p.add_argument("--t0", metavar="WHEN", help="planned canary start for the run-of-show: +30m, 14:30 (UTC) or ISO time")
    p.add_argument("--by", metavar="INITIALS", help="your initials, sent with rollback/hold/notes")
    p.add_argument("--drill", nargs="?", const="healthy", metavar="SCENARIO",
                   help="the drill screen instead: T-0 runs SCENARIO against the simulated service (default healthy)")
    p.add_argument("--stage-seconds", type=float, metavar="S", help="with --drill: seconds per stage (default 6)")
    _screen_flags(p)
    p.set_defaults(func=_cmd_tui)

    p = subparsers.add_parser("attach", help="read-only view of a canary run another process drives")
    p.add_argument("version", metavar="VERSION")
    p.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    p.add_argument("--from-state", action="store_true",
                   help="follow the run from [state] dsn's database (any host; LISTEN/NOTIFY), not a local journal")
    _screen_flags(p)
    p.set_defaults(func=_cmd_attach)

    p = subparsers.add_parser(
        "watch", help="the first-night view (read-only): hour N of 24, the closed hours, signals now, stability so far",
        description="Follow VERSION's first night (`cockpit first-night VERSION`, writing the release's evidence "
        "folder on this machine) from its journal: the night's progress and next hourly summary, one row per "
        "closed hour, the golden signals now, the stability so far, and a night rollback if one happened. "
        "Read-only: the night keeps running when this screen closes. With --from-state the night is followed from "
        "[state] dsn's database, on any host.",
    )
    p.add_argument("version", metavar="VERSION")
    p.add_argument("--config", metavar="FILE", help="cockpit.toml (default: ./cockpit.toml)")
    p.add_argument("--from-state", action="store_true",
                   help="follow the night from [state] dsn's database (any host; LISTEN/NOTIFY), not a local journal")
    _screen_flags(p)
    p.set_defaults(func=_cmd_watch)

    # cockpit.cli copies this onto the top parser: `cockpit` alone opens the drill when there is no ./cockpit.toml.
    subparsers.default_func = _default
