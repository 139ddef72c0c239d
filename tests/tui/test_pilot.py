"""The cockpit driven by keyboard through Pilot: checklists, ticks, GO, the rollback modal, read-only, notes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message

from cockpit.app.messages import CheckFinished, ControlReplied, SealDone, TickFailed, TickRecorded, WorkFailed
from cockpit.checks.specs import FilesSpec, ManualSpec
from cockpit.config import RoleConfig
from cockpit.run.control import ControlServer
from tests.tui_fixtures import VERSION, canary_events, cockpit_config, journal_of, make_app, wait_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def small_config(tmp_path: Path) -> Any:
    """Two preflight file checks (one optional and failing), two manual GO items, nothing needing a service."""
    base = tmp_path / "release"
    base.mkdir()
    (base / "release.txt").write_text("v1.4.0 notes\n")
    checks = [
        FilesSpec(id="pre.files", title="Release notes present", phase="preflight", kind="files", base_dir=str(base),
                  paths=["release.txt"]),
        FilesSpec(id="pre.missing", title="SBOM present", phase="preflight", kind="files", base_dir=str(base),
                  paths=["sbom.json"], required=False),
        ManualSpec(id="go.oncall", title="On-call staffed", phase="gonogo", kind="manual", prompt="Both on-calls ack'd"),
        ManualSpec(id="go.ic", title="IC says GO", phase="gonogo", kind="manual"),
    ]
    return cockpit_config(checks=checks, roles=[RoleConfig(id="security", title="Security")])


class Recorder:
    """A real control socket (the canary's server class) that records what the cockpit sends."""

    def __init__(self, run_dir: Path) -> None:
        self.requests: list[dict[str, Any]] = []
        self.server = ControlServer(run_dir / "control.sock", self._handle)

    async def _handle(self, request: dict[str, Any], peer: Any) -> dict[str, Any]:
        self.requests.append(request)
        return {"ok": True, "message": f"{request['command']} recorded"}


@pytest.fixture
async def control(tmp_path: Path):
    recorder = Recorder(tmp_path / "ev" / VERSION)
    await recorder.server.start()
    try:
        yield recorder
    finally:
        await recorder.server.close()


def posted(messages: list[Message], kind: type[Message]) -> list[Any]:
    """The messages of one kind the app handled (captured with run_test's message_hook)."""
    return [m for m in messages if isinstance(m, kind)]


def status_info(app: Any) -> str:
    from cockpit.widgets.status_bar import StatusBar

    return app.screen.query_one(StatusBar).info


async def test_walk_a_checklist_by_keyboard_and_run_a_check(tmp_path: Path) -> None:
    from cockpit.screens.checklist import ChecklistScreen
    from cockpit.screens.detail import DetailScreen
    from cockpit.widgets.checklist_table import ChecklistTable

    app = make_app(tmp_path / "ev", config=small_config(tmp_path))
    messages: list[Message] = []
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await pilot.press("2")
        assert isinstance(app.screen, ChecklistScreen) and app.screen.key == "preflight"
        table = app.screen.query_one(ChecklistTable)
        assert table.current_id == "pre.files"
        await pilot.press("j")
        assert table.current_id == "pre.missing"
        await pilot.press("k")
        assert table.current_id == "pre.files"
        await pilot.press("down", "up")
        assert table.current_id == "pre.files"

        await pilot.press("enter")  # runs the check in a worker
        checklist = app.checklists["preflight"]
        await wait_for(pilot, lambda: checklist.item("pre.files").result is not None, what="the files check")
        item = checklist.item("pre.files")
        assert item.word == "PASS" and item.green and item.result.summary == "1/1 present"
        assert str(table.get_cell("pre.files", "status")) == "✔ PASS"
        evidence = tmp_path / "ev" / VERSION / f"files_pre.files_{VERSION}.txt"
        assert evidence.exists() and "PRESENT" in evidence.read_text()

        await pilot.press("enter")  # a result opens its detail, with the evidence file names
        assert isinstance(app.screen, DetailScreen)
        assert any(f"files_pre.files_{VERSION}.txt" in line for line in app.screen.lines)
        await pilot.press("escape")
        assert isinstance(app.screen, ChecklistScreen)

        await pilot.press("j", "r")  # re-run on the optional, failing item
        await wait_for(pilot, lambda: checklist.item("pre.missing").result is not None, what="the second check")
        assert checklist.item("pre.missing").word == "FAIL"
        assert str(table.get_cell("pre.missing", "status")) == "▲ FAIL"
        assert checklist.counts() == (1, 1)  # the optional failure does not count against GO
        finished = posted(messages, CheckFinished)
        assert [(m.key, m.check_id, m.result.status.value) for m in finished] == [
            ("preflight", "pre.files", "PASS"), ("preflight", "pre.missing", "FAIL")]
        summary = tmp_path / "ev" / VERSION / "preflight.txt"
        await wait_for(pilot, summary.exists, what="preflight.txt")
        assert "FAIL" in summary.read_text() and "pre.files" in summary.read_text()


async def test_tick_a_manual_item_with_initials_and_a_note(tmp_path: Path) -> None:
    from cockpit.screens.checklist import ChecklistScreen
    from cockpit.screens.tick import TickScreen

    app = make_app(tmp_path / "ev", config=small_config(tmp_path))
    messages: list[Message] = []
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await pilot.press("4", "space")
        assert isinstance(app.screen, TickScreen)
        await pilot.press("a", "1", "enter")  # one letter (the digit is refused as typed)
        assert isinstance(app.screen, TickScreen)
        assert "2 to 4 letters" in str(app.screen.query_one("#tick-error").render())
        await pilot.press("b", "tab", *"both acked", "enter")
        assert isinstance(app.screen, ChecklistScreen)
        item = app.checklists["gonogo"].item("go.oncall")
        await wait_for(pilot, lambda: item.result is not None and item.result.status.value == "PASS",
                       what="the manual check reading the tick back")
        assert item.green and item.word == "TICKED" and item.tick.initials == "AB" and item.tick.note == "both acked"
        [recorded] = posted(messages, TickRecorded)
        assert (recorded.key, recorded.check_id, recorded.tick.initials) == ("gonogo", "go.oncall", "AB")
        lines = (tmp_path / "ev" / VERSION / "ticks.jsonl").read_text().splitlines()
        assert json.loads(lines[-1])["id"] == "go.oncall" and json.loads(lines[-1])["initials"] == "AB"
        await pilot.press("escape")  # nothing open: esc on a checklist is harmless
        await pilot.press("j", "space", "escape")  # a cancelled tick records nothing
        assert app.checklists["gonogo"].item("go.ic").tick is None


async def test_go_is_possible_only_when_every_required_item_is_green_then_seals(tmp_path: Path) -> None:
    from cockpit.screens.confirm import ConfirmScreen
    from cockpit.screens.ritual import RitualScreen
    from cockpit.screens.signoff import SignoffScreen
    from cockpit.widgets.gate_summary import GateSummary
    from cockpit.widgets.signoffs import SignoffSummary

    app = make_app(tmp_path / "ev", config=small_config(tmp_path))
    messages: list[Message] = []
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await wait_for(pilot, lambda: app.go is not None, what="the GO state")
        await pilot.press("5")
        assert isinstance(app.screen, RitualScreen)
        await pilot.press("g")  # not every item is green: the green button does nothing
        assert isinstance(app.screen, RitualScreen)
        assert "NO GO yet: 5 item(s) missing" in app.screen.query_one(GateSummary)._text
        await pilot.press("t")  # no GO, no T-0
        assert app.can_start_canary().startswith("NO-GO: 5 item(s) missing")

        await pilot.press("2", "enter")
        await wait_for(pilot, lambda: app.checklists["preflight"].item("pre.files").green, what="preflight green")
        for _ in range(2):
            await pilot.press("4", "space", *"ab", "enter")
            await pilot.press("j")
        await wait_for(pilot, lambda: all(i.green for i in app.checklists["gonogo"].items), what="GO/NO-GO ticked")
        await pilot.press("s")  # sign off as Security: NO-GO first, then GO
        assert isinstance(app.screen, SignoffScreen)
        await pilot.press("tab", "down", "space", "tab", *"se", "enter")
        await wait_for(pilot, lambda: "Security signed NO-GO" in " ".join(app.go.missing) if app.go else False,
                       what="the NO-GO in the GO state")
        assert "✖ NO-GO" in app.screen.query_one(SignoffSummary)._text
        await pilot.press("s", "tab", "tab", *"se", "enter")
        await wait_for(pilot, lambda: app.go is not None and app.go.ready_to_seal, what="ready to seal")

        await pilot.press("5", "g")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: posted(messages, SealDone), what="the seal")
        manifest = (tmp_path / "ev" / VERSION / "manifest.sha256").read_text()
        assert f"green_button_{VERSION}.txt" in manifest and "ticks.jsonl" in manifest and "signoffs.jsonl" in manifest
        seal = (tmp_path / "ev" / VERSION / f"green_button_{VERSION}.txt").read_text()
        assert seal.startswith("sealed_by: AB\n")
        [sealed] = posted(messages, SealDone)
        assert len(sealed.files) == len(manifest.splitlines())
        assert f"GO: evidence sealed — {len(sealed.files)} files in manifest.sha256" in status_info(app)
        await wait_for(pilot, lambda: app.go is not None and app.go.go, what="GO")
        assert "GO: SEALED" in app.screen.query_one(GateSummary)._text
        assert not app.can_start_canary().startswith(("NO-GO", "GO first"))  # past the gate (no cockpit.toml here)


async def test_rollback_modal_cancel_wrong_version_then_right_one(tmp_path: Path, control: Recorder) -> None:
    from cockpit.screens.rollback import RollbackConfirmScreen
    from cockpit.screens.warroom import WarRoomScreen

    app = make_app(tmp_path / "ev", events=canary_events())
    messages: list[Message] = []
    async with app.run_test(size=(80, 24), message_hook=messages.append) as pilot:
        await pilot.press("ctrl+r")
        assert isinstance(app.screen, RollbackConfirmScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, WarRoomScreen)
        assert "rollback cancelled" in status_info(app)

        await pilot.press("ctrl+r", *"v1.4.1", "enter")
        assert isinstance(app.screen, RollbackConfirmScreen)  # still asking
        assert "'v1.4.1' is not v1.4.0" in str(app.screen.query_one("#rb-error").render())
        await pilot.press("enter")  # an empty confirmation is no confirmation
        assert isinstance(app.screen, RollbackConfirmScreen)
        await app.workers.wait_for_complete()
        assert control.requests == []

        await pilot.press(*VERSION, "enter")
        assert isinstance(app.screen, WarRoomScreen)
        await wait_for(pilot, lambda: control.requests, what="the rollback request")
        request = control.requests[0]
        assert request["command"] == "rollback" and request["by"] == "AB" and request["reason"]
        assert 0 < request["wait"] < 10  # the run answers within our socket timeout
        await wait_for(pilot, lambda: "rollback accepted" in status_info(app), what="the reply in the status bar")
        [reply] = posted(messages, ControlReplied)
        assert reply.label == "rollback" and reply.reply == {"ok": True, "message": "rollback recorded"}


async def test_stray_keys_on_the_war_room_never_roll_back(tmp_path: Path, control: Recorder) -> None:
    from cockpit.screens.warroom import WarRoomScreen

    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r", "R", "enter", "space", "y", "ctrl+shift+r", "escape", "ctrl+y", "tab", "enter", "r")
        assert isinstance(app.screen, WarRoomScreen)
        await app.workers.wait_for_complete()
        assert control.requests == []
        binding = app.screen.active_bindings["ctrl+r"].binding
        assert binding.action == "app.rollback" and not binding.priority


async def test_read_only_has_no_rollback_key_no_notes_no_ticks(tmp_path: Path) -> None:
    from cockpit.screens.checklist import ChecklistScreen
    from cockpit.screens.warroom import WarRoomScreen
    from cockpit.widgets.note_input import NoteInput
    from cockpit.widgets.status_bar import StatusBar

    run_dir = tmp_path / "ev" / VERSION
    run_dir.mkdir(parents=True)
    (run_dir / "control.sock").write_text("")  # even a socket file there does not give a viewer a rollback key
    app = make_app(tmp_path / "ev", events=canary_events(), mode="attach", config=small_config(tmp_path))
    async with app.run_test(size=(80, 24)) as pilot:
        assert "ctrl+r" not in app.screen.active_bindings and "n" not in app.screen.active_bindings
        assert not app.screen.query_one(StatusBar).rollback_key
        assert app.screen.query_one(StatusBar).mode == "READ-ONLY"
        await pilot.press("ctrl+r", "n")
        assert isinstance(app.screen, WarRoomScreen)
        assert not app.screen.query(NoteInput)  # a viewer has no note field at all
        await pilot.press("4", "space", "r", "a")
        assert isinstance(app.screen, ChecklistScreen)
        assert all(i.tick is None and i.result is None and not i.running for i in app.checklists["gonogo"].items)
        assert "ctrl+r" not in app.screen.active_bindings and "space" not in app.screen.active_bindings


async def test_q_asks_during_a_live_canary_and_quits_at_once_otherwise(tmp_path: Path) -> None:
    from cockpit.screens.confirm import ConfirmScreen
    from cockpit.screens.warroom import WarRoomScreen

    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen) and "keeps running (pid 4242)" in app.screen.body
        await pilot.press("n")
        assert isinstance(app.screen, WarRoomScreen) and app.is_running
        await pilot.press("q", "y")
        await wait_for(pilot, lambda: not app.is_running, what="the exit")

    idle = make_app(tmp_path / "ev2")
    async with idle.run_test(size=(80, 24)) as pilot:
        await pilot.press("q")
        await wait_for(pilot, lambda: not idle.is_running, what="the exit")


async def test_help_palette_and_panes(tmp_path: Path) -> None:
    from textual.command import CommandPalette

    from cockpit.screens.help import HelpScreen

    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "colon")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape")
        for key, mode in (("3", "redteam"), ("5", "ritual"), ("1", "warroom")):
            await pilot.press(key)
            assert app.current_mode == mode


async def test_note_goes_to_the_journal_through_the_control_socket(tmp_path: Path, control: Recorder) -> None:
    from cockpit.widgets.note_input import NoteInput

    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        assert app.screen.query_one(NoteInput).has_class("-open")
        await pilot.press(*"db team joined", "enter")
        await wait_for(pilot, lambda: control.requests, what="the note request")
        assert control.requests[0] == {"command": "note", "text": "db team joined", "by": "AB"}
        assert not app.screen.query_one(NoteInput).has_class("-open")


async def test_the_ics_call_key_asks_go_hold_rollback_and_sends_a_call_not_a_rollback(
        tmp_path: Path, control: Recorder) -> None:
    from cockpit.screens.ic_call import IcCallScreen

    app = make_app(tmp_path / "ev", events=canary_events())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        assert isinstance(app.screen, IcCallScreen)
        await pilot.press("escape")  # cancelled: nothing recorded
        assert not isinstance(app.screen, IcCallScreen)
        await pilot.press("c", "r")
        await wait_for(pilot, lambda: control.requests, what="the call request")
        assert control.requests == [{"command": "note", "call": "ROLLBACK", "by": "AB"}]  # never {"command": "rollback"}


async def test_note_without_a_canary_is_kept_in_the_evidence(tmp_path: Path) -> None:
    app = make_app(tmp_path / "ev")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", *"freeze started", "enter")
        notes = tmp_path / "ev" / VERSION / "warroom_notes.txt"
        await wait_for(pilot, notes.exists, what="warroom_notes.txt")
        assert notes.read_text().rstrip().endswith("AB: freeze started")


async def test_journal_follower_shows_a_run_driven_by_another_process(tmp_path: Path) -> None:
    from cockpit.app.cockpit_app import CockpitApp, TuiOptions
    from cockpit.clock import ManualClock
    from cockpit.widgets.decision_panel import DecisionPanel
    from tests.tui_fixtures import NOW, T0

    journal = journal_of(tmp_path / "ev" / VERSION / "journal.jsonl", canary_events(until=T0 + 600))
    options = TuiOptions(config=cockpit_config(), mode="attach", version=VERSION, evidence_root=tmp_path / "ev",
                         tick_every=None, poll_every=0.02, blink=False)
    app = CockpitApp(options, clock=ManualClock(NOW))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.view.signals.get("p95_latency") is not None, what="the replayed journal")
        assert app.view.stage == 1 and app.view.live
        journal.append("rollback_started", T0 + 601, stage=1, weight=1, decided_at=T0 + 600,
                       reasons=[{"source": "operator", "name": "AB", "message": "manual rollback by AB"}])
        await wait_for(pilot, lambda: app.view.phase == "rolling_back", what="the appended rollback")
        assert "ROLLING BACK" in app.screen.query_one(DecisionPanel)._texts["rollback"]
        journal.close()
        path = tmp_path / "ev" / VERSION / "journal.jsonl"
        edited = path.with_name("edited.jsonl")  # an editor's save: a new file renamed over the journal
        edited.write_text(path.read_text().replace("manual rollback by AB", "manual rollback by ZZ"))
        edited.replace(path)
        await wait_for(pilot, lambda: app.chain_error is not None, what="the broken chain")
        assert "JOURNAL CHAIN BROKEN" in status_info(app)


async def test_a_failing_worker_becomes_a_visible_status(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the evidence folder should be")
    app = make_app(blocker, config=small_config(tmp_path))
    messages: list[Message] = []
    async with app.run_test(size=(100, 30), message_hook=messages.append) as pilot:
        await pilot.press("4", "space", *"ab", "enter")
        await wait_for(pilot, lambda: "tick NOT recorded" in status_info(app), what="the failure in the status bar")
        [failed] = posted(messages, TickFailed)
        assert status_info(app).startswith(failed.line) and isinstance(failed.error, OSError)
        assert not posted(messages, TickRecorded)
        assert app.checklists["gonogo"].item("go.oncall").tick is None

        # A worker that does not catch its own error (a note for the evidence): the same one handler shows it.
        await pilot.press("1", "n", *"freeze started", "enter")
        await wait_for(pilot, lambda: "note failed" in status_info(app), what="the note's failure")
        # reading ticks.jsonl (and the GO state) there failed too, at start-up: every failure was said
        assert sorted(m.what for m in posted(messages, WorkFailed)) == ["go-load", "note", "tick", "ticks-load"]


async def test_t0_starts_the_canary_with_the_runners_command_and_shows_its_answer(tmp_path: Path) -> None:
    """After the seal, `t` runs `cockpit canary VERSION --detach` for real; without [prometheus] it refuses (exit 2)."""
    from cockpit.app.cockpit_app import CockpitApp, TuiOptions
    from cockpit.clock import ManualClock
    from cockpit.screens.confirm import ConfirmScreen
    from tests.tui_fixtures import NOW

    config_path = tmp_path / "cockpit.toml"
    config_path.write_text('[evidence]\ndir = "ev"\n')
    options = TuiOptions(config=cockpit_config(), mode="live", version=VERSION, config_path=config_path,
                         evidence_root=tmp_path / "ev", follow_journal=False, tick_every=None, blink=False)
    app = CockpitApp(options, clock=ManualClock(NOW))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("5", "t")
        assert not isinstance(app.screen, ConfirmScreen)  # no T-0 before GO
        from cockpit.engine.go import GoState

        app.go = GoState(VERSION, ())  # GO itself: the test above; here, what the runner answers (it asks GO too)
        app.refresh_screens()
        await pilot.press("t")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: "canary did NOT start (exit 2)" in status_info(app), timeout=60,
                       what="the runner's answer")
        assert "prometheus" in status_info(app)


async def test_a_frame_drawn_for_new_data_restarts_the_clock(tmp_path: Path) -> None:
    """Samples about as often as the clock ticks share its frame: the tick comes a period (and a bit) after the data."""
    import asyncio

    app = make_app(tmp_path / "ev", events=canary_events())
    app.options.tick_every = 0.5
    async with app.run_test(size=(100, 30)):
        ticks = 0
        tick = app._clock_tick

        def counted() -> None:
            nonlocal ticks
            ticks += 1
            tick()

        app._clock_tick = counted  # type: ignore[method-assign]
        # New data every 0.55 s, a little slower than the clock, for 2.2 s: a clock restarted only to its own
        # beat, or a whole period after the data, would tick between most of them (two frames a period).
        for _ in range(4):
            app.feed([])
            await asyncio.sleep(0.55)
        assert ticks == 0
        await asyncio.sleep(0.9)  # no more data: the clock ticks again on its own, every period
        assert 1 <= ticks <= 2


async def test_a_tick_that_was_already_queued_does_not_start_a_second_clock(tmp_path: Path) -> None:
    """A tick queued just before new data arrived runs after the data's frame: still one clock, not two."""
    import asyncio

    app = make_app(tmp_path / "ev", events=canary_events())
    app.options.tick_every = 0.5
    async with app.run_test(size=(100, 30)):
        app.feed([])
        for _ in range(3):  # three such races
            app._clock_tick()
        ticks = 0
        tick = app._clock_tick

        def counted() -> None:
            nonlocal ticks
            ticks += 1
            tick()

        app._clock_tick = counted  # type: ignore[method-assign]
        await asyncio.sleep(1.6)  # one clock ticks 3 times; four chains of ticks would tick some 12 times
        assert 2 <= ticks <= 4
