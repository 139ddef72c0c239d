"""Release versions are folder names for evidence, so they are validated before anything is written."""

from __future__ import annotations

import re

from cockpit.errors import CockpitError

# SemVer with an optional leading "v": v1.4.0, 1.4.0-rc.1, 2.0.0+build.7
_VERSION = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


class BadVersion(CockpitError, ValueError):
    """Not a release version (v1.4.0, 1.4.0-rc.1): one line, exit 2; still a ValueError for parsers that catch one."""


def validate_version(text: str) -> str:
    """Return the version if it is a release version (v1.4.0, 1.4.0-rc.1), else raise BadVersion."""
    if not _VERSION.match(text or ""):
        raise BadVersion(
            f"version {text!r} is not a release version (expected e.g. v1.4.0 or 1.4.0-rc.1)"
        )
    return text
