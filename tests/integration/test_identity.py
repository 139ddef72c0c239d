"""The identity & time seal against a real git: commit found, commit missing, and a seal anyone can re-compute."""

from __future__ import annotations

import getpass
import hashlib
import socket
import subprocess
from pathlib import Path

import cockpit
from cockpit.checks.runner import CheckContext, run_check
from cockpit.clock import ManualClock
from cockpit.config import load_config
from cockpit.evidence import EvidenceStore
from cockpit.results import CheckResult, Status

VERSION = "v1.4.0"


async def run_identity(tmp_path: Path, **fields) -> tuple[CheckResult, str]:
    config = load_config(None)
    spec = next(c for c in config.checks if c.id == "preflight.identity").model_copy(update=fields)
    ctx = CheckContext(config=config, version=VERSION, evidence=EvidenceStore(tmp_path / "ev", VERSION),
                       clock=ManualClock(1_800_000_000.0))
    result = await run_check(spec, ctx)
    return result, (tmp_path / "ev" / VERSION / f"identity_{VERSION}.txt").read_text()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


async def test_identity_in_a_git_work_tree_passes_and_seals(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "release.txt").write_text("v1.4.0\n")
    git(repo, "add", "release.txt")
    git(repo, "-c", "user.name=IC", "-c", "user.email=ic@example.invalid", "commit", "-q", "-m", "release")
    head = git(repo, "rev-parse", "HEAD")
    monkeypatch.chdir(repo)

    result, text = await run_identity(tmp_path / "out")
    assert result.status is Status.PASS, result.summary
    lines = text.splitlines()
    assert lines[:6] == [
        f"operator: {getpass.getuser()}",
        f"host: {socket.gethostname()}",
        f"version: {VERSION}",
        f"commit: {head}",
        "utc_time: 2027-01-15T08:00:00.000Z",
        f"cockpit_version: {cockpit.__version__}",
    ]
    sealed = "".join(line + "\n" for line in lines[:6])
    assert lines[6] == f"seal_sha256: {hashlib.sha256(sealed.encode()).hexdigest()}"
    assert result.summary.startswith(f"{getpass.getuser()}@{socket.gethostname()} {VERSION} {head[:12]} at 2027-01-15T08:00:00.000Z")
    assert result.evidence == [f"identity_{VERSION}.txt"]


async def test_identity_outside_git_warns_commit_unknown(tmp_path, monkeypatch):
    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    monkeypatch.chdir(plain)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # git must not find a repository above
    result, text = await run_identity(tmp_path / "out", operator="alice")
    assert result.status is Status.WARN
    assert result.summary.startswith("commit unknown (not a git repository")
    assert "operator: alice\n" in text and "commit: unknown\n" in text


async def test_identity_takes_the_commit_from_the_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    result, text = await run_identity(tmp_path / "out", operator="bob", commit="0123456789abcdef0123456789abcdef01234567")
    assert result.status is Status.PASS
    assert "commit: 0123456789abcdef0123456789abcdef01234567\n" in text and "operator: bob\n" in text
