"""`R`: the runs pane, driven through Pilot against the session's real PostgreSQL (and without one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.config import StateConfig
from cockpit.run.journal import Journal, line_of
from cockpit.run.state_store import StateStore
from tests.services import free_port
from tests.tui_fixtures import cockpit_config, make_app, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PLAN = [{"weight": 1, "hold": 60}, {"weight": 100, "hold": 60}]


@pytest.fixture(scope="module")
def state_dsn(postgres) -> str:
    postgres.psql("CREATE DATABASE cockpit_runs_pane")
    dsn = postgres.dsn("cockpit_runs_pane")
    store = StateStore(StateConfig(dsn=dsn)).connect()
    try:
        store.init_schema()
    finally:
        store.close()
    return dsn


class Controller:
    """A run's controller in miniature: holds the lease and commits chained records, as the canary does."""

    def __init__(self, dsn: str, service: str, version: str, folder: Path) -> None:
        self.store = StateStore(StateConfig(dsn=dsn, service=service, lease_ttl=60)).connect()
        self.version = version
        self.token, _ = self.store.try_acquire(version, f"test:{service}", "bastion-t", 4242)
        assert self.token is not None
        self.journal = Journal(folder / f"{service}-{version}.jsonl")

    def emit(self, event: str, ts: float, **fields: Any) -> None:
        record = self.journal.prepare(event, ts, **fields)
        assert self.token is not None
        self.store.commit(self.version, record, line_of(record).decode().rstrip("\n"), self.token)
        self.journal.write(record)

    def close(self) -> None:
        self.journal.close()
        self.store.close()


def table_of(app: Any) -> Any:
    from cockpit.widgets.runs_table import RunsTable

    return app.screen.query_one(RunsTable)


async def test_the_runs_pane_lists_every_service_and_follows_a_new_record(tmp_path: Path, state_dsn: str) -> None:
    from cockpit.screens.runs import RunsScreen

    web = Controller(state_dsn, "web", "v1.4.0", tmp_path)
    api = Controller(state_dsn, "api", "v2.0.0", tmp_path)
    try:
        for run in (web, api):
            run.emit("run_started", 1000.0, version=run.version, plan=PLAN, pid=4242, drill=False)
            run.emit("stage_started", 1001.0, stage=1, weight=1, hold=60, ends_at=1061.0)
        config = cockpit_config(state=StateConfig(dsn=state_dsn, service="web"))
        app = make_app(tmp_path / "ev", config=config)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("R")
            assert isinstance(app.screen, RunsScreen)
            await wait_for(pilot, lambda: len(table_of(app).rows) == 2, what="both runs read")
            table = table_of(app)
            rows = {cells[0]: (cells, kind) for cells, kind in table.rows}
            assert rows["web"][0][:6] == ("web", "v1.4.0", "1/2", "1%", "—", "LIVE") and rows["web"][1] == "live"
            assert rows["api"][0][6] == "bastion-t pid 4242 (token 1)" and rows["api"][0][7].startswith("renewed ")
            assert table.note.startswith("✔ 2 runs · read ") and table.note_kind == "ok"
            reads = table.note
            # the holder moves on: the pane reads again on the notification, well before its 5 s interval
            web.emit("stage_started", 1061.0, stage=2, weight=100, hold=60, ends_at=1121.0)
            await wait_for(pilot, lambda: {c[0]: c for c, _k in table_of(app).rows}["web"][2] == "2/2", timeout=3,
                           what="stage 2 of web on the pane")
            assert {c[0]: c for c, _k in table_of(app).rows}["web"][3] == "100%"
            assert reads  # (the note's time moves with each read)
            await pilot.press("q")
            assert not isinstance(app.screen, RunsScreen)
    finally:
        web.close()
        api.close()


async def test_the_runs_pane_says_plainly_when_there_is_no_dsn_or_no_database(tmp_path: Path) -> None:
    from cockpit.screens.runs import RunsScreen

    app = make_app(tmp_path / "ev")  # the default config: no [state]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("R")
        assert isinstance(app.screen, RunsScreen)
        await wait_for(pilot, lambda: "no [state] dsn configured" in table_of(app).note, what="the no-dsn note")
        assert table_of(app).rows == [] and table_of(app).note_kind == "unknown"

    closed = f"postgresql://cockpit:s3cr3t-pw@127.0.0.1:{free_port()}/nowhere"
    app = make_app(tmp_path / "ev2", config=cockpit_config(state=StateConfig(dsn=closed)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("R")
        await wait_for(pilot, lambda: "cannot be reached" in table_of(app).note, what="the unreachable note")
        table = table_of(app)
        assert table.note.startswith("? the state database cannot be reached") and table.rows == []
        assert "s3cr3t-pw" not in table.note
        # At 80 columns the reason is wrapped, not clipped: every word of it is on the screen.
        drawn = " ".join(table.render_line(y).text.strip() for y in range(len(table.note_lines(table.size.width))))
        assert " ".join(drawn.split()) == " ".join(table.note.split()), drawn
        await pilot.press("escape")
        assert not isinstance(app.screen, RunsScreen)


async def test_the_runs_stay_marked_stale_while_the_database_is_away_and_come_back_with_it(tmp_path: Path) -> None:
    from tests.services import Postgres, running, temp_root

    with running(Postgres(temp_root("cockpit-pg-runs-pane-"))) as server:
        dsn = server.dsn()
        store = StateStore(StateConfig(dsn=dsn)).connect()
        store.init_schema()
        store.close()
        web = Controller(dsn, "web", "v1.4.0", tmp_path)
        web.emit("run_started", 1000.0, version="v1.4.0", plan=PLAN, pid=4242, drill=False)
        web.close()
        app = make_app(tmp_path / "ev", config=cockpit_config(state=StateConfig(dsn=dsn, timeout=1)))
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("R")
            await wait_for(pilot, lambda: len(table_of(app).rows) == 1, what="the run read")
            server.stop()
            await wait_for(pilot, lambda: table_of(app).note_kind == "stale", timeout=15, what="STALE")
            table = table_of(app)
            assert table.note.startswith("◷ STALE: the runs as of ") and "stopped answering" in table.note
            assert [cells[0] for cells, _kind in table.rows] == ["web"]  # the last runs read stay, marked
            server.start()
            await wait_for(pilot, lambda: table_of(app).note_kind == "ok", timeout=20, what="the database back")
