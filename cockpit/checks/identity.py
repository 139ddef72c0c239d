"""The `identity` check: who runs the release, from where, which version and commit, when — sealed by SHA-256.

The evidence lists the fields one per line, then `seal_sha256:` — the SHA-256
of exactly those field lines (with their newlines), so
`grep -v '^seal_sha256' identity_<v>.txt | sha256sum` re-computes it.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import os
import re
import socket

import cockpit
from cockpit.checks.runner import CheckContext
from cockpit.checks.specs import IdentitySpec
from cockpit.clock import iso_utc
from cockpit.results import Outcome, Status

GIT_TIMEOUT = 5.0
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def login_name() -> str | None:
    try:
        return getpass.getuser() or None
    except (KeyError, OSError):
        return None


async def git_head(cwd: str | None = None, timeout: float = GIT_TIMEOUT) -> tuple[str | None, str]:
    """(commit, "") from `git rev-parse HEAD`, or (None, why not)."""
    try:
        process = await asyncio.create_subprocess_exec(
            "git", "rev-parse", "--verify", "HEAD",
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        return None, "git is not installed"
    except OSError as exc:
        return None, f"git could not start: {exc.strerror or exc}"
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        return None, f"git rev-parse did not finish within {timeout:g}s"
    commit = out.decode(errors="replace").strip()
    if process.returncode != 0 or not _COMMIT.match(commit):
        reason = err.decode(errors="replace").strip().splitlines()
        text = reason[0] if reason else f"exit {process.returncode}"
        return None, text.removeprefix("fatal: ")
    return commit, ""


def seal(fields: list[tuple[str, str]]) -> tuple[str, str]:
    """(text of the field lines, SHA-256 of that text)."""
    text = "".join(f"{key}: {value}\n" for key, value in fields)
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()


async def run_identity(spec: IdentitySpec, ctx: CheckContext) -> Outcome:
    operator = spec.operator or login_name()
    commit, why = (spec.commit, "") if spec.commit else await git_head(os.getcwd(), min(GIT_TIMEOUT, spec.timeout / 2))
    fields = [
        ("operator", operator or "unknown"),
        ("host", socket.gethostname() or "unknown"),
        ("version", ctx.version),
        ("commit", commit or "unknown"),
        ("utc_time", iso_utc(ctx.clock.now())),
        ("cockpit_version", cockpit.__version__),
    ]
    text, digest = seal(fields)
    name = ctx.evidence_name(spec, "identity_{version}.txt")
    written = await asyncio.to_thread(ctx.evidence.write_text, name, f"{text}seal_sha256: {digest}\n")

    missing = []
    if operator is None:
        missing.append("operator unknown (no login name: set operator in the check)")
    if commit is None:
        missing.append(f"commit unknown ({why})")
    values = dict(fields)
    short = values["commit"][:12] if commit else "commit unknown"
    summary = f"{values['operator']}@{values['host']} {ctx.version} {short} at {values['utc_time']}, seal {digest[:12]}"
    details = [f"{key}: {value}" for key, value in fields] + [f"seal_sha256: {digest}"]
    if missing:
        return Outcome(Status.WARN, "; ".join(missing) + f" — {summary}", details, [written])
    return Outcome(Status.PASS, summary, details, [written])
