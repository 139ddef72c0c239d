"""Evidence a third party can check: signed seal statements and signed sign-offs.

The manifest and the journal's hash chain are unkeyed: whoever can write the folder
can rewrite a record, recompute the chain and the manifest, and the plain verify
says intact. A signature is keyed. Two things get signed with an SSH key
(cockpit/ssh_signing.py):

- a seal (`cockpit seal V --by AB --sign KEY`, `cockpit evidence seal V --sign KEY`):
  `signed_seal_<n>.txt` states who sealed and when, the journal's seq and head hash
  and each record's hash (16 hex digits: enough to name the record that changed; the
  head is signed whole), and the SHA-256 of every other file; `signed_seal_<n>.txt.sig`
  is the signature of those bytes.
- a sign-off (`cockpit signoff … --sign KEY`): the row in signoffs.jsonl carries `sig`,
  the signature of the row's other fields (see `signoff_payload`).

`verify_signatures` checks every signature against an allowed_signers file and then
what it signed: every journal record a statement names must still be the one signed
(the first that is not is named), and every file the latest statement names must
still have its signed hash. What no signature covers (records after the last signed
seal, files added since) is reported, not failed: signing again covers it.
A later signed seal lists the earlier statements among its files, so only the last one can be
deleted unseen: the notifications carry the journal's head hash off the host for that case.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.evidence import EvidenceError, EvidenceStore
from cockpit.run.journal import GENESIS, JOURNAL_NAME, read_journal
from cockpit.ssh_signing import SignatureCheck, SigningError, sign, verify

STATEMENT_HEADER = "cockpit-evidence-statement: 1"
SIGNOFF_HEADER = "cockpit-signoff: 1"
SIGNOFFS_FILE = "signoffs.jsonl"  # the sign-offs' file (gate_records appends to it; its rows may carry `sig`)
RECORD_DIGITS = 16
_STATEMENT = re.compile(r"^signed_seal_(\d+)\.txt$")
KINDS = {"green_button": "green button", "evidence_seal": "evidence seal"}


def statement_file(number: int) -> str:
    return f"signed_seal_{number}.txt"


def signature_file(name: str) -> str:
    return f"{name}.sig"


def statements(store: EvidenceStore) -> list[str]:
    """The folder's signed seal statements, oldest first."""
    return [name for _, name in sorted((_number(name), name) for name in store.files() if _STATEMENT.match(name))]


def _number(name: str) -> int:
    found = _STATEMENT.match(name)
    return int(found.group(1)) if found else 0


# ---------------------------------------------------------------- what a seal signs


@dataclass
class Statement:
    """A parsed signed_seal_<n>.txt."""

    kind: str
    version: str
    by: str
    at: str
    journal_seq: int
    journal_head: str
    records: dict[int, str] = field(default_factory=dict)  # seq -> the record's hash, first RECORD_DIGITS digits
    files: dict[str, str] = field(default_factory=dict)  # name -> SHA-256

    @property
    def what(self) -> str:
        sealed = KINDS.get(self.kind, self.kind)
        return f"{sealed} by {self.by or '?'} at {self.at}, journal to seq {self.journal_seq}, {len(self.files)} files"


def statement_text(store: EvidenceStore, kind: str, by: str, at: str) -> str:
    """What a seal signs: the journal (seq, head, each record's hash) and every other file's SHA-256 now."""
    read = read_journal(store.dir / JOURNAL_NAME)
    if read.error is not None:
        raise EvidenceError(f"{store.dir / JOURNAL_NAME}: {read.error}: a broken journal cannot be signed")
    covered = {JOURNAL_NAME}  # the journal is covered record by record: it may grow after the seal
    manifest = {n: d for n, d in store.read_manifest().items() if n not in covered}
    lines = [STATEMENT_HEADER, f"kind: {kind}", f"version: {store.version}", f"by: {by}", f"at: {at}",
             f"journal_seq: {read.last_seq}", f"journal_head: {read.head}", "journal:"]
    lines += [f"{r['seq']} {str(r['hash'])[:RECORD_DIGITS]}" for r in read.records]
    lines.append("files:")
    lines += [f"{digest}  {name}" for name, digest in sorted(manifest.items())]
    return "\n".join(lines) + "\n"


def parse_statement(text: str) -> Statement | None:
    """A statement's fields; None when it is not one (a signature over it can still be checked)."""
    lines = text.splitlines()
    if not lines or lines[0] != STATEMENT_HEADER:
        return None
    head: dict[str, str] = {}
    records: dict[int, str] = {}
    files: dict[str, str] = {}
    part = "head"
    for line in lines[1:]:
        if line in ("journal:", "files:"):
            part = line[:-1]
        elif part == "head":
            key, _, value = line.partition(": ")
            head[key] = value
        elif part == "journal":
            seq, _, digest = line.partition(" ")
            if seq.isdigit() and digest:
                records[int(seq)] = digest
        else:
            digest, _, name = line.partition("  ")
            if digest and name:
                files[name] = digest
    try:
        seq = int(head.get("journal_seq", ""))
    except ValueError:
        return None
    return Statement(head.get("kind", ""), head.get("version", ""), head.get("by", ""), head.get("at", ""),
                     seq, head.get("journal_head", GENESIS), records, files)


def sign_seal(store: EvidenceStore, key: Path, kind: str, by: str, at: str) -> str:
    """Sign the folder as it is now: write signed_seal_<n>.txt and its .sig; returns the statement's name."""
    text = statement_text(store, kind, by, at)
    if store.redactor.scrub(text) != text:
        raise EvidenceError("the seal statement would be changed by redaction: it cannot be signed as written")
    signature = sign(key, text.encode())  # before anything is written: a refused key leaves the folder as it was
    name = statement_file(1 + max((_number(n) for n in statements(store)), default=0))
    store.write_text(name, text)
    store.write_text(signature_file(name), signature)
    return name


# ---------------------------------------------------------------- what a sign-off signs


def signoff_payload(version: str, row: dict[str, Any]) -> bytes:
    """The bytes a sign-off's `sig` signs: the release and the row's fields (sorted, compact JSON), not `sig` itself."""
    body = {k: row.get(k) for k in ("role", "go", "by", "note", "at")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{SIGNOFF_HEADER}\nversion: {version}\n{text}\n".encode()


def sign_signoff(version: str, row: dict[str, Any], key: Path) -> dict[str, Any]:
    """The row with its `sig`."""
    return {**row, "sig": sign(key, signoff_payload(version, row))}


# ---------------------------------------------------------------- checking


@dataclass
class SignedItem:
    """One signature and what it covers."""

    what: str  # `signed_seal_1.txt: green button by AB …` / `signoffs.jsonl line 2: security GO by AB …`
    check: SignatureCheck


@dataclass
class ProofReport:
    """What the signatures prove about the folder."""

    signed: list[SignedItem] = field(default_factory=list)
    unsigned: list[str] = field(default_factory=list)  # sign-offs without a signature
    problems: list[str] = field(default_factory=list)  # each one fails the verify
    uncovered: list[str] = field(default_factory=list)  # what no signature covers (said, not failed)

    @property
    def holds(self) -> bool:
        return bool(self.signed) and not self.problems and all(item.check.good for item in self.signed)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _check_journal(store: EvidenceStore, name: str, statement: Statement, signer: str, report: ProofReport) -> None:
    read = read_journal(store.dir / JOURNAL_NAME)
    current = {int(r["seq"]): r for r in read.records}
    for seq in range(1, statement.journal_seq + 1):
        record = current.get(seq)
        if record is None:
            where = read.error or f"the journal ends at seq {read.last_seq}"
            report.problems.append(f"journal record seq {seq}: missing ({where}); {signer} signed "
                                   f"{statement.journal_seq} records in {name}")
            return
        if str(record.get("hash", ""))[:RECORD_DIGITS] != statement.records.get(seq):
            report.problems.append(f"journal record seq {seq} ({record.get('event', '?')}) is not the record "
                                   f"{signer} signed in {name}: it was rewritten after it was signed")
            return
    head = current[statement.journal_seq]["hash"] if statement.journal_seq else GENESIS
    if head != statement.journal_head:
        report.problems.append(f"journal head at seq {statement.journal_seq} is not the head {signer} signed in {name}")
    elif read.error is not None:
        report.problems.append(f"{JOURNAL_NAME}: {read.error} (after the {statement.journal_seq} records signed in {name})")


def _check_files(store: EvidenceStore, name: str, statement: Statement, signer: str, report: ProofReport) -> None:
    from cockpit.evidence import sha256_file

    present = set(store.files())
    for file, digest in sorted(statement.files.items()):
        if file not in present:
            report.problems.append(f"{file}: missing; {signer} signed it in {name}")
        elif sha256_file(store.dir / file) != digest:
            report.problems.append(f"{file}: changed since {signer} signed it in {name}")
    later = sorted(present - set(statement.files) - {JOURNAL_NAME, name, signature_file(name)})
    if later:
        shown = ", ".join(later[:5]) + (f" and {len(later) - 5} more" if len(later) > 5 else "")
        report.uncovered.append(f"{len(later)} file(s) added since {name}: {shown}")


def _check_seals(store: EvidenceStore, allowed: Path, report: ProofReport) -> None:
    names = statements(store)
    last_good: tuple[str, Statement, str] | None = None
    for name in names:
        text = _read(store.dir / name) or ""
        signature = _read(store.dir / signature_file(name))
        statement = parse_statement(text)
        what = f"{name}: {statement.what}" if statement else name
        if signature is None:
            report.problems.append(f"{name}: no signature ({signature_file(name)} is missing)")
            continue
        check = verify(allowed, signature, text.encode())
        report.signed.append(SignedItem(what, check))
        if not check.good:
            report.problems.append(f"{name}: {check.reason}")
            continue
        if statement is None:
            report.problems.append(f"{name}: signed, but not a seal statement the cockpit can read")
            continue
        if statement.version != store.version:
            report.problems.append(f"{name}: signed for {statement.version}, not {store.version}")
        _check_journal(store, name, statement, check.principal, report)
        last_good = (name, statement, check.principal)
    if last_good is None:
        return
    name, statement, signer = last_good
    _check_files(store, name, statement, signer, report)
    read = read_journal(store.dir / JOURNAL_NAME)
    if read.last_seq > statement.journal_seq:
        report.uncovered.append(f"journal records {statement.journal_seq + 1}-{read.last_seq} (after {name})")


def _check_signoffs(store: EvidenceStore, allowed: Path, report: ProofReport) -> None:
    text = _read(store.dir / SIGNOFFS_FILE)
    if text is None:
        return
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict):
            continue
        what = (f"{SIGNOFFS_FILE} line {number}: {row.get('role')} {'GO' if row.get('go') else 'NO-GO'} "
                f"by {row.get('by')} at {row.get('at')}")
        signature = row.get("sig")
        if not isinstance(signature, str):
            report.unsigned.append(what)
            continue
        check = verify(allowed, signature, signoff_payload(store.version, row))
        report.signed.append(SignedItem(what, check))
        if not check.good:
            report.problems.append(f"{SIGNOFFS_FILE} line {number}: {check.reason}")


def verify_signatures(store: EvidenceStore, allowed_signers: Path) -> ProofReport:
    """Every signature in the folder against `allowed_signers`, then what each signed (see the module docstring)."""
    if not allowed_signers.is_file():
        raise SigningError(f"allowed_signers {allowed_signers}: no such file")
    report = ProofReport()
    _check_seals(store, allowed_signers, report)
    _check_signoffs(store, allowed_signers, report)
    if not report.signed:
        report.problems.append(f"nothing in {store.dir} is signed (cockpit seal {store.version} --by AB --sign KEY)")
    return report


def count_signatures(store: EvidenceStore) -> int:
    """How many signatures the folder holds (what a verify without allowed_signers leaves unchecked)."""
    count = len(statements(store))
    text = _read(store.dir / SIGNOFFS_FILE) or ""
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        count += isinstance(row, dict) and isinstance(row.get("sig"), str)
    return count
