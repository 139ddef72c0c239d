"""`[state]`: the run state in PostgreSQL — its keys, its secret, and the journal pieces a replica relies on."""

from __future__ import annotations

import pytest

from cockpit.config import ConfigError, load_config
from cockpit.run.journal import Journal, JournalError, check_chain, line_of, read_journal


def _load(tmp_path, text):
    path = tmp_path / "cockpit.toml"
    path.write_text(text)
    return load_config(path)


def test_state_is_optional_and_defaults_are_the_documented_ones(tmp_path, monkeypatch):
    assert _load(tmp_path, "").state is None  # files stay the default
    monkeypatch.setenv("COCKPIT_TEST_STATE_PW", "st4te-pw")
    config = _load(tmp_path, '[state]\ndsn = "postgresql://cockpit:${COCKPIT_TEST_STATE_PW}@db/releases"\n')
    assert config.state.service == "default" and config.state.lease_ttl == 15.0
    assert config.state.renew_interval == 5.0  # lease_ttl / 3
    assert "st4te-pw" not in repr(config)
    assert config.redactor().scrub("connect failed: st4te-pw") == "connect failed: ***"


def test_state_secret_may_stay_unset_until_a_command_connects(tmp_path, monkeypatch):
    monkeypatch.delenv("COCKPIT_NOPE", raising=False)
    config = _load(tmp_path, '[state]\ndsn = "postgresql://u:${COCKPIT_NOPE}@h/db"\n')
    with pytest.raises(ConfigError, match="state.dsn: environment variable COCKPIT_NOPE is not set"):
        config.state.dsn.get_secret_value()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[state]\ndsn = "postgresql://h/db"\nrenew_every = "20s"\n', "renew_every must be more than 0 and less than lease_ttl"),
        ('[state]\ndsn = "postgresql://h/db"\nlease_ttl = "0s"\n', "state.lease_ttl"),
        ('[state]\ndsn = "postgresql://h/db"\nservice = "a b"\n', "state.service"),
        ('[state]\nservice = "web"\n', "state.dsn"),
    ],
)
def test_bad_state_keys_are_one_line_naming_the_key(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert expected in str(info.value) and "\n" not in str(info.value)


def _records(path, n=4):
    journal = Journal(path)
    for i in range(n):
        journal.append("sample", 1000.0 + i, stage=1, weight=1.0)
    journal.close()
    return read_journal(path).records


def test_a_replica_copy_of_the_records_verifies_and_appends_as_the_same_lines(tmp_path):
    records = _records(tmp_path / "a.jsonl")
    assert check_chain(records) is None
    copy = Journal(tmp_path / "b.jsonl")
    for record in records:
        copy.write(record)  # the lines a standby copies from the database
    copy.close()
    assert (tmp_path / "b.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()
    assert (tmp_path / "a.jsonl").read_bytes() == b"".join(line_of(r) for r in records)


def test_a_record_that_does_not_chain_is_refused_and_a_broken_chain_is_named(tmp_path):
    records = _records(tmp_path / "a.jsonl")
    journal = Journal(tmp_path / "b.jsonl")
    with pytest.raises(JournalError, match="does not chain"):
        journal.write(records[1])  # record 2 before record 1
    journal.write(records[0])
    changed = {**records[1], "weight": 5.0}
    with pytest.raises(JournalError, match="does not chain"):
        journal.write(changed)
    journal.close()
    assert check_chain([records[0], changed]) == "record 2: hash does not match the record's content"
    assert check_chain(records[1:]) is not None


def test_prepare_writes_nothing_until_written(tmp_path):
    journal = Journal(tmp_path / "j.jsonl")
    record = journal.prepare("note", 1.0, text="x")
    assert journal.last_seq == 0 and not (tmp_path / "j.jsonl").read_bytes()
    journal.write(record)
    assert journal.last_seq == 1 and read_journal(tmp_path / "j.jsonl").records == [record]
    journal.close()


def test_serve_from_state_serves_the_attach_that_follows_the_database_without_a_secret(tmp_path):
    from cockpit.cli.serve import served_command

    config = tmp_path / "cockpit.toml"
    config.write_text('[state]\ndsn = "postgresql://cockpit:s3cr3t@db/releases"\n')
    argv = served_command("v1.4.0", config, None, None, from_state=True)
    assert argv[3:6] == ["attach", "v1.4.0", "--no-mouse"] and "--from-state" in argv
    assert argv[argv.index("--config") + 1] == str(config.resolve())
    assert not any("s3cr3t" in part or "postgresql://" in part for part in argv)  # the page shows this line
    assert "--from-state" not in served_command("v1.4.0", config, None, None)
