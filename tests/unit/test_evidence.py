"""Evidence: atomic writes, secrets scrubbed, manifest verification catches every tampering."""

import pytest

from cockpit.evidence import MANIFEST, EvidenceError, EvidenceStore
from cockpit.redaction import Redactor


def test_write_records_hash_and_verify_finds_changes(tmp_path):
    store = EvidenceStore(tmp_path, "v1.4.0")
    store.write_text("preflight.txt", "all good\n")
    store.append_line("warroom_log.txt", ":00 | Stage 1 (1%) | ok")
    store.append_line("warroom_log.txt", ":01 | Stage 1 (1%) | ok")
    assert store.verify().intact
    assert (store.dir / MANIFEST).read_text().count("\n") == 2

    (store.dir / "preflight.txt").write_text("all good, honest\n")
    (store.dir / "warroom_log.txt").unlink()
    (store.dir / "extra.txt").write_text("sneaky")
    report = store.verify()
    assert (report.changed, report.missing, report.added) == (["preflight.txt"], ["warroom_log.txt"], ["extra.txt"])
    assert not report.intact


def test_unsealed_folder_is_not_intact(tmp_path):
    report = EvidenceStore(tmp_path, "v1.0.0").verify()
    assert not report.sealed and not report.intact


def test_seal_takes_in_files_written_by_others(tmp_path):
    store = EvidenceStore(tmp_path, "v1.0.0")
    store.write_text("a.txt", "a")
    (store.dir / "b.txt").write_text("b")
    assert store.verify().added == ["b.txt"]
    store.seal()
    assert store.verify().intact


def test_secrets_never_reach_evidence(tmp_path):
    store = EvidenceStore(tmp_path, "v1.0.0", Redactor(["hunter22"]))
    store.write_text("x.txt", "dsn postgresql://app:hunter22@db/x token hunter22")
    assert "hunter22" not in (store.dir / "x.txt").read_text()


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", MANIFEST, ""])
def test_unsafe_names_are_refused(tmp_path, name):
    with pytest.raises(EvidenceError):
        EvidenceStore(tmp_path, "v1.0.0").write_text(name, "x")


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    store = EvidenceStore(tmp_path, "v1.0.0")
    store.write_text("a.txt", "old")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(OSError):
        store.write_text("a.txt", "new")
    assert (store.dir / "a.txt").read_text() == "old"


def test_a_file_changed_since_it_was_sealed_is_resealed_only_with_a_recorded_reason(tmp_path):
    import json

    import pytest

    from cockpit.checks.gate_records import RESEALS_FILE, seal_folder
    from cockpit.evidence import EvidenceError, EvidenceStore

    store = EvidenceStore(tmp_path, "v1.4.0")
    store.write_text("flags.txt", "a=1\n")
    seal_folder(store)
    (store.dir / "flags.txt").write_text("a=2\n")  # behind the cockpit's back
    with pytest.raises(EvidenceError, match="refusing to re-seal flags.txt: changed since it was sealed"):
        seal_folder(store)
    assert store.verify().changed == ["flags.txt"]  # nothing was laundered
    seal_folder(store, reseal_reason="flag fixed after review", by="AB")
    assert store.verify().intact
    [row] = [json.loads(x) for x in (store.dir / RESEALS_FILE).read_text().splitlines()]
    assert row["files"] == ["flags.txt"] and row["reason"] == "flag fixed after review" and row["by"] == "AB"
