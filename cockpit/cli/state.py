"""`cockpit state init` (the schema in PostgreSQL), and how `cockpit canary` holds a run with `[state] dsn`.

With `[state]` a canary takes the run's lease before anything else: a second
controller is refused (or, `--standby`, waits and takes the run over when the
holder's lease lapses). The database's journal is copied into the local one
first, so every check that reads the local journal (already finished, GO
decided at the start, the run's start for PagerDuty) reads the run's.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cockpit.cli.common import load_required_config
from cockpit.config import CockpitConfig, ConfigError
from cockpit.evidence import EvidenceStore
from cockpit.run.journal import JOURNAL_NAME, Journal, JournalError

EXIT_STEPPED_DOWN = 4


def register(subparsers: Any) -> None:
    state = subparsers.add_parser(
        "state",
        help="the run state in PostgreSQL ([state] dsn): create its schema",
        description="Run state in PostgreSQL: `cockpit state init` creates the cockpit schema (idempotent).",
    )
    verbs = state.add_subparsers(dest="verb", metavar="VERB", required=True)
    init = verbs.add_parser("init", help="create the cockpit schema in [state] dsn's database (safe to run again)")
    init.add_argument("--config", metavar="FILE", help="cockpit.toml (default: see `cockpit config path`)")
    init.set_defaults(func=_cmd_init)

    runs = subparsers.add_parser(
        "runs",
        help="every live and recent run in the state database ([state] dsn), across services: read-only",
        description="List the runs in [state] dsn's database: service, version, stage, weight, last decision, "
                    "result, holder and lease age. Read-only.",
    )
    runs.add_argument("--config", metavar="FILE", help="cockpit.toml (default: see `cockpit config path`)")
    runs.add_argument("--limit", type=int, default=100, help="at most this many runs, the most recent first (default 100)")
    runs.add_argument("--json", action="store_true", help="one JSON document")
    runs.set_defaults(func=_cmd_runs)


def _cmd_runs(args: argparse.Namespace) -> int:
    import json

    from cockpit.run.state_store import list_runs
    from cockpit.views.runs import NO_RUNS, runs_table

    config, _path = load_required_config(args)
    store = connect(config)
    try:
        store.check_schema()
        rows = list_runs(store, max(1, args.limit))
    finally:
        store.close()
    if args.json:
        print(json.dumps({"runs": [r.as_dict() for r in rows]}, indent=2))
        return 0
    if not rows:
        print(NO_RUNS)
        return 0
    for line in runs_table(rows):
        print(line)
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    config, path = load_required_config(args)
    store = connect(config)
    try:
        store.init_schema()
        store.check_schema()
    finally:
        store.close()
    print(f"cockpit schema ready in the state database (service {config.state.service if config.state else '?'})")
    return 0


def connect(config: CockpitConfig) -> Any:
    """A connected StateStore for [state]; one line and exit 2 when it is missing or unreachable."""
    from cockpit.run.state_store import StateError, StateStore

    if config.state is None:
        raise StateError("no [state] dsn configured: add [state] dsn = \"postgresql://…\" to keep runs in PostgreSQL")
    return StateStore(config.state, config.redactor()).connect()


CANARY_HINT = "command it there, or start this one with --standby to take over when its lease lapses"


def hold_run(config: CockpitConfig, version: str, evidence: EvidenceStore, *, standby: bool,
             what: str = "canary run", hint: str = CANARY_HINT) -> Any:
    """Take the run's lease (or wait for it, standby) and copy the database's journal here: a RunHolding.

    `what` and `hint` say, when another controller holds the run, what was refused and what to do instead.
    """
    from cockpit.run.lease import acquire, hold, wait_for_lease
    from cockpit.run.state_evidence import EvidenceSync, fetch_missing
    from cockpit.run.state_store import StateError

    assert config.state is not None
    store = connect(config)
    try:
        store.check_schema()
        if standby:
            _import_the_run()
            lease = wait_for_lease(store, version, say=_say)
        else:
            lease, current = acquire(store, version)
            if lease is None:
                assert current is not None
                raise StateError(
                    f"the {what} {config.state.service}/{version} is held by {current.who()} (token {current.token}, "
                    f"renewed {current.renewed_ago:.1f}s ago): {hint}")
        holding = hold(config.state, config.redactor(), store, lease, EvidenceSync(evidence, version))
    except BaseException:
        store.close()
        raise
    try:
        copied = copy_journal_here(store.records(version), evidence)
        fetched = fetch_missing(store, version, evidence)
    except BaseException:
        holding.close(release=True)
        raise
    if lease.taken_over:
        assert lease.previous is not None
        _say(f"took the lease of {lease.service}/{version} (token {lease.token}) from {lease.previous.who()}"
             + (f"; {copied} record(s) of its journal copied here" if copied else "")
             + (f"; {len(fetched)} evidence file(s) from the database" if fetched else ""))
    return holding


def follow_from_state(config: CockpitConfig, version: str, what: str = "attach to") -> tuple[Any, Any]:
    """A viewer's copy of the run's journal, caught up now and followed after: (mirror thread, its evidence root).

    `attach --from-state` and `watch --from-state` both read it: the canary and its first night are one journal.
    """
    import tempfile
    from pathlib import Path

    from cockpit.run.state_mirror import JournalMirror

    store = connect(config)  # one line, exit 2, when [state] is missing or the database unreachable
    try:
        store.check_schema()
    finally:
        store.close()
    assert config.state is not None
    root = Path(tempfile.mkdtemp(prefix="cockpit-view-"))
    mirror = JournalMirror(config.state, config.redactor(), version, root / version / JOURNAL_NAME)
    if mirror.sync() == 0:
        mirror.journal.close()
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        raise ConfigError(f"no run {config.state.service}/{version} in the state database: nothing to {what}")
    mirror.start()
    return mirror, root


def _import_the_run() -> None:
    """What a run needs, imported while the standby waits: a takeover does not pay for it (~0.5 s here)."""

    import cockpit.checks.go_loader  # noqa: F401
    import cockpit.engine.decision  # noqa: F401
    import cockpit.engine.signals  # noqa: F401
    import cockpit.engine.triggers  # noqa: F401
    import cockpit.run.canary  # noqa: F401
    import cockpit.run.control  # noqa: F401
    import cockpit.run.first_night  # noqa: F401 (a night's standby)
    import cockpit.run.live_runs  # noqa: F401
    import cockpit.run.notify  # noqa: F401
    import cockpit.run.replicated_journal  # noqa: F401
    import cockpit.sources.prometheus  # noqa: F401 (httpx with it)


def copy_journal_here(remote: list[dict[str, Any]], evidence: EvidenceStore) -> int:
    """Append the database's records the local journal lacks (the same lines); JournalError when they disagree."""
    evidence.dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(evidence.dir / JOURNAL_NAME)
    try:
        local = journal.records
        for index in range(min(len(local), len(remote))):
            if local[index]["hash"] != remote[index]["hash"]:
                raise JournalError(f"{journal.path}: record {index + 1} differs from the state database's copy: "
                                   "the two journals of this run disagree; refusing to continue it")
        missing = remote[len(local):]
        for record in missing:
            journal.write(record)
        return len(missing)
    finally:
        journal.close()


def keep_evidence(holding: Any, evidence: EvidenceStore) -> None:
    """Put the run's evidence files (those in its manifest) and the manifest itself in the database."""
    import socket

    from cockpit.evidence import MANIFEST

    host = socket.gethostname()
    names = dict(evidence.read_manifest())
    manifest_path = evidence.dir / MANIFEST
    for name, digest in sorted(names.items()):
        path = evidence.path(name)
        if path.is_file():
            holding.store.put_evidence(holding.lease.version, name, path.read_bytes(), digest, host)
    if manifest_path.is_file():
        import hashlib

        body = manifest_path.read_bytes()
        holding.store.put_evidence(holding.lease.version, MANIFEST, body, hashlib.sha256(body).hexdigest(), host)


def release_run(holding: Any, evidence: EvidenceStore, *, stepped_down: bool) -> None:
    """At the end: the evidence into the database, the buffer sent, the lease released (unless it was lost)."""
    if not stepped_down:
        try:
            keep_evidence(holding, evidence)
        except Exception as exc:
            _say(f"the evidence files were not stored in the state database: {exc}", loud=True)
    left = holding.close(release=not stepped_down)
    if left:
        _say(left, loud=True)


def stepped_down(version: str, message: str, what: str = "canary") -> int:
    """A controller that lost its lease: it says so and moves no traffic (exit 4)."""
    print(f"cockpit: {what} {version}: STEPPED DOWN: {message}; this controller moves no traffic", file=sys.stderr,
          flush=True)
    return EXIT_STEPPED_DOWN


def _say(text: str, loud: bool = False) -> None:
    import time

    from cockpit.format import format_clock

    print(f"{format_clock(time.time())} {'!! ' if loud else ''}{text}", file=sys.stderr, flush=True)

