"""What the GO gate reads, as evidence files: recorded results, sign-offs, acceptances and the green-button seal.

- `results_<phase>.json`: each check's latest result for the release, merged by id
  (written by `cockpit preflight`/`redteam`/`blast-radius`/`artifacts`/`check` and by the TUI).
- `signoffs.jsonl`: append-only, one line a signature {"role", "go", "by", "note", "at"}; a role's
  latest line is its state (a NO-GO stands until the same role signs again). Like ticks.jsonl it lives
  in the evidence folder, not the journal: the journal belongs to the canary run and is locked while it runs.
- `acceptances.jsonl`: append-only, a person accepting one WARN or UNKNOWN result with a reason.
- `green_button_<v>.txt`: who pressed the green button and when, then the manifest it sealed
  (`sha256sum` lines). `reseals.jsonl`: each time a changed file was sealed again, and why.

Reading never raises on a bad line: it is skipped (the file's hash in the manifest still tells tampering).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cockpit.checks.evidence_proof import SIGNOFFS_FILE, sign_seal, sign_signoff
from cockpit.checks.ticks import validate_initials
from cockpit.clock import Clock, SystemClock, iso_utc
from cockpit.engine.go import Acceptance, RecordedResult, SealRecord, Signature
from cockpit.evidence import EvidenceError, EvidenceStore
from cockpit.results import CheckResult, Status

ACCEPTANCES_FILE = "acceptances.jsonl"
RESEALS_FILE = "reseals.jsonl"
MAX_TEXT = 500


def results_file(phase: str) -> str:
    return f"results_{phase}.json"


def seal_file(version: str) -> str:
    return f"green_button_{version}.txt"


def _one_line(text: str) -> str:
    return " ".join((text or "").split())[:MAX_TEXT]


def _now(clock: Clock | None) -> str:
    return iso_utc((clock or SystemClock()).now())


# ---------------------------------------------------------------- recorded results


def write_phase_results(store: EvidenceStore, phase: str, results: list[CheckResult]) -> str:
    """Merge these results into results_<phase>.json (a check's new result replaces its old one)."""
    if not results:
        return results_file(phase)
    current = _read_json(store, results_file(phase)) or {}
    by_id: dict[str, Any] = dict(current.get("results") or {}) if isinstance(current.get("results"), dict) else {}
    for result in results:
        by_id[result.id] = result.model_dump(mode="json")
    document = {"version": store.version, "phase": phase, "results": dict(sorted(by_id.items()))}
    return store.write_text(results_file(phase), json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def read_phase_results(store: EvidenceStore, phase: str) -> dict[str, RecordedResult] | None:
    """The phase's recorded results by check id; None when the phase was never recorded for this release."""
    document = _read_json(store, results_file(phase))
    if document is None:
        return None
    recorded: dict[str, RecordedResult] = {}
    for check_id, raw in (document.get("results") or {}).items():
        try:
            recorded[check_id] = RecordedResult(str(raw["id"]), str(raw["title"]), Status(raw["status"]),
                                                str(raw.get("summary", "")), str(raw.get("started_at", "")))
        except (KeyError, TypeError, ValueError):
            continue  # a line a person mangled: that check counts as not recorded
    return recorded


def _read_json(store: EvidenceStore, name: str) -> dict[str, Any] | None:
    try:
        document = json.loads((store.dir / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _read_lines(store: EvidenceStore, name: str) -> list[dict[str, Any]]:
    try:
        text = (store.dir / name).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


# ---------------------------------------------------------------- sign-offs and acceptances


def record_signoff(store: EvidenceStore, role: str, go: bool, by: str, note: str = "",
                   clock: Clock | None = None, sign_key: Path | None = None) -> Signature:
    """Append one role's GO or NO-GO (initials validated: ValueError); with `sign_key`, SSH-signed (`sig`)."""
    signature = Signature(role=role, go=go, by=validate_initials(by), note=_one_line(note), at=_now(clock))
    row: dict[str, Any] = asdict(signature)
    if sign_key is not None:
        row = sign_signoff(store.version, row, sign_key)  # signed before it is written: a refusal writes nothing
    store.append_line(SIGNOFFS_FILE, json.dumps(row, ensure_ascii=False))
    return signature


def read_signoffs(store: EvidenceStore) -> list[Signature]:
    """Every signature in file order."""
    out = []
    for row in _read_lines(store, SIGNOFFS_FILE):
        if isinstance(row.get("role"), str) and isinstance(row.get("go"), bool) and isinstance(row.get("by"), str):
            out.append(Signature(row["role"], row["go"], row["by"], str(row.get("note", "")), str(row.get("at", ""))))
    return out


def latest_signoffs(store: EvidenceStore) -> dict[str, Signature]:
    return {s.role: s for s in read_signoffs(store)}


def record_acceptance(store: EvidenceStore, check_id: str, result: RecordedResult, by: str, reason: str,
                      clock: Clock | None = None) -> Acceptance:
    """Append a person's acceptance of this WARN/UNKNOWN result (ValueError: bad initials, no reason, not acceptable)."""
    if result.status not in (Status.WARN, Status.UNKNOWN):
        raise ValueError(f"{check_id} is {result.status.value}: only a WARN or an UNKNOWN can be accepted")
    if not _one_line(reason):
        raise ValueError("accepting needs a reason saying why")
    acceptance = Acceptance(check_id=check_id, status=result.status, result_at=result.started_at,
                            by=validate_initials(by), reason=_one_line(reason), at=_now(clock))
    row = {**asdict(acceptance), "status": result.status.value, "summary": _one_line(result.summary)}
    store.append_line(ACCEPTANCES_FILE, json.dumps(row, ensure_ascii=False))
    return acceptance


def latest_acceptances(store: EvidenceStore) -> dict[str, Acceptance]:
    out: dict[str, Acceptance] = {}
    for row in _read_lines(store, ACCEPTANCES_FILE):
        try:
            out[str(row["check_id"])] = Acceptance(str(row["check_id"]), Status(row["status"]), str(row["result_at"]),
                                                   str(row["by"]), str(row.get("reason", "")), str(row.get("at", "")))
        except (KeyError, ValueError):
            continue
    return out


# ---------------------------------------------------------------- the seal


def seal_folder(store: EvidenceStore, *, reseal_reason: str | None = None, by: str = "",
                clock: Clock | None = None) -> dict[str, str]:
    """Record every file in the manifest; a file changed behind the cockpit's back only with a recorded reason.

    EvidenceError names the changed files when there is no reason: sealing them would hide the change.
    """
    report = store.verify()
    if report.changed and not _one_line(reseal_reason or ""):
        shown = ", ".join(report.changed[:3]) + (f" and {len(report.changed) - 3} more" if len(report.changed) > 3 else "")
        raise EvidenceError(f"refusing to re-seal {shown}: changed since it was sealed "
                            f"(re-seal with --reseal --reason TEXT, which is recorded)")
    if report.changed:
        row = {"files": report.changed, "reason": _one_line(reseal_reason or ""), "by": by, "at": _now(clock)}
        store.append_line(RESEALS_FILE, json.dumps(row, ensure_ascii=False))
    return store.seal()


def press_green_button(store: EvidenceStore, by: str, *, lines: list[str] | None = None,
                       reseal_reason: str | None = None, clock: Clock | None = None,
                       sign_key: Path | None = None) -> SealRecord:
    """The green-button ritual: seal the folder, then record who sealed which manifest, and when.

    With `sign_key` the sealed folder is then signed (signed_seal_<n>.txt and its .sig, see evidence_proof):
    the manifest and the journal's head, under the sealer's SSH key.
    """
    initials = validate_initials(by)
    if sign_key is not None:
        from cockpit.ssh_signing import check_key

        check_key(sign_key)  # a missing key or ssh-keygen stops before the folder is sealed
    manifest = seal_folder(store, reseal_reason=reseal_reason, by=initials, clock=clock)
    manifest.pop(seal_file(store.version), None)  # the seal names what it sealed, not its own earlier self
    at = _now(clock)
    body = [f"sealed_by: {initials}", f"sealed_at: {at}", *(f"# {line}" for line in lines or []), "files:"]
    body += [f"{digest}  {name}" for name, digest in sorted(manifest.items())]
    store.write_text(seal_file(store.version), "\n".join(body) + "\n")
    if sign_key is not None:
        sign_seal(store, sign_key, "green_button", initials, at)
    return SealRecord(initials, at, manifest)


def read_seal(store: EvidenceStore) -> SealRecord | None:
    """The green button's record, or None (never pressed, or unreadable: a seal nobody can read is no seal)."""
    try:
        text = (store.dir / seal_file(store.version)).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    head: dict[str, str] = {}
    files: dict[str, str] = {}
    in_files = False
    for line in text.splitlines():
        if in_files:
            digest, _, name = line.partition("  ")
            if digest and name:
                files[name] = digest
        elif line == "files:":
            in_files = True
        elif not line.startswith("#"):
            key, _, value = line.partition(": ")
            head[key] = value
    if "sealed_by" not in head or not in_files:
        return None
    return SealRecord(head["sealed_by"], head.get("sealed_at", ""), files)

