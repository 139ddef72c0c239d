"""Files, feature flags (from a file) and SBOM checks on real temporary files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from cockpit.checks.runner import CheckContext, run_check
from cockpit.checks.sbom import is_restrictive
from cockpit.checks.specs import CheckSpec
from cockpit.config import CockpitConfig
from cockpit.evidence import EvidenceStore
from cockpit.results import Status

VERSION = "v2.0.0"
SPEC = TypeAdapter(CheckSpec)


@pytest.fixture
def ctx(tmp_path: Path) -> CheckContext:
    config = CockpitConfig()
    return CheckContext(config=config, version=VERSION, evidence=EvidenceStore(tmp_path / "evidence", VERSION))


def spec(kind: str, **params: Any) -> Any:
    phase = params.pop("phase", "artifacts")
    return SPEC.validate_python({"id": f"t.{kind}", "title": kind, "phase": phase, "kind": kind, **params})


def evidence(ctx: CheckContext, result: Any) -> str:
    return (ctx.evidence.dir / result.evidence[0]).read_text()


# ---------------------------------------------------------------- files


def _release_dir(tmp_path: Path) -> Path:
    base = tmp_path / "release"
    (base / "notes").mkdir(parents=True)
    (base / "CHANGELOG.md").write_text("## v2.0.0\n")
    (base / "notes" / "a.md").write_text("a")
    (base / "notes" / "b.md").write_text("b")
    (base / "empty.txt").write_text("")
    (base / "release-artifacts.txt").write_text("# required for every release\nCHANGELOG.md\n\nnotes/*.md\n")
    return base


async def test_files_all_present(tmp_path, ctx):
    base = _release_dir(tmp_path)
    result = await run_check(spec("files", base_dir=str(base), manifest="release-artifacts.txt", paths=["notes"]), ctx)
    assert result.status is Status.PASS, result
    assert result.summary == "3/3 present"
    assert "PRESENT    notes/*.md  (2 matches)" in evidence(ctx, result)


async def test_files_missing_and_empty_fail(tmp_path, ctx):
    base = _release_dir(tmp_path)
    check = spec("files", base_dir=str(base), manifest="release-artifacts.txt",
                 paths=["empty.txt", "sbom.cdx.json", "dist/*.tar.gz"], evidence="artifacts_{version}.txt")
    result = await run_check(check, ctx)
    assert result.status is Status.FAIL
    assert result.summary.startswith("2/5 present")
    assert result.details == [
        "empty: empty.txt (0 bytes)",
        "missing: sbom.cdx.json (not found)",
        "missing: dist/*.tar.gz (no file matches)",
    ]
    assert result.evidence == [f"artifacts_{VERSION}.txt"]


async def test_files_relative_to_the_current_directory(tmp_path, ctx, monkeypatch):
    base = _release_dir(tmp_path)
    monkeypatch.chdir(base)
    result = await run_check(spec("files", paths=["CHANGELOG.md"]), ctx)
    assert result.status is Status.PASS


async def test_files_missing_manifest_or_nothing_to_check_is_unknown(tmp_path, ctx):
    result = await run_check(spec("files", base_dir=str(tmp_path), manifest="nope.txt"), ctx)
    assert result.status is Status.UNKNOWN and "nope.txt: file not found" in result.summary
    (tmp_path / "only-comments.txt").write_text("# nothing\n\n")
    result = await run_check(spec("files", base_dir=str(tmp_path), manifest="only-comments.txt"), ctx)
    assert result.status is Status.UNKNOWN and result.summary.startswith("nothing to check")


async def test_files_manifest_that_cannot_be_read_is_unknown(tmp_path, ctx):
    (tmp_path / "dir.txt").mkdir()
    result = await run_check(spec("files", base_dir=str(tmp_path), manifest="dir.txt"), ctx)
    assert result.status is Status.UNKNOWN and "cannot read it (is a directory)" in result.summary


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
async def test_files_unreadable_manifest_is_unknown(tmp_path, ctx):
    manifest = tmp_path / "m.txt"
    manifest.write_text("a\n")
    manifest.chmod(0)
    result = await run_check(spec("files", base_dir=str(tmp_path), manifest="m.txt"), ctx)
    assert result.status is Status.UNKNOWN and "permission denied" in result.summary


# ---------------------------------------------------------------- feature flags from a file


async def test_feature_flags_file(tmp_path, ctx):
    flags = tmp_path / "feature_flags.json"
    flags.write_text(json.dumps({"new_checkout": False, "limit": 10, "mode": "safe"}))
    check = spec("feature_flags", phase="preflight", source=str(flags), expect={"new_checkout": False, "limit": 10.0, "mode": "safe"})
    result = await run_check(check, ctx)
    assert result.status is Status.PASS, result
    text = evidence(ctx, result)
    assert "ok        new_checkout = false  (expected false)" in text

    # A flag outside `expect` with no previous release to compare with was not judged: WARN, never PASS.
    flags.write_text(json.dumps({"new_checkout": False, "limit": 10, "mode": "safe", "extra": [1, 2]}))
    unjudged = await run_check(check, ctx)
    assert unjudged.status is Status.WARN and "no previous release" in unjudged.summary, unjudged
    assert unjudged.details == ["extra"]
    assert "-         extra = [1, 2]  (no expectation, no previous release to compare with)" in evidence(ctx, unjudged)

    wrong = await run_check(check.model_copy(update={"expect": {"new_checkout": 0, "limit": 10, "absent": True}}), ctx)
    assert wrong.status is Status.FAIL
    assert wrong.details == ["absent = (missing), expected true", "new_checkout = false, expected 0"]


async def test_feature_flags_unreadable_or_unparseable_is_unknown(tmp_path, ctx):
    missing = await run_check(spec("feature_flags", phase="preflight", source=str(tmp_path / "no.json")), ctx)
    assert missing.status is Status.UNKNOWN and "file not found" in missing.summary
    (tmp_path / "list.json").write_text("[true]")
    listed = await run_check(spec("feature_flags", phase="preflight", source=str(tmp_path / "list.json")), ctx)
    assert listed.status is Status.UNKNOWN and "expected a JSON object" in listed.summary
    (tmp_path / "bad.json").write_text("{'single': quotes}")
    bad = await run_check(spec("feature_flags", phase="preflight", source=str(tmp_path / "bad.json")), ctx)
    assert bad.status is Status.UNKNOWN and "not JSON" in bad.summary


async def test_feature_flags_without_expectations_warns(tmp_path, ctx):
    (tmp_path / "f.json").write_text('{"a": true}')
    result = await run_check(spec("feature_flags", phase="preflight", source=str(tmp_path / "f.json")), ctx)
    assert result.status is Status.WARN
    assert "no previous release" in result.summary and "feature_flags_t.feature_flags_<previous>.txt" in result.summary


# ---------------------------------------------------------------- feature flags against the previous release


def flags_release(tmp_path: Path, version: str, flags: dict[str, Any], **params: Any) -> tuple[Any, CheckContext]:
    """The preflight's check for `version` with its flags file, and its context in a shared evidence root."""
    source = tmp_path / f"flags-{version}.json"
    source.write_text(json.dumps(flags))
    check = spec("feature_flags", phase="preflight", source=str(source), evidence="feature_flags_{version}.txt", **params)
    return check, CheckContext(config=CockpitConfig(), version=version, evidence=EvidenceStore(tmp_path / "evidence", version))


async def test_a_new_flag_must_default_to_off_and_a_changed_default_warns(tmp_path):
    # v1.3.0 ships two flags; its own run has no earlier release, so it warns and records them.
    check, ctx = flags_release(tmp_path, "v1.3.0", {"risk_engine_v2": False, "max_orders": 50})
    first = await run_check(check, ctx)
    assert first.status is Status.WARN and "no previous release" in first.summary
    assert (tmp_path / "evidence" / "v1.3.0" / "feature_flags_v1.3.0.txt").is_file()

    # v1.4.0: a new flag that is on FAILs; the previous release is found on its own.
    check, ctx = flags_release(tmp_path, "v1.4.0", {"risk_engine_v2": False, "max_orders": 50, "new_checkout": True})
    on = await run_check(check, ctx)
    assert on.status is Status.FAIL, on
    assert on.details == ["new_checkout = true: new since v1.3.0, must default to off"]
    assert "NEW-ON    new_checkout = true  (new since v1.3.0; a new flag must default to off)" in evidence(ctx, on)

    # ... off, it passes, having looked at every flag against v1.3.0.
    check, ctx = flags_release(tmp_path, "v1.4.0", {"risk_engine_v2": False, "max_orders": 50, "new_checkout": "off"})
    off = await run_check(check, ctx)
    assert off.status is Status.PASS, off
    assert "as in v1.3.0" in off.summary
    text = evidence(ctx, off)
    assert "previous release: v1.3.0" in text and "same      max_orders = 50  (as in v1.3.0)" in text

    # A default that changed since v1.3.0 warns until `expect` lists the new value.
    check, ctx = flags_release(tmp_path, "v1.4.0", {"risk_engine_v2": True, "max_orders": 50})
    changed = await run_check(check, ctx)
    assert changed.status is Status.WARN, changed
    assert changed.details == ["risk_engine_v2: false → true since v1.3.0"]
    accepted = await run_check(check.model_copy(update={"expect": {"risk_engine_v2": True}}), ctx)
    assert accepted.status is Status.PASS, accepted


async def test_the_previous_release_is_the_highest_earlier_one_and_can_be_named(tmp_path):
    for version, value in (("v1.2.0", True), ("v1.3.0-rc.1", True), ("v1.3.0", False), ("v1.5.0", True)):
        check, ctx = flags_release(tmp_path, version, {"beta": value})
        await run_check(check, ctx)
    check, ctx = flags_release(tmp_path, "v1.4.0", {"beta": False})
    auto = await run_check(check, ctx)
    assert auto.status is Status.PASS and "v1.3.0" in auto.summary, auto  # not v1.5.0 (later), not the rc
    named = await run_check(check.model_copy(update={"previous": "v1.2.0"}), ctx)
    assert named.status is Status.WARN and named.details == ["beta: true → false since v1.2.0"], named


async def test_an_unreadable_previous_file_is_unknown_not_pass(tmp_path):
    folder = tmp_path / "evidence" / "v1.3.0"
    folder.mkdir(parents=True)
    (folder / "feature_flags_v1.3.0.txt").write_text("this is not what the check writes\n")
    check, ctx = flags_release(tmp_path, "v1.4.0", {"beta": False})
    result = await run_check(check, ctx)
    assert result.status is Status.UNKNOWN and "no flag rows" in result.summary, result


# ---------------------------------------------------------------- SBOM


def bom(*components: dict[str, Any]) -> str:
    return json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": list(components)})


def comp(name: str, version: str = "1.0.0", *, lid: str | None = None, lname: str | None = None,
         expression: str | None = None, group: str | None = None, children: list[dict] | None = None) -> dict[str, Any]:
    licenses: list[dict[str, Any]] = []
    if lid:
        licenses.append({"license": {"id": lid}})
    if lname:
        licenses.append({"license": {"name": lname}})
    if expression:
        licenses.append({"expression": expression})
    item: dict[str, Any] = {"type": "library", "name": name, "version": version, "licenses": licenses}
    if group:
        item["group"] = group
    if children:
        item["components"] = children
    return item


async def test_sbom_presence(tmp_path, ctx):
    path = tmp_path / "sbom.cdx.json"
    path.write_text(bom(comp("left-pad", lid="MIT"), comp("react", lid="MIT", children=[comp("scheduler", lid="MIT")])))
    result = await run_check(spec("sbom", phase="redteam", path=str(path)), ctx)
    assert result.status is Status.PASS and result.summary == "CycloneDX 1.5 SBOM with 3 components"

    missing = await run_check(spec("sbom", phase="redteam", path=str(tmp_path / "none.json")), ctx)
    assert missing.status is Status.FAIL and "not found" in missing.summary
    (tmp_path / "spdx.json").write_text(json.dumps({"spdxVersion": "SPDX-2.3"}))
    other = await run_check(spec("sbom", phase="redteam", path=str(tmp_path / "spdx.json")), ctx)
    assert other.status is Status.FAIL and "not a CycloneDX SBOM" in other.summary
    (tmp_path / "empty.json").write_text(bom())
    empty = await run_check(spec("sbom", phase="redteam", path=str(tmp_path / "empty.json")), ctx)
    assert empty.status is Status.FAIL and "no components" in empty.summary


async def test_sbom_licenses_mode_lists_restrictive_components(tmp_path, ctx):
    path = tmp_path / "sbom.cdx.json"
    path.write_text(bom(
        comp("ok", lid="MIT"),
        comp("gpl", lid="GPL-3.0-only"),
        comp("dual", expression="MIT OR GPL-2.0-only"),
        comp("both", expression="(MIT AND AGPL-3.0-or-later)"),
        comp("named", lname="SSPL-1.0"),
        comp("nolicence"),
    ))
    result = await run_check(spec("sbom", phase="redteam", mode="licenses", path=str(path)), ctx)
    assert result.status is Status.FAIL
    assert result.summary.startswith("3 component(s) under a restrictive licence")
    assert result.evidence == ["sbom_restrictive_licenses.json"]
    data = json.loads(evidence(ctx, result))
    assert [c["key"] for c in data["restrictive"]] == ["gpl", "both", "named"]
    assert data["without_license"] == ["nolicence"]

    (tmp_path / "clean.json").write_text(bom(comp("ok", lid="Apache-2.0"), comp("x", expression="MIT OR GPL-3.0")))
    clean = await run_check(spec("sbom", phase="redteam", mode="licenses", path=str(tmp_path / "clean.json")), ctx)
    assert clean.status is Status.PASS


async def test_sbom_drift_fails_only_for_new_restrictive_licences(tmp_path, ctx):
    previous = tmp_path / "sbom.previous.cdx.json"
    previous.write_text(bom(comp("old-gpl", lid="GPL-2.0-only"), comp("lib", group="acme", lid="MIT"), comp("stays", lid="MIT")))
    current = tmp_path / "sbom.cdx.json"
    check = spec("sbom", phase="redteam", mode="drift", path=str(current), previous=str(previous))

    current.write_text(bom(comp("old-gpl", "2.0.0", lid="GPL-2.0-only"), comp("lib", group="acme", lid="MIT"), comp("stays", lid="MIT")))
    same = await run_check(check, ctx)
    assert same.status is Status.PASS and "1 restrictive already in the previous release" in same.summary

    current.write_text(bom(
        comp("old-gpl", "2.0.0", lid="GPL-2.0-only"),
        comp("lib", "2.0.0", group="acme", lid="AGPL-3.0-only"),
        comp("newcomer", lid="LGPL-3.0-or-later"),
        comp("stays", lid="MIT"),
    ))
    drift = await run_check(check, ctx)
    assert drift.status is Status.FAIL
    assert drift.details == [
        "acme/lib@2.0.0 (AGPL-3.0-only): licence changed from MIT",
        "newcomer@1.0.0 (LGPL-3.0-or-later): new component",
    ]
    data = json.loads(evidence(ctx, drift))
    assert [c["key"] for c in data["new_restrictive"]] == ["acme/lib", "newcomer"]

    previous.unlink()
    gone = await run_check(check, ctx)
    assert gone.status is Status.UNKNOWN and "cannot compare" in gone.summary
    none = await run_check(check.model_copy(update={"previous": None}), ctx)
    assert none.status is Status.UNKNOWN


def test_licence_expressions():
    restrictive = {"GPL-2.0-only", "GPL-3.0-only", "GPL-2.0", "AGPL-3.0-only"}
    assert is_restrictive("gpl-3.0-only", restrictive)
    assert is_restrictive("GPL-2.0+", restrictive)
    assert not is_restrictive("MIT", restrictive)
    assert not is_restrictive("MIT OR GPL-3.0-only", restrictive)
    assert is_restrictive("MIT AND GPL-3.0-only", restrictive)
    assert is_restrictive("(MIT OR Apache-2.0) AND (GPL-2.0-only OR AGPL-3.0-only)", restrictive)
    assert is_restrictive("GPL-2.0-only WITH Classpath-exception-2.0", restrictive)
    assert is_restrictive("MIT AND (GPL-3.0-only", restrictive)  # malformed: any listed token counts
