"""The GO gate on a real Prometheus: `cockpit canary` shifts nothing without GO; the override is on record.

The traffic command writes a marker file: no GO, no file. The release's GO is made
for real (a small playbook: `cockpit preflight`, a tick, an acceptance, a sign-off,
`cockpit seal`), never by writing its files by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cockpit.run.journal import read_journal

REPO = Path(__file__).resolve().parents[2]

PLAYBOOK = """
[[checks]]
id = "preflight.files"
phase = "preflight"
kind = "files"
title = "Release files present"
paths = ["cockpit.toml"]

[[checks]]
id = "preflight.db"
phase = "preflight"
kind = "sql"
title = "Database reachable"
query = "select 1"

[[checks]]
id = "gonogo.preflight_green"
phase = "gonogo"
kind = "computed"
source = "preflight"
title = "Preflight green"

[[checks]]
id = "gonogo.rollback_ready"
phase = "gonogo"
kind = "computed"
source = "rollback"
title = "Rollback path tested"

[[checks]]
id = "gonogo.oncall"
phase = "gonogo"
kind = "manual"
title = "On-call staffed"

[[roles]]
id = "security"
title = "Security"

[[roles]]
id = "product"
title = "Product Owner"
required = false
"""


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _release(root: Path, prometheus_url: str) -> Path:
    (root / "playbook.toml").write_text(PLAYBOOK)
    marker = root / "traffic.marker"
    shift = [sys.executable, "-c", f"import sys; open({str(marker)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')",
             "{weight}"]
    (root / "cockpit.toml").write_text(f"""
[playbook]
file = "playbook.toml"

[prometheus]
url = "{prometheus_url}"
timeout = "2s"

[evidence]
dir = "evidence"

[canary]
evaluate_every = "0.3s"
window = "30s"
min_window = "100ms"  # one-second stages: judge from the first tenth of a second of the run's own data
stages = [{{weight = 100, hold = "1s"}}]

[signals.p95]
short = "p95"
query = 'max(cockpit_test_value{{case="gate_p95"}})'
unit = "s"
max = 0.2

[traffic]
set_weight = {_toml_list(shift)}
rollback = {_toml_list([*shift[:-1], "0"])}
retries = 0
""")
    return marker


def cockpit(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cockpit", *argv], cwd=root, capture_output=True, text=True, timeout=90)


def _make_go(root: Path, version: str) -> None:
    """GO for real: preflight run, its UNKNOWN accepted, the manual item ticked, the role signed, the seal."""
    assert cockpit(root, "preflight", version).returncode == 3  # no [postgres]: preflight.db is UNKNOWN
    assert cockpit(root, "accept", version, "preflight.db", "--by", "AB", "--reason", "no DB in this service").returncode == 0
    assert cockpit(root, "tick", "gonogo.oncall", version, "--initials", "AB").returncode == 0
    assert cockpit(root, "signoff", version, "--role", "security", "--go", "--by", "SE").returncode == 0
    sealed = cockpit(root, "seal", version, "--by", "AB")
    assert sealed.returncode == 0, sealed.stderr


def test_no_go_shifts_nothing_and_names_each_missing_item(tmp_path: Path, prometheus) -> None:
    marker = _release(tmp_path, prometheus.url)
    run = cockpit(tmp_path, "canary", "v5.0.0", "--headless")
    assert run.returncode == 2, run.stdout + run.stderr
    assert not marker.exists()  # the traffic command never ran
    assert "preflight not run for v5.0.0: cockpit preflight v5.0.0" in run.stderr
    assert "gonogo.oncall not ticked (On-call staffed): cockpit tick gonogo.oncall v5.0.0 --initials AB" in run.stderr
    assert "Security has not signed: cockpit signoff v5.0.0 --role security --go|--no-go --by AB" in run.stderr
    assert "evidence not sealed for v5.0.0: cockpit seal v5.0.0 --by AB" in run.stderr
    assert "Product Owner" not in run.stderr  # an optional role does not block
    assert "traceback" not in run.stderr.lower()
    detached = cockpit(tmp_path, "canary", "v5.0.0", "--detach")  # refused before forking
    assert detached.returncode == 2 and "NO-GO" in detached.stderr and not marker.exists()
    assert not (tmp_path / "evidence" / "v5.0.0" / "journal.jsonl").exists()


def test_a_tick_cannot_make_unknown_pass(tmp_path: Path, prometheus) -> None:
    _release(tmp_path, prometheus.url)
    assert cockpit(tmp_path, "preflight", "v5.1.0").returncode == 3
    tick = cockpit(tmp_path, "tick", "gonogo.preflight_green", "v5.1.0", "--initials", "AB")
    assert tick.returncode == 2
    assert tick.stderr.strip().splitlines() == [
        "cockpit: gonogo.preflight_green is computed from the recorded preflight results (cockpit preflight VERSION): "
        "it cannot be ticked (a WARN or UNKNOWN can be accepted: cockpit accept VERSION CHECK_ID --by AB --reason TEXT)"]
    computed = cockpit(tmp_path, "check", "gonogo.preflight_green", "--version", "v5.1.0", "--json")
    assert json.loads(computed.stdout)["results"][0]["status"] == "UNKNOWN"
    go = json.loads(cockpit(tmp_path, "go", "v5.1.0", "--json").stdout)
    states = {item["id"]: item["state"] for item in go["items"]}
    assert states["preflight.db"] == "UNKNOWN" and states["preflight.files"] == "PASS" and not go["go"]

    assert cockpit(tmp_path, "accept", "v5.1.0", "preflight.db", "--by", "AB", "--reason", "no DB here").returncode == 0
    go = json.loads(cockpit(tmp_path, "go", "v5.1.0", "--json").stdout)
    states = {item["id"]: item["state"] for item in go["items"]}
    assert states["preflight.db"] == "ACCEPTED" and states["gonogo.preflight_green"] == "ACCEPTED"  # never PASS
    computed = json.loads(cockpit(tmp_path, "check", "gonogo.preflight_green", "--version", "v5.1.0", "--json").stdout)
    assert computed["results"][0]["status"] == "WARN" and computed["results"][0]["summary"].startswith("ACCEPTED")
    refused = cockpit(tmp_path, "accept", "v5.1.0", "preflight.files", "--by", "AB", "--reason", "x")
    assert refused.returncode == 2 and "only a WARN or an UNKNOWN can be accepted" in refused.stderr


def test_a_real_go_runs_and_a_no_go_signature_blocks(tmp_path: Path, prometheus, exporter) -> None:
    exporter.value.labels(case="gate_p95").set(0.1)
    prometheus.wait_for_data('cockpit_test_value{case="gate_p95"}')
    marker = _release(tmp_path, prometheus.url)
    version = "v5.2.0"
    _make_go(tmp_path, version)
    assert cockpit(tmp_path, "go", version).returncode == 0

    assert cockpit(tmp_path, "signoff", version, "--role", "product", "--no-go", "--by", "PO",
                   "--note", "support not briefed").returncode == 0
    blocked = cockpit(tmp_path, "canary", version, "--headless")
    assert blocked.returncode == 2 and not marker.exists()
    assert "Product Owner signed NO-GO (PO at " in blocked.stderr and "support not briefed" in blocked.stderr
    assert cockpit(tmp_path, "go", version).returncode == 1

    assert cockpit(tmp_path, "signoff", version, "--role", "product", "--go", "--by", "PO").returncode == 0
    stale = cockpit(tmp_path, "go", version)
    assert stale.returncode == 1 and "is stale: signoffs.jsonl changed since" in stale.stdout
    assert cockpit(tmp_path, "seal", version, "--by", "AB").returncode == 0
    run = cockpit(tmp_path, "canary", version, "--headless")
    assert run.returncode == 0, run.stdout + run.stderr
    assert marker.read_text().split() == ["100"]
    report = cockpit(tmp_path, "report", version, "--out", "page.md")
    assert report.returncode == 0
    page = (tmp_path / "page.md").read_text()
    assert "| security | GO | SE |" in page and "| product | **NO-GO** | PO |" in page and "support not briefed" in page
    assert "preflight.db` UNKNOWN ACCEPTED by AB" in page and "WITHOUT GO" not in page


def test_without_go_runs_on_record(tmp_path: Path, prometheus, exporter) -> None:
    exporter.value.labels(case="gate_p95").set(0.1)
    prometheus.wait_for_data('cockpit_test_value{case="gate_p95"}')
    marker = _release(tmp_path, prometheus.url)
    version = "v5.3.0"
    bad = cockpit(tmp_path, "canary", version, "--headless", "--without-go", "--by", "AB")
    assert bad.returncode == 2 and "--without-go needs --reason TEXT and --by INITIALS" in bad.stderr
    run = cockpit(tmp_path, "canary", version, "--headless", "--without-go", "--reason", "hotfix, CTO on the bridge",
                  "--by", "ab")
    assert run.returncode == 0, run.stdout + run.stderr
    assert marker.exists() and "starts WITHOUT GO" in run.stderr
    records = read_journal(tmp_path / "evidence" / version / "journal.jsonl").records
    [override] = [r for r in records if r["event"] == "go_override"]
    assert override["reason"] == "hotfix, CTO on the bridge" and override["by"] == "AB"
    assert "preflight not run for v5.3.0: cockpit preflight v5.3.0" in override["missing"]
    assert [r["event"] for r in records].index("go_override") < [r["event"] for r in records].index("traffic_shifted")

    assert cockpit(tmp_path, "report", version, "--out", "page.md").returncode == 0
    assert "**⚠ STARTED WITHOUT GO**" in (tmp_path / "page.md").read_text()
    line = cockpit(tmp_path, "oneliner", version).stdout
    assert "STARTED WITHOUT GO (by AB: hotfix, CTO on the bridge)" in line
    tr = cockpit(tmp_path, "oneliner", version, "--lang", "tr").stdout
    assert "GO OLMADAN BAŞLATILDI (AB: hotfix, CTO on the bridge)" in tr
    rca = cockpit(tmp_path, "rca", version)
    assert "STARTED WITHOUT GO by AB" in rca.stdout
    assert "STARTED WITHOUT GO" in (tmp_path / "evidence" / version / f"mini_rca_{version}.md").read_text()


def test_the_green_button_and_a_sign_off_signed_with_ssh_keys_verify_from_the_config(tmp_path: Path, prometheus) -> None:
    from tests.integration.test_signed_evidence import allowed_signers, keygen

    _release(tmp_path, prometheus.url)
    ab, se = keygen(tmp_path, "ab"), keygen(tmp_path, "se")
    allowed_signers(tmp_path, ("ab@example.com", ab), ("se@example.com", se))
    text = (tmp_path / "cockpit.toml").read_text().replace('[evidence]\ndir = "evidence"',
                                                          '[evidence]\ndir = "evidence"\nallowed_signers = "allowed_signers"')
    (tmp_path / "cockpit.toml").write_text(text)
    version = "v5.4.0"
    assert cockpit(tmp_path, "preflight", version).returncode == 3
    assert cockpit(tmp_path, "accept", version, "preflight.db", "--by", "AB", "--reason", "no DB here").returncode == 0
    assert cockpit(tmp_path, "tick", "gonogo.oncall", version, "--initials", "AB").returncode == 0
    signed = cockpit(tmp_path, "signoff", version, "--role", "security", "--go", "--by", "SE", "--sign", str(se))
    assert signed.returncode == 0 and f"SSH-signed with {se}" in signed.stdout, signed.stderr
    sealed = cockpit(tmp_path, "seal", version, "--by", "AB", "--sign", str(ab))
    assert sealed.returncode == 0 and "signed_seal_1.txt" in sealed.stdout, sealed.stderr
    assert cockpit(tmp_path, "go", version).returncode == 0  # the signature's files do not make the seal stale
    verified = cockpit(tmp_path, "evidence", "verify", version)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "signed   signed_seal_1.txt: green button by AB" in verified.stdout and "by ab@example.com" in verified.stdout
    assert "signed   signoffs.jsonl line 1: security GO by SE" in verified.stdout and "by se@example.com" in verified.stdout
