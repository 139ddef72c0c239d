"""SSH signatures over evidence: `ssh-keygen -Y sign` / `-Y verify` in the namespace `cockpit-evidence`.

The key is the one an engineer already has: a private key file, or a public key
file whose private half is in ssh-agent (`ssh-keygen -Y sign -f KEY.pub` asks the
agent). A third party checks a signature against an allowed_signers file (see
ssh-keygen(1), ALLOWED SIGNERS): `principal namespaces="cockpit-evidence" ssh-ed25519 AAAA…`.
ssh-keygen always runs as an argument list, the signed bytes on its standard input.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cockpit.errors import CockpitError

NAMESPACE = "cockpit-evidence"
TIMEOUT = 120.0  # an agent may ask its owner to confirm (ssh-add -c): give a person time to answer
_FINGERPRINT = re.compile(r"\bkey (SHA256:[A-Za-z0-9+/=]+)")


class SigningError(CockpitError):
    """A signature could not be made (no ssh-keygen, no key, the agent refused): one line, exit 2."""


def ssh_keygen() -> str:
    """The ssh-keygen executable, or SigningError saying how to get it."""
    found = shutil.which("ssh-keygen")
    if found is None:
        raise SigningError("ssh-keygen not found: install OpenSSH's client (apt-get install openssh-client)")
    return found


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and "Signing data on standard input" not in line]
    return lines[-1] if lines else "no reason given"


def check_key(key: Path) -> Path:
    """The key file named by --sign, checked before anything is written (SigningError when it is not there)."""
    ssh_keygen()
    if not key.is_file():
        raise SigningError(f"--sign {key}: no such key file (a private key, or a public key whose private key is in ssh-agent)")
    return key


def sign(key: Path, data: bytes) -> str:
    """An armored SSH signature of `data` with `key` (private key file, or public key file with the key in the agent)."""
    check_key(key)
    try:
        done = subprocess.run([ssh_keygen(), "-Y", "sign", "-n", NAMESPACE, "-f", str(key)],
                              input=data, capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise SigningError(f"--sign {key}: ssh-keygen did not sign within {int(TIMEOUT)} s") from None
    text = done.stdout.decode("ascii", errors="replace")
    if done.returncode != 0 or "BEGIN SSH SIGNATURE" not in text:
        why = _last_line(done.stderr.decode(errors="replace"))
        if "passphrase" in why:  # no terminal to ask on: ssh-keygen read the passphrase where the data was
            why += f" (a key with a passphrase: ssh-add it to ssh-agent and pass {key}.pub)"
        raise SigningError(f"--sign {key}: ssh-keygen could not sign: {why}")
    return text if text.endswith("\n") else text + "\n"


@dataclass(frozen=True)
class SignatureCheck:
    """What `verify` found: good (and whose), or why not."""

    good: bool
    principal: str = ""  # the allowed_signers name the key belongs to
    fingerprint: str = ""  # SHA256:… of the signing key
    reason: str = ""  # why not good

    @property
    def signer(self) -> str:
        """`alice@example.com (SHA256:…)`: who signed, in the words of the allowed_signers file."""
        return f"{self.principal} ({self.fingerprint})" if self.fingerprint else self.principal


def _run(argv: list[str], data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=data if data is not None else b"", capture_output=True, timeout=TIMEOUT, check=False)


def verify(allowed_signers: Path, signature: str, data: bytes) -> SignatureCheck:
    """Check `signature` over `data` against an allowed_signers file, in the cockpit-evidence namespace."""
    tool = ssh_keygen()
    if not allowed_signers.is_file():
        raise SigningError(f"allowed_signers {allowed_signers}: no such file")
    handle, name = tempfile.mkstemp(prefix="cockpit-sig-")
    try:
        with os.fdopen(handle, "w", encoding="ascii", errors="replace") as out:
            out.write(signature)
        found = _run([tool, "-Y", "find-principals", "-s", name, "-f", str(allowed_signers)])
        principals = found.stdout.decode(errors="replace").split()
        if found.returncode != 0 or not principals:
            alone = _run([tool, "-Y", "check-novalidate", "-n", NAMESPACE, "-s", name], data)
            fingerprint = _fingerprint(alone.stdout.decode(errors="replace") + alone.stderr.decode(errors="replace"))
            if alone.returncode == 0:
                return SignatureCheck(False, "", fingerprint, f"signed by a key not in {allowed_signers.name}")
            return SignatureCheck(False, "", fingerprint, "the signature does not match what it signs")
        reasons = []
        for principal in principals:
            done = _run([tool, "-Y", "verify", "-f", str(allowed_signers), "-I", principal, "-n", NAMESPACE, "-s", name], data)
            said = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
            if done.returncode == 0:
                return SignatureCheck(True, principal, _fingerprint(said))
            reasons.append(_last_line(said))
        return SignatureCheck(False, principals[0], "", f"the signature does not match what it signs ({reasons[0]})")
    except subprocess.TimeoutExpired:
        return SignatureCheck(False, "", "", f"ssh-keygen did not answer within {int(TIMEOUT)} s")
    finally:
        Path(name).unlink(missing_ok=True)


def _fingerprint(text: str) -> str:
    found = _FINGERPRINT.search(text)
    return found.group(1) if found else ""
