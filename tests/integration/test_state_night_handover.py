"""The first night with `[state] dsn` when things go wrong at night, on a real PostgreSQL.

A canary that hands over to its night (`start = "auto"`) while the state
database is away goes on with the records buffered locally and sent when the
database answers again, like a canary mid-run (none lost, one chain).
"""

from __future__ import annotations

import time

from cockpit.run.journal import read_journal, verify_journal
from tests.integration.test_state_takeover import (  # noqa: F401 (the fixture)
    _canary,
    _init_schema,
    _stage_started,
    _wait,
    _write_config,
    healthy_signals,
)
from tests.services import Postgres, running, temp_root


def _night_started(journal) -> bool:
    return any(r["event"] == "first_night_started" for r in read_journal(journal).records)


def test_a_hand_over_to_the_night_while_postgresql_is_away_buffers_and_loses_no_record(
        tmp_path, prometheus, healthy_signals):
    from cockpit.config import StateConfig
    from cockpit.run.journal import check_chain
    from cockpit.run.state_store import StateStore

    version = "v11.0.0"
    traffic_log = tmp_path / "traffic.log"
    with running(Postgres(temp_root("cockpit-pg-handover-"))) as server:
        dsn = server.dsn()
        config = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, dsn, hold="2s")
        config.write_text(config.read_text() + '\n[first_night]\nstart = "auto"\nhours = 3\nhour_length = "2s"\n')
        _init_schema(config)
        journal = tmp_path / "host-a" / "evidence" / version / "journal.jsonl"
        run = _canary(config, version)
        try:
            # Away from the last stage on: the promotion and the hand-over happen while it does not answer.
            _wait(lambda: _stage_started(tmp_path / "host-a", version, 5), 60, "the last stage")
            server.stop()
            _wait(lambda: _night_started(journal), 30, "the night's first record (local)")
            time.sleep(1.0)  # a few of the night's evaluations while the database is away
            server.start()
            out, err = run.communicate(timeout=90)
        finally:
            if run.poll() is None:
                run.kill()
            if run.stdout is not None and not run.stdout.closed:
                print(*run.communicate(timeout=30), sep="\n")  # what it said, in a failure's report
        assert run.returncode == 0, out + err
        assert "first night done: STABLE, 3/3 hours" in out, out + err
        assert "STATE DATABASE AWAY" in err and "every buffered record sent" in err, err
        assert "Traceback" not in err
        assert verify_journal(journal).ok
        local = read_journal(journal).records
        events = [r["event"] for r in local]
        assert events.index("canary_done") < events.index("first_night_started") and events[-1] == "first_night_done"
        started = next(r for r in local if r["event"] == "first_night_started")
        assert started["start"] == "auto"
        store = StateStore(StateConfig(dsn=dsn, service="web")).connect()
        try:
            remote = store.records(version)
            lease = store.lease(version)
        finally:
            store.close()
        assert remote == local and check_chain(remote) is None  # 0 records lost, the chain verifies
        assert lease is not None and lease.token == 1 and lease.released  # one lease, canary and night
