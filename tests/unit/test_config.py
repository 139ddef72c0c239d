"""cockpit.toml: defaults, merging over the playbook, and one-line errors naming file and key."""

from pathlib import Path

import pytest

from cockpit.config import ConfigError, load_config, merge_tables


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cockpit.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "cockpit.toml") + ": ")
    return message.split(": ", 1)[1]


def test_default_playbook_has_the_seed_checks():
    config = load_config(None)
    # the seed's 10, and the signals probe (whether each signal and trigger can be judged at all)
    assert len(config.enabled_checks("preflight")) == 11
    assert config.enabled_checks("preflight")[-1].kind == "signals_probe"
    assert len(config.enabled_checks("redteam")) == 15
    assert len(config.enabled_checks("gonogo")) == 10
    assert [s.weight for s in config.canary.stages] == [1, 5, 25, 50, 100]


def test_user_file_overrides_one_check_without_copying_the_playbook(tmp_path):
    config = load_config(write(tmp_path, '[[checks]]\nid = "preflight.pg_bloat"\nmax = 5\n'))
    bloat = next(c for c in config.checks if c.id == "preflight.pg_bloat")
    assert bloat.max == 5 and bloat.kind == "sql" and "n_dead_tup" in bloat.query
    assert len(config.checks) == len(load_config(None).checks)


def test_merge_tables_merges_arrays_of_tables_by_id():
    base = {"checks": [{"id": "a", "x": 1, "y": 2}], "t": {"k": 1, "n": {"m": 1}}}
    over = {"checks": [{"id": "a", "x": 9}, {"id": "b", "x": 3}], "t": {"n": {"o": 2}}}
    assert merge_tables(base, over) == {
        "checks": [{"id": "a", "x": 9, "y": 2}, {"id": "b", "x": 3}],
        "t": {"k": 1, "n": {"m": 1, "o": 2}},
    }


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[prometheus]\nurl = "http://p:9090"\ntimeout = "abc"\n', "prometheus.timeout: 'abc' is not a duration"),
        ('[postgres]\ndsnn = "x"\n', "postgres.dsnn: unknown key"),
        ('[[checks]]\nid = "preflight.sequences"\nmax = "lots"\n', "checks[preflight.sequences].max: Input should be a valid number"),
        ('[canary]\nstages = [{weight = 5, hold = "1m"}, {weight = 1, hold = "1m"}]\n', "canary.stages: stage weights must strictly increase"),
        ("[postgres\n", "TOML syntax error"),
        ('[[checks]]\nid = "new.one"\nphase = "preflight"\nkind = "sql"\ntitle = "x"\n', "checks[new.one].query: required value is missing"),
        ('[[checks]]\nid = "new.one"\nphase = "preflight"\nkind = "bogus"\ntitle = "x"\n', "checks[new.one].kind: 'bogus' is not a known kind"),
        ('[prometheus]\nurl = "ftp://x"\n', "prometheus.url: must be an http:// or https:// URL"),
        ('[signals.p95_custom]\nquery = "up"\n', "signals.p95_custom: a signal needs a limit"),
        ('[traffic]\nset_weight = []\n', "traffic.set_weight: must be a non-empty argument list"),
    ],
)
def test_bad_config_is_one_line_naming_the_key(tmp_path, text, expected):
    assert error_of(tmp_path, text).startswith(expected)


def test_environment_references_fill_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("COCKPIT_TEST_PW", "s3cret-pw")
    config = load_config(write(tmp_path, '[postgres]\ndsn = "postgresql://u:${COCKPIT_TEST_PW}@h/db"\n'))
    assert config.postgres.dsn.get_secret_value() == "postgresql://u:s3cret-pw@h/db"
    assert "s3cret-pw" not in repr(config) and "s3cret-pw" not in str(config.postgres)
    assert config.redactor().scrub("failed for s3cret-pw") == "failed for ***"


def test_missing_environment_variable_names_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("COCKPIT_NOPE", raising=False)
    assert error_of(tmp_path, '[service]\ncanary_url = "https://${COCKPIT_NOPE}/"\n') == (
        "service.canary_url: environment variable COCKPIT_NOPE is not set"
    )
    # A secret's variable is needed only by the command that connects with it: reading it is the error.
    path = tmp_path / "secret.toml"
    path.write_text('[postgres]\ndsn = "postgresql://u:${COCKPIT_NOPE}@h/db"\n')
    config = load_config(path)
    with pytest.raises(ConfigError) as info:
        config.postgres.dsn.get_secret_value()
    assert str(info.value) == f"{path}: postgres.dsn: environment variable COCKPIT_NOPE is not set"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
