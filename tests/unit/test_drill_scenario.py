"""Drill scenario files: the built-ins parse; a bad file is one line naming the file and the key, exit 2."""

from __future__ import annotations

import pytest

from cockpit.cli import main
from cockpit.config import ConfigError
from cockpit.drill.faults import FAULT_KINDS
from cockpit.drill.scenario import builtin_names, list_scenarios, load_scenario

BUILTIN = {"healthy", "latency_spike", "error_burst", "slow_creep", "eventloop_stall", "gc_pauses", "connection_creep", "no_data",
           "error_risk_guard", "preflight_nogo"}


def test_every_builtin_scenario_parses_and_each_fault_kind_has_one():
    assert set(builtin_names()) == BUILTIN
    scenarios = {s.name: s for s in list_scenarios()}
    assert scenarios["healthy"].faults == []
    kinds = {f.kind for s in scenarios.values() for f in s.faults}
    assert kinds == set(FAULT_KINDS)
    for scenario in scenarios.values():
        assert scenario.description, scenario.name


def test_a_good_file_with_magnitude_and_timing(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'description = "two faults"\nseed = 3\nrps = 50\n'
        '[[faults]]\nkind = "latency_spike"\nat_weight = 5\nlatency_ms = 120\nduration = "20s"\n'
        '[[faults]]\nkind = "error_burst"\nafter = "10s"\nerror_ratio = 0.05\n'
    )
    scenario = load_scenario(str(path))
    assert scenario.name == "mine" and scenario.seed == 3 and scenario.rps == 50
    spike, burst = scenario.faults
    assert (spike.at_weight, spike.duration, spike.magnitude()) == (5, 20.0, {"latency_ms": 120.0})
    assert (burst.after, burst.magnitude()) == (10.0, {"error_ratio": 0.05, "risk_blocks_per_min": 0.0})
    assert scenario.summary() == "latency_spike at 5% for 20s; error_burst after 10s of canary traffic"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[faults]]\nkind = "latency_spike"\nat_weight = 25\nlatency_mss = 300\n', "faults[0].latency_mss: unknown key"),
        ('[[faults]]\nkind = "latency_spike"\nat_weight = 25\nlatency_ms = -1\n', "faults[0].latency_ms: Input should be greater than 0"),
        ('[[faults]]\nkind = "meteor"\nat_weight = 25\n', "faults[0].kind: 'meteor' is not a fault kind"),
        ('[[faults]]\nat_weight = 25\n', "faults[0].kind: kind is missing"),
        ('[[faults]]\nkind = "no_data"\n', "faults[0]: give exactly one of at_weight"),
        ('[[faults]]\nkind = "no_data"\nat_weight = 5\nafter = "3s"\n', "faults[0]: give exactly one of at_weight"),
        ('[[faults]]\nkind = "no_data"\nafter = "soon"\n', "faults[0].after: 'soon' is not a duration"),
        ('rps = 0\n', "rps: Input should be greater than 0"),
        ('colour = "red"\n', "colour: unknown key"),
        ('[[faults]\n', "TOML syntax error"),
    ],
)
def test_a_bad_file_is_one_line_naming_file_and_key(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        load_scenario(str(path))
    text = str(caught.value)
    assert text.startswith(f"{path}: ") and message in text
    assert "\n" not in text


def test_unknown_builtin_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no drill scenario 'nope' \\(built in: connection_creep"):
        load_scenario("nope")
    with pytest.raises(ConfigError, match="missing.toml: file not found"):
        load_scenario(str(tmp_path / "missing.toml"))


def test_cli_bad_scenario_exits_2_with_one_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('[[faults]]\nkind = "gc_pauses"\nat_weight = 25\npause = 60\n')
    assert main(["drill", str(path), "--headless"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"cockpit: {path}: faults[0].pause: unknown key"


def test_cli_list_names_every_scenario(capsys):
    assert main(["drill", "--list"]) == 0
    out = capsys.readouterr().out
    for name in BUILTIN:
        assert f"\n{name} " in f"\n{out}"
    assert "faults: latency_spike at 25%" in out


# ---------------------------------------------------------------- faults before T-0


def test_before_t0_faults_parse_and_read_in_the_summary():
    from cockpit.drill.scenario import load_scenario, parse_scenario

    nogo = load_scenario("preflight_nogo")
    assert nogo.before_t0.missing_headers == ["Strict-Transport-Security"]
    assert nogo.before_t0.failed_migration and nogo.before_t0.sequence_near_end
    assert nogo.summary().startswith("before T-0: no Strict-Transport-Security, a failed migration")
    healthy = parse_scenario({}, "x.toml")
    assert healthy.before_t0.summary() == "" and healthy.summary() == "no faults"


def test_a_bad_before_t0_key_is_one_line_naming_it():
    import pytest

    from cockpit.config import ConfigError
    from cockpit.drill.scenario import parse_scenario

    with pytest.raises(ConfigError) as caught:
        parse_scenario({"before_t0": {"missing_headers": ["X-Frame"]}}, "mine.toml")
    assert str(caught.value).startswith("mine.toml: before_t0.missing_headers")
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        parse_scenario({"before_t0": {"failed_migrations": True}}, "mine.toml")
    assert "before_t0.failed_migrations" in str(caught.value)
