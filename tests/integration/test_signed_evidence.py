"""Signed evidence with real SSH keys: ssh-keygen signs seals and sign-offs, `cockpit evidence verify` checks them.

Keys are throwaway ed25519 keys made in the test's folder; one test signs through a
real ssh-agent started for it (and stopped after). The commands run as a person runs
them, in a folder with no cockpit.toml: an auditor has only the evidence.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.checks.evidence_proof import verify_signatures
from cockpit.checks.gate_records import press_green_button, record_signoff
from cockpit.evidence import EvidenceStore
from cockpit.run.journal import JOURNAL_NAME, Journal, read_journal, record_hash
from cockpit.ssh_signing import SigningError

VERSION = "v7.0.0"


def keygen(folder: Path, name: str) -> Path:
    assert shutil.which("ssh-keygen"), "ssh-keygen is not installed (apt-get install openssh-client)"
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True, timeout=30)
    return key


def allowed_signers(folder: Path, *signers: tuple[str, Path]) -> Path:
    lines = []
    for principal, key in signers:
        kind, blob = Path(f"{key}.pub").read_text().split()[:2]
        lines.append(f'{principal} namespaces="cockpit-evidence" {kind} {blob}')
    path = folder / "allowed_signers"
    path.write_text("\n".join(lines) + "\n")
    return path


def cockpit(cwd: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`cockpit ARGV` in a folder with no cockpit.toml (and none in the user's config directory)."""
    environ = {k: v for k, v in os.environ.items() if k != "COCKPIT_CONFIG"}
    environ["XDG_CONFIG_HOME"] = str(cwd / "no-user-config")
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "cockpit", *argv], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=120)


def release_folder(root: Path) -> EvidenceStore:
    """An evidence folder as a run leaves it: a preflight summary and a journal of five records."""
    store = EvidenceStore(root / "evidence", VERSION)
    store.write_text("preflight.txt", "10/10 PASS\n")
    journal = Journal(store.dir / JOURNAL_NAME)
    journal.append("run_started", 1.0, version=VERSION)
    journal.append("stage_started", 2.0, stage=1, weight=1.0)
    journal.append("decision", 3.0, stage=1, action="proceed")
    journal.append("stage_passed", 4.0, stage=1, weight=1.0)
    journal.append("canary_done", 5.0, result="promoted", weight=1.0)
    journal.close()
    store.record(JOURNAL_NAME)
    return store


def rewrite_record(store: EvidenceStore, seq: int, **changes: object) -> None:
    """What someone who can write the folder does: change a record, re-hash the chain after it, re-seal the manifest."""
    path = store.dir / JOURNAL_NAME
    records = read_journal(path).records
    records[seq - 1].update(changes)
    prev = records[seq - 2]["hash"] if seq > 1 else "0" * 64
    for record in records[seq - 1:]:
        record["prev"] = prev
        record["hash"] = record_hash(record)
        prev = record["hash"]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    store.seal()  # the manifest recomputed: the unkeyed checks agree with the rewrite


def test_a_rewritten_chain_is_intact_unsigned_and_fails_signed_naming_the_record(tmp_path: Path) -> None:
    key = keygen(tmp_path, "alice")
    signers = allowed_signers(tmp_path, ("alice@example.com", key))
    store = release_folder(tmp_path)
    sealed = cockpit(tmp_path, "evidence", "seal", VERSION, "--evidence-dir", "evidence", "--by", "AB", "--sign", str(key))
    assert sealed.returncode == 0, sealed.stderr
    assert "SSH-signed with" in sealed.stdout and "signed_seal_1.txt" in sealed.stdout

    good = cockpit(tmp_path, "evidence", "verify", VERSION, "--evidence-dir", "evidence", "--allowed-signers", str(signers))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "signed   signed_seal_1.txt: evidence seal by AB at " in good.stdout
    assert "journal to seq 5" in good.stdout and "by alice@example.com (SHA256:" in good.stdout
    assert "the signed evidence holds" in good.stdout

    rewrite_record(store, 2, weight=5.0)
    unsigned = cockpit(tmp_path, "evidence", "verify", VERSION, "--evidence-dir", "evidence")
    assert unsigned.returncode == 0, unsigned.stdout  # the documented limit: unkeyed hashes agree with themselves
    assert "intact:" in unsigned.stdout and "journal chain holds to seq 5" in unsigned.stdout
    assert "1 signature(s) not checked: pass --allowed-signers FILE" in unsigned.stdout

    signed = cockpit(tmp_path, "evidence", "verify", VERSION, "--evidence-dir", "evidence", "--allowed-signers", str(signers))
    assert signed.returncode == 1, signed.stdout
    assert ("FAILED   journal record seq 2 (stage_started) is not the record alice@example.com signed in "
            "signed_seal_1.txt: it was rewritten after it was signed") in signed.stdout
    assert "the signed evidence does NOT hold" in signed.stdout
    as_json = json.loads(cockpit(tmp_path, "evidence", "verify", VERSION, "--evidence-dir", "evidence",
                                 "--allowed-signers", str(signers), "--json").stdout)
    assert as_json["intact"] is True and as_json["signatures"]["holds"] is False
    assert as_json["signatures"]["signed"][0]["signer"] == "alice@example.com"


def test_green_button_and_sign_offs_say_who_signed_what(tmp_path: Path) -> None:
    alice, bob = keygen(tmp_path, "alice"), keygen(tmp_path, "bob")
    signers = allowed_signers(tmp_path, ("alice@example.com", alice), ("bob@example.com", bob))
    store = release_folder(tmp_path)
    record_signoff(store, "security", True, "SE", "pen test clean", sign_key=bob)
    record_signoff(store, "product", True, "PO")  # unsigned: listed, not failed
    press_green_button(store, "AB", sign_key=alice)
    report = verify_signatures(store, signers)
    assert report.holds, report.problems
    who = {item.what.split(":")[0]: item.check.principal for item in report.signed}
    assert who == {"signed_seal_1.txt": "alice@example.com", "signoffs.jsonl line 1": "bob@example.com"}
    assert report.unsigned and report.unsigned[0].startswith("signoffs.jsonl line 2: product GO by PO")
    assert "green button by AB" in report.signed[0].what

    # A sign-off flipped after the fact, the manifest re-sealed: the signature no longer matches its row.
    path = store.dir / "signoffs.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["note"] = "pen test skipped"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store.seal()
    assert store.verify().intact
    report = verify_signatures(store, signers)
    assert not report.holds
    assert any(p.startswith("signoffs.jsonl line 1: the signature does not match what it signs") for p in report.problems)
    assert any(p == "signoffs.jsonl: changed since alice@example.com signed it in signed_seal_1.txt" for p in report.problems)


def test_a_key_not_allowed_and_an_unsigned_folder_fail_the_signed_verify(tmp_path: Path) -> None:
    alice, mallory = keygen(tmp_path, "alice"), keygen(tmp_path, "mallory")
    signers = allowed_signers(tmp_path, ("alice@example.com", alice))
    store = release_folder(tmp_path)
    unsigned = cockpit(tmp_path, "evidence", "verify", VERSION, "--evidence-dir", "evidence", "--allowed-signers", str(signers))
    assert unsigned.returncode == 1 and f"FAILED   nothing in {store.dir.relative_to(tmp_path)} is signed" in unsigned.stdout
    press_green_button(store, "MA", sign_key=mallory)
    report = verify_signatures(store, signers)
    assert not report.holds and report.problems == ["signed_seal_1.txt: signed by a key not in allowed_signers"]


def test_a_missing_key_writes_nothing_and_says_one_line(tmp_path: Path) -> None:
    store = release_folder(tmp_path)
    before = sorted(store.files())
    run = cockpit(tmp_path, "evidence", "seal", VERSION, "--evidence-dir", "evidence", "--sign", str(tmp_path / "nokey"))
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert f"--sign {tmp_path / 'nokey'}: no such key file" in run.stderr
    with pytest.raises(SigningError):
        press_green_button(store, "AB", sign_key=tmp_path / "nokey")
    assert sorted(store.files()) == before


def test_verify_without_a_config_needs_the_folder_named(tmp_path: Path) -> None:
    run = cockpit(tmp_path, "evidence", "verify", VERSION)
    assert run.returncode == 2 and "pass --evidence-dir DIR to use a folder without one" in run.stderr
    release_folder(tmp_path)
    run = cockpit(tmp_path, "evidence", "verify", VERSION, "--evidence-dir", "evidence")
    assert run.returncode == 0 and "intact: 2 files match the manifest" in run.stdout
    missing = cockpit(tmp_path, "evidence", "verify", VERSION, "--evidence-dir", "evidence", "--allowed-signers", "nope")
    assert missing.returncode == 2 and missing.stderr == "cockpit: allowed_signers nope: no such file\n"
    elsewhere = cockpit(tmp_path, "evidence", "verify", "v7.0.1", "--evidence-dir", "evidence")
    assert elsewhere.returncode == 2 and "no evidence folder for v7.0.1" in elsewhere.stderr


def test_a_seal_signed_through_a_real_ssh_agent(tmp_path: Path) -> None:
    assert shutil.which("ssh-agent") and shutil.which("ssh-add"), "apt-get install openssh-client"
    key = keygen(tmp_path, "carol")
    signers = allowed_signers(tmp_path, ("carol@example.com", key))
    socket = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        env = {"SSH_AUTH_SOCK": str(socket)}
        subprocess.run(["ssh-add", "-q", str(key)], env={**os.environ, **env}, check=True, timeout=30,
                       capture_output=True)
        key.unlink()  # only the agent holds the private key now; --sign names the public key
        release_folder(tmp_path)
        sealed = cockpit(tmp_path, "evidence", "seal", VERSION, "--evidence-dir", "evidence", "--by", "CK",
                         "--sign", f"{key}.pub", env=env)
        assert sealed.returncode == 0, sealed.stderr
    finally:
        agent.terminate()
        agent.wait(timeout=10)
    good = cockpit(tmp_path, "evidence", "verify", VERSION, "--evidence-dir", "evidence", "--allowed-signers", str(signers))
    assert good.returncode == 0 and "by carol@example.com" in good.stdout, good.stdout
