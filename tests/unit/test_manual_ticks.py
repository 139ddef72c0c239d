"""GO/NO-GO ticks: the append-only store, run_manual, and `cockpit tick` through cli.main()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cockpit import cli
from cockpit.checks.runner import CheckContext, run_check
from cockpit.checks.specs import ManualSpec
from cockpit.checks.ticks import TICKS_FILE, read_ticks, record_tick, validate_initials
from cockpit.clock import ManualClock
from cockpit.config import CockpitConfig
from cockpit.evidence import EvidenceStore
from cockpit.results import Status

VERSION = "v1.4.0"
ONCALL = ManualSpec(id="gonogo.oncall", title="On-call staffed", phase="gonogo", kind="manual", prompt="Primary and secondary on-call confirmed.")


def make_ctx(store: EvidenceStore) -> CheckContext:
    return CheckContext(config=CockpitConfig(), version=VERSION, evidence=store)


@pytest.mark.parametrize("text", ["AB", "abc", "ŞÇAB", " xy "])
def test_valid_initials(text):
    assert validate_initials(text) == text.strip().upper()


@pytest.mark.parametrize("text", ["A", "ABCDE", "A1", "A B", "", "--"])
def test_invalid_initials(text):
    with pytest.raises(ValueError, match="2 to 4 letters"):
        validate_initials(text)


def test_ticks_are_appended_and_the_latest_wins(tmp_path):
    store = EvidenceStore(tmp_path, VERSION)
    clock = ManualClock(1_800_000_000.0)
    record_tick(store, "gonogo.oncall", "ab", "paged\nsecondary", clock=clock)
    clock.advance(60)
    record_tick(store, "gonogo.oncall", "CD", ticked=False, clock=clock)
    record_tick(store, "gonogo.comms", "AB", clock=clock)
    lines = (store.dir / TICKS_FILE).read_text().splitlines()
    assert len(lines) == 3
    assert json.loads(lines[0]) == {"id": "gonogo.oncall", "initials": "AB", "note": "paged secondary",
                                    "at": "2027-01-15T08:00:00.000Z", "ticked": True}
    latest = read_ticks(store).latest()
    assert latest["gonogo.oncall"].ticked is False and latest["gonogo.oncall"].initials == "CD"
    assert latest["gonogo.comms"].ticked is True
    assert store.verify().ok == [TICKS_FILE]  # recorded in the manifest


async def test_run_manual_awaits_then_passes_then_awaits_again(tmp_path):
    store = EvidenceStore(tmp_path, VERSION)
    ctx = make_ctx(store)
    first = await run_check(ONCALL, ctx)
    assert first.status is Status.UNKNOWN and first.summary == "awaiting a human tick"
    assert first.details == ["Primary and secondary on-call confirmed."]

    record_tick(store, ONCALL.id, "AB", "primary: Ayşe", clock=ManualClock(1_800_000_000.0))
    ticked = await run_check(ONCALL, ctx)
    assert ticked.status is Status.PASS
    assert ticked.summary == "ticked by AB at 2027-01-15T08:00:00.000Z"
    assert ticked.details == ["note: primary: Ayşe"]

    record_tick(store, ONCALL.id, "CD", ticked=False)
    unticked = await run_check(ONCALL, ctx)
    assert unticked.status is Status.UNKNOWN and "unticked by CD" in unticked.summary


async def test_run_manual_ignores_a_corrupt_line_and_says_so(tmp_path):
    store = EvidenceStore(tmp_path, VERSION)
    record_tick(store, ONCALL.id, "AB")
    with (store.dir / TICKS_FILE).open("a") as handle:
        handle.write('{"id": "gonogo.oncall", "ticked": tr\n')
    result = await run_check(ONCALL, make_ctx(store))
    assert result.status is Status.PASS
    assert "1 unreadable line(s) in ticks.jsonl ignored" in result.details


def test_a_note_with_a_secret_is_scrubbed(tmp_path):
    store = EvidenceStore(tmp_path, VERSION)
    record_tick(store, ONCALL.id, "AB", "db is postgresql://app:hunter22@db/prod")
    assert "hunter22" not in (store.dir / TICKS_FILE).read_text()


# ---------------------------------------------------------------- cockpit tick


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "cockpit.toml"
    path.write_text('[evidence]\ndir = "evidence"\n')
    return path


def test_cli_tick_and_untick(config_file, capsys):
    code = cli.main(["tick", "gonogo.oncall", VERSION, "--initials", "ab", "--note", "both paged", "--config", str(config_file)])
    assert code == 0
    assert capsys.readouterr().out.startswith("✔ gonogo.oncall ticked by AB at ")
    store = EvidenceStore(config_file.parent / "evidence", VERSION)
    assert read_ticks(store).latest()["gonogo.oncall"].note == "both paged"

    assert cli.main(["tick", "gonogo.oncall", VERSION, "--initials", "AB", "--untick", "--config", str(config_file)]) == 0
    assert read_ticks(store).latest()["gonogo.oncall"].ticked is False


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["gonogo.oncall", VERSION, "--initials", "A1"], "--initials: initials 'A1' must be 2 to 4 letters"),
        (["gonogo.nope", VERSION, "--initials", "AB"], "no check named 'gonogo.nope'"),
        (["preflight.identity", VERSION, "--initials", "AB"], "preflight.identity is a 'identity' check, not a manual one"),
        (["gonogo.oncall", "latest", "--initials", "AB"], "version 'latest' is not a release version"),
    ],
)
def test_cli_tick_bad_input_exits_2_with_one_line(config_file, capsys, argv, message):
    assert cli.main(["tick", *argv, "--config", str(config_file)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (config_file.parent / "evidence" / VERSION / TICKS_FILE).exists()


def test_cli_tick_needs_initials(config_file, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["tick", "gonogo.oncall", VERSION, "--config", str(config_file)])
    assert exit_info.value.code == 2
