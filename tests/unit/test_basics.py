"""Durations, versions, redaction, status arithmetic, and the engine/face boundary."""

import math
import subprocess
import sys

import pytest

from cockpit.durations import parse_duration
from cockpit.redaction import Redactor, dsn_password, redact_dsn
from cockpit.release_version import BadVersion, validate_version
from cockpit.results import Status, exit_code_for, worst_status


@pytest.mark.parametrize("text, seconds", [("15m", 900), ("2s", 2), ("1h30m", 5400), ("250ms", 0.25), (30, 30), ("1d", 86400),
                                           ("30", 30), ("1.5", 1.5), (" 15 ", 15)])
def test_parse_duration(text, seconds):
    assert math.isclose(parse_duration(text), seconds)


@pytest.mark.parametrize("text", ["", "abc", "15x", "1.5.2", "5 minutes", "-3s", True, None, "1m 2x"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("version", ["v1.4.0", "1.4.0-rc.1", "v2.0.0+build.7", "0.0.1"])
def test_good_versions(version):
    assert validate_version(version) == version


@pytest.mark.parametrize("version", ["../x", "v1.4", "1.4.0/../../etc", "", "v1.4.0 ", "latest", "v01.2.3"])
def test_bad_versions(version):
    with pytest.raises(BadVersion):
        validate_version(version)


def test_redaction_of_dsns_and_tokens():
    assert redact_dsn("postgresql://app:hunter2@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert redact_dsn("host=db user=app password=hunter2 dbname=x") == "host=db user=app password=*** dbname=x"
    assert dsn_password("postgresql://app:p%40ss@db/x") == "p@ss"
    assert dsn_password("host=db password='a b'") == "a b"
    redactor = Redactor(["topsecret"])
    assert redactor.scrub("Authorization: Bearer abc.def-ghi and topsecret") == "Authorization: Bearer *** and ***"


def test_status_arithmetic_never_turns_unknown_into_pass():
    assert exit_code_for([Status.PASS, Status.WARN]) == 0
    assert exit_code_for([Status.PASS, Status.UNKNOWN]) == 3
    assert exit_code_for([Status.UNKNOWN, Status.FAIL]) == 1
    assert worst_status([Status.PASS, Status.UNKNOWN, Status.WARN]) == Status.UNKNOWN
    assert worst_status([Status.SKIPPED]) == Status.SKIPPED


def test_engine_does_not_import_textual():
    code = (
        "import sys, cockpit.cli, cockpit.config, cockpit.checks.runner, cockpit.evidence;"
        "import pkgutil, importlib, cockpit;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(cockpit.__path__, 'cockpit.')"
        " if m.name not in ('cockpit.app.cockpit_app', 'cockpit.__main__') and not m.name.startswith(('cockpit.widgets', 'cockpit.screens', 'cockpit.themes'))];"
        "print('textual' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
