"""The first night with `[state] dsn` when things go wrong at night, on a real PostgreSQL.

A night's holder dies (SIGKILL) and `cockpit first-night VERSION --standby`, a
second process with its own evidence folder (a second "host"), takes the night
over from the database's journal: its hours go on, none closed twice. A canary
that hands over to its night (`start = "auto"`) while the state database is
away goes on with the records buffered locally and sent when the database
answers again, like a canary mid-run (none lost, one chain).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.run.journal import read_journal, verify_journal
from tests.integration.test_state_takeover import REPO, _canary, _init_schema, _stage_started, _wait, _write_config
from tests.services import Postgres, running, temp_root

HOURS, HOUR_LENGTH = 4, "3s"


@pytest.fixture(scope="module")
def state_dsn(postgres) -> str:
    postgres.psql("CREATE DATABASE cockpit_state_night_standby")
    return postgres.dsn("cockpit_state_night_standby")


def _night(config: Path, version: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "cockpit", "first-night", version, "--config", str(config),
                             "--hours", str(HOURS), "--hour-length", HOUR_LENGTH, "--every", "500ms", *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _events(journal: Path, event: str) -> list[dict]:
    return [r for r in read_journal(journal).records if r["event"] == event]


def test_sigkill_of_the_nights_holder_the_standby_takes_the_night_over_and_its_hours_go_on(
        tmp_path, state_dsn, prometheus, healthy_signals):
    from cockpit.config import StateConfig
    from cockpit.run.state_store import StateStore

    version = "v12.0.0"
    traffic_log = tmp_path / "traffic.log"
    host_a = _write_config(tmp_path / "host-a", prometheus.url, traffic_log, state_dsn, hold="1s")
    host_b = _write_config(tmp_path / "host-b", prometheus.url, traffic_log, state_dsn, hold="1s")
    _init_schema(host_a)
    canary = _canary(host_a, version)
    out, err = canary.communicate(timeout=90)
    assert canary.returncode == 0 and "PROMOTED" in out, out + err
    journal_a = tmp_path / "host-a" / "evidence" / version / "journal.jsonl"
    holder = _night(host_a, version)
    standby = None
    try:
        # The standby only once the night holds the lease (started before, it would take the free lease itself).
        _wait(lambda: _events(journal_a, "first_night_started"), 30, "the holder's night to start")
        standby = _night(host_b, version, "--standby")
        _wait(lambda: _events(journal_a, "hour_closed"), 30, "the holder's hour 00")
        holder.send_signal(signal.SIGKILL)
        killed_at = time.time()
        holder.wait(10)
        out, err = standby.communicate(timeout=90)
    finally:
        for process in (holder, standby):
            if process is not None and process.poll() is None:
                process.kill()
    assert standby.returncode == 0, out + err
    assert f"first night done: STABLE, {HOURS}/{HOURS} hours" in out, out + err
    assert "standby for web/" in err and "the run is held by host" in err, err  # it said whom it waited for
    assert "TAKEN OVER by host" in err and "lease lapsed" in err and "Traceback" not in err, err

    journal_b = tmp_path / "host-b" / "evidence" / version / "journal.jsonl"
    assert verify_journal(journal_b).ok
    records = read_journal(journal_b).records
    held = read_journal(journal_a).records
    assert records[: len(held)] == held  # nothing the holder journaled was lost
    hours = [r for r in records if r["event"] == "hour_closed"]
    assert any(r["backfilled"] for r in hours) and not [r["backfill_errors"] for r in hours if r["backfill_errors"]]
    closed = [r["hour"] for r in hours]
    assert closed == list(range(HOURS))  # every hour once: the holder's hours kept, none closed again
    starts = [r for r in records if r["event"] == "first_night_started"]
    assert [r["resumed"] for r in starts] == [False, True]  # the standby resumed the night, it did not start one
    assert len({(r["hours"], r["hour_length"]) for r in starts}) == 1  # the night's hours go on as they were
    assert sum(r["event"] == "first_night_done" for r in records) == 1 and records[-1]["event"] == "first_night_done"
    taken = [r for r in records if r["event"] == "lease_taken"]
    assert len(taken) == 1 and taken[0]["phase"] == "first_night" and taken[0]["previous_pid"] == holder.pid
    assert taken[0]["token"] == taken[0]["previous_token"] + 1 and taken[0]["pid"] == standby.pid
    assert taken[0]["ts"] - killed_at < 3.0 + 2.0  # within the TTL (3 s) and a poll of it
    assert records.index(taken[0]) == records.index(starts[1]) + 1  # said right after the resumed start
    samples = [r["ts"] for r in records if r["event"] == "sample" and r.get("phase") == "first_night"]
    assert samples == sorted(samples) and len(samples) == len(set(samples))  # no evaluation repeated
    # the hour of the takeover says so in its log; the holder's hourly logs are on the standby's host
    hour = taken[0]["hour"]
    assert "TAKEN OVER by host" in (tmp_path / "host-b" / "evidence" / version / f"hourly_log_{hour:02d}.txt").read_text()
    first = "hourly_log_00.txt"
    assert (tmp_path / "host-b" / "evidence" / version / first).read_bytes() == (
        tmp_path / "host-a" / "evidence" / version / first).read_bytes()
    store = StateStore(StateConfig(dsn=state_dsn, service="web")).connect()
    try:
        assert store.records(version) == records  # the database has the same chain
        lease = store.lease(version)
        assert lease is not None and lease.pid == standby.pid and lease.released
    finally:
        store.close()
    assert not traffic_log.read_text().count("rollback")  # a healthy night moved no traffic


def test_a_nights_standby_without_a_state_database_is_one_line_exit_2(tmp_path, prometheus):
    config = _write_config(tmp_path / "a", prometheus.url, tmp_path / "traffic.log", "postgresql://x@127.0.0.1:1/x")
    text = config.read_text()
    config.write_text(text[: text.index("[state]")] + text[text.index("[canary]"):])
    done = subprocess.run([sys.executable, "-m", "cockpit", "first-night", "v12.1.0", "--standby", "--config",
                           str(config)], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "cockpit: --standby needs [state] dsn: the lease it waits for lives in PostgreSQL"], done.stderr


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
